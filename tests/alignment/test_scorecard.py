"""The retention-adjusted scorecard: hand-worked arithmetic, projections, the planted bad AE, and
a null company where no AE stands apart."""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import pandas as pd
import pytest

from icploop.alignment.scorecard import scorecard, with_campaign
from icploop.errors import IcploopError
from icploop.review import layout
from icploop.review.blocks import Table

from .conftest import AS_OF


def _account(aid: str, ae: str, close: str, start: float, nrr: float | None, **extra: Any) -> dict:
    day = dt.date.fromisoformat(close)
    churn = None if nrr is None else int(nrr == 0)
    return {
        "account_id": aid, "closing_ae": ae, "close_date": day,
        "first_month": day.replace(day=1), "start_mrr": start, "nrr_12m": nrr,
        "first_year_churn": churn, "discount": extra.get("discount", 0.1),
        "lead_source": extra.get("lead_source", "inbound"),
    }  # fmt: skip


def test_retained_bookings_split_and_rank_gap_by_hand() -> None:
    frame = pd.DataFrame(
        [
            _account("a1", "A", "2025-03-10", 100.0, 1.2, discount=0.2),  # expands to 120
            _account("a2", "A", "2025-04-10", 200.0, 0.0, discount=0.4),  # churns
            _account("b1", "B", "2025-03-10", 150.0, 160 / 150),  # expands to 160
            _account("c1", "C", "2025-05-10", 80.0, 0.5),  # contracts to 40
        ]
    )
    card = scorecard(frame, None, AS_OF)
    team = card.team.set_index("group")
    # A: bookings 300; MRR at 12 months 120 = retained 100 + expanded 20; churned 200
    assert team.loc["A", "bookings"] == pytest.approx(300)
    assert team.loc["A", "retained"] == pytest.approx(100)
    assert team.loc["A", "expanded"] == pytest.approx(20)
    assert team.loc["A", "churned"] == pytest.approx(200)
    assert team.loc["A", "contracted"] == pytest.approx(0)
    assert team.loc["A", "retained_bookings"] == pytest.approx(120)
    assert team.loc["A", "nrr"] == pytest.approx(0.4)
    assert team.loc["A", "avg_discount"] == pytest.approx(0.3)
    assert team.loc["A", "churn_rate"] == pytest.approx(0.5)
    # C: 80 -> 40, all of the loss is contraction
    assert team.loc["C", "retained"] == pytest.approx(40)
    assert team.loc["C", "contracted"] == pytest.approx(40)
    assert team.loc["C", "churned"] == pytest.approx(0)
    # bookings: A 300, B 150, C 80; retained bookings: B 160, A 120, C 40
    assert team.loc[["A", "B", "C"], "bookings_rank"].tolist() == [1, 2, 3]
    assert team.loc[["A", "B", "C"], "retained_rank"].tolist() == [2, 1, 3]
    assert team.loc[["A", "B", "C"], "rank_gap"].tolist() == [1, -1, 0]
    assert not team["projected"].any()
    # the quarter rows add up to the team view
    rows = card.rows[card.rows["group"] == "A"]
    assert rows["close_quarter"].tolist() == ["2025Q1", "2025Q2"]
    assert rows["retained_bookings"].sum() == pytest.approx(120)


def test_young_cohorts_are_projected_from_their_fit_tag_mix() -> None:
    history = [
        _account(f"s{i}", "H", "2025-02-10", 100.0, 1.0 if i % 2 else 1.2) for i in range(20)
    ] + [_account(f"b{i}", "H", "2025-02-10", 100.0, 0.5) for i in range(20)]
    young = [
        _account("y1", "Y", "2026-06-10", 100.0, None),
        _account("y2", "Y", "2026-07-10", 200.0, None),
        _account("y3", "Y", "2026-10-20", 50.0, None),  # under 90 days: untagged
    ]
    frame = pd.DataFrame(history + young)
    tags = pd.DataFrame(
        {
            "account_id": [f"s{i}" for i in range(20)]
            + [f"b{i}" for i in range(20)]
            + ["y1", "y2"],
            "tag": ["strong_fit"] * 20 + ["bad_fit"] * 20 + ["strong_fit", "bad_fit"],
        }
    )
    card = scorecard(frame, tags, AS_OF)
    rates = card.tag_rates.set_index("tag")["nrr_12m"]
    assert rates["strong_fit"] == pytest.approx(1.1)
    assert rates["bad_fit"] == pytest.approx(0.5)
    assert rates["untagged"] == pytest.approx((20 * 110 + 20 * 50) / 4000)  # the overall rate
    y = card.team.set_index("group").loc["Y"]
    assert bool(y["projected"]) and y["projected_share"] == pytest.approx(1.0)
    assert y["retained_bookings"] == pytest.approx(100 * 1.1 + 200 * 0.5 + 50 * 0.8)
    assert y["retained_low"] < y["retained_high"]
    assert y["retained_low"] <= y["retained_bookings"] <= y["retained_high"]
    assert y["bad_fit_share"] == pytest.approx(0.5)  # one of the two tagged accounts
    h = card.team.set_index("group").loc["H"]
    assert not bool(h["projected"]) and h["retained_low"] == h["retained_high"]
    assert any("projected" in c for c in card.caveats)
    assert card.to_dict()["team"][0]["projected"] in (True, False)


def test_a_company_younger_than_a_year_has_no_first_year_churn_and_no_warning() -> None:
    """Under 12 months of history every first-year outcome is missing (the frame may hold them
    as an object column of None): no churn is counted (not a churn of 0), no retained bookings
    or NRR are projected from a rate nobody has (unknown, not 0), no owner is ranked, and pandas
    is asked for no silent downcast."""
    frame = pd.DataFrame(
        [
            _account("y1", "Y", "2026-06-10", 100.0, None),
            _account("y2", "Y", "2026-07-10", 200.0, None),
            _account("z1", "Z", "2026-08-10", 50.0, None),
        ]
    )
    assert frame["first_year_churn"].dtype == object
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        card = scorecard(frame, None, AS_OF)
    team = card.team.set_index("group")
    assert team["bookings"].tolist() == [300.0, 50.0]
    for column in ("retained_bookings", "retained_low", "retained_high", "nrr", "churn_rate"):
        assert team[column].isna().all(), column
    for column in ("bookings_rank", "retained_rank", "rank_gap"):
        assert team[column].isna().all(), column
    assert card.to_dict()["team"][0]["nrr"] is None
    assert any("their retained bookings and NRR are unknown" in c for c in card.caveats)
    assert not any("overall 12-month NRR" in c for c in card.caveats)
    # the pack's AE table: bookings known, everything drawn from a full year '-', never 0
    pack = {"alignment": {"scorecard": card.to_dict(), "by_lead_source": card.to_dict(),
                          "by_campaign": None, "by_campaign_unavailable": "no campaign",
                          "experiments": []}}  # fmt: skip
    tables = [b for b in layout.alignment(pack, layout._Fmt("USD")) if isinstance(b, Table)]
    assert tables[0].rows[0][1:9] == ("2", "300", "-", "-", "-", "-", "-", "-")
    assert tables[1].rows[0][1:6] == ("2", "300", "-", "-", "-")


def test_an_unknown_dimension_or_missing_campaign_is_a_user_error() -> None:
    frame = pd.DataFrame([_account("a1", "A", "2025-03-10", 100.0, 1.0)])
    with pytest.raises(IcploopError, match="unknown scorecard dimension"):
        scorecard(frame, None, AS_OF, by="region")
    with pytest.raises(IcploopError, match="with_campaign"):
        scorecard(frame, None, AS_OF, by="campaign")


def _bad_ae(truth: dict[str, Any]) -> str:
    effect = next(e for e in truth["effects"] if e["id"] == "ae_quarter_end_bad_fit")
    return str(effect["segment"]["all"][0]["value"])


def test_the_planted_bad_ae_stands_apart_and_falls_in_the_retained_ranking(
    demo_frames: dict[str, Any],
) -> None:
    bad = _bad_ae(demo_frames["truth"])
    card = scorecard(demo_frames["accounts"], None, AS_OF)
    team = card.team.set_index("group")
    assert len(team) == 12
    assert card.standing_apart == [bad]
    row = team.loc[bad]
    assert row["q_value"] < 0.05 and row["direction"] == "higher"
    assert row["churn_low"] > row["rest_churn_rate"]
    # the team's top closer on bookings falls furthest once retention counts, with the lowest
    # NRR and the deepest discounts
    assert row["bookings_rank"] <= 3
    assert row["rank_gap"] == team["rank_gap"].max() and row["rank_gap"] >= 3
    assert team["nrr"].idxmin() == bad
    assert team["avg_discount"].idxmax() == bad
    assert any(bad in s for s in card.sentences())


def test_on_a_null_company_no_ae_lead_source_or_campaign_stands_apart(
    null_frames: dict[str, Any],
) -> None:
    accounts = null_frames["accounts"]
    for by, frame in (
        ("ae", accounts),
        ("lead_source", accounts),
        ("campaign", with_campaign(accounts, null_frames["deals_table"])),
    ):
        card = scorecard(frame, None, AS_OF, by)
        assert len(card.team) > 3
        assert card.standing_apart == []
        assert (card.team["q_value"].dropna() >= 0.05).all()
        assert "no " in card.sentences()[0]

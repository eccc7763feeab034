"""The economics of fit, checked against arithmetic done by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from icploop.errors import IcploopError
from icploop.scoring.economics import (
    acquisition_vs_retention,
    bad_fit_whatif,
    ltv_cac,
    mix_nrr,
    retention_value,
    tag_mix_and_nrr,
)


def test_the_twelve_percent_bad_fit_example() -> None:
    """12% bad fits at NRR 70%, 88% good at 108%: 0.12 x 0.70 + 0.88 x 1.08 = 1.0344.
    At 6% bad: 0.06 x 0.70 + 0.94 x 1.08 = 1.0572, i.e. +2.28 points."""
    result = bad_fit_whatif(
        {"bad_fit": 12, "strong_fit": 88}, {"bad_fit": 0.70, "strong_fit": 1.08}, 0.06
    )
    assert result.current_nrr == pytest.approx(1.0344)
    assert result.new_nrr == pytest.approx(1.0572)
    assert result.change_points == pytest.approx(2.28)
    assert "6% bad-fit deals instead of 12%" in result.sentence
    assert result.table["nrr"].is_monotonic_decreasing


def test_other_tags_keep_their_proportions_when_the_bad_share_changes() -> None:
    """strong 60 (1.10), near 20 (0.90), bad 20 (0.60): 0.66 + 0.18 + 0.12 = 0.96. With no bad
    fits strong and near scale to 75/25: 0.825 + 0.225 = 1.05."""
    mix = {"strong_fit": 60, "near_fit": 20, "bad_fit": 20}
    nrr = {"strong_fit": 1.10, "near_fit": 0.90, "bad_fit": 0.60}
    assert mix_nrr(mix, nrr) == pytest.approx(0.96)
    assert bad_fit_whatif(mix, nrr, 0.0).new_nrr == pytest.approx(1.05)


def test_no_starting_mrr_gives_an_unknown_answer_with_its_reason() -> None:
    """Every tag starts at 0 MRR: there is no mix to shift, so no NRR (not a division by 0)."""
    result = bad_fit_whatif(
        {"bad_fit": 0, "strong_fit": 0}, {"bad_fit": 0.7, "strong_fit": 1.1}, 0.06
    )
    assert (result.current_share, result.current_nrr, result.new_nrr) == (None, None, None)
    assert result.change_points is None and result.table.empty
    assert result.sentence == (
        "Cohort NRR with 6% bad-fit deals: - (no starting MRR: the recent accounts of every "
        "fit tag start at 0)."
    )


def _history(rows: list[tuple[str, str, float, float | None, str]]) -> pd.DataFrame:
    """customer_history's columns: (account, tag, start MRR, MRR 12 months later, close)."""
    frame = pd.DataFrame(rows, columns=["account_id", "tag", "start_mrr", "mrr_12m", "close"])
    mature = frame["mrr_12m"].notna()
    frame["nrr_12m"] = (frame["mrr_12m"] / frame["start_mrr"]).where(mature)
    frame["close_date"] = pd.to_datetime(frame["close"])
    return frame


def test_a_tag_whose_accounts_start_at_zero_mrr_has_an_unknown_nrr_never_nan() -> None:
    """strong: 100 -> 110 and 200 -> 220 (NRR 110%); near: two accounts that started at 0 MRR
    (0 / 0: unknown, not NaN); bad: 100 -> 50 (50%). Recent mix: strong 300, bad 100, near 0."""
    history = _history(
        [
            ("s1", "strong_fit", 100, 110, "2025-01-15"),
            ("s2", "strong_fit", 200, 220, "2025-02-15"),
            ("n1", "near_fit", 0, 0, "2025-01-15"),
            ("n2", "near_fit", 0, 30, "2025-03-15"),
            ("b1", "bad_fit", 100, 50, "2025-01-15"),
            ("s3", "strong_fit", 300, None, "2026-06-15"),
            ("b2", "bad_fit", 100, None, "2026-07-15"),
            ("n3", "near_fit", 0, None, "2026-08-15"),
        ]
    )
    tags = history.set_index("account_id")["tag"]
    mix, nrr = tag_mix_and_nrr(tags, history.drop(columns="tag"), dt.date(2026, 10, 31))
    assert nrr == {"bad_fit": pytest.approx(0.5), "near_fit": None, "strong_fit": 1.1}
    assert mix == {"bad_fit": 100.0, "near_fit": 0.0, "strong_fit": 300.0}
    # near fits weigh nothing in the mix: the what-if goes on without them
    result = bad_fit_whatif(mix, nrr, 0.0)
    assert result.current_nrr == pytest.approx(0.25 * 0.5 + 0.75 * 1.1)
    assert result.new_nrr == pytest.approx(1.1)
    assert not result.table["nrr"].isna().any()
    # with weight, a tag without a rate leaves the answer unknown, with the reason
    weighed = bad_fit_whatif({**mix, "near_fit": 50.0}, nrr, 0.06)
    assert weighed.new_nrr is None and weighed.table.empty
    assert "- (no 12-month NRR for near_fit (its accounts with a full first year started at 0" in (
        weighed.sentence
    )
    with pytest.raises(IcploopError, match="no NRR is known for near_fit"):
        mix_nrr({"near_fit": 1.0}, nrr)


def test_five_points_of_retention_over_three_years() -> None:
    """1,000,000 at 90%: 1,000,000 + 900,000 + 810,000 = 2,710,000; at 95%: 1,000,000 +
    950,000 + 902,500 = 2,852,500: 142,500 more revenue, 114,000 more margin at 80%; ARR after
    three years 729,000 against 857,375."""
    v = retention_value(1_000_000, 0.90, points=5, years=3, gross_margin=0.8)
    assert v.revenue == pytest.approx(2_710_000)
    assert v.revenue_improved == pytest.approx(2_852_500)
    assert v.revenue_gain == pytest.approx(142_500)
    assert v.margin_gain == pytest.approx(114_000)
    assert (v.ending_arr, v.ending_arr_improved) == pytest.approx((729_000, 857_375))


def test_ltv_to_cac_by_lead_source_where_a_cac_is_given() -> None:
    """inbound: MRR 1,000 and 2,000 -> ARPA 18,000 a year, churn 1/2 -> LTV 18,000 x 0.8 / 0.5
    = 28,800; CAC 9,600 -> 3.0, payback 9,600 / (1,500 x 0.8) = 8 months. intent: no CAC."""
    history = pd.DataFrame(
        {
            "lead_source": ["inbound", "inbound", "intent", "intent"],
            "start_mrr": [1000.0, 2000.0, 500.0, 500.0],
            "first_year_churn": [1.0, 0.0, 1.0, 0.0],
        }
    )
    rows = ltv_cac(history, "lead_source", {"inbound": 9600}).set_index("lead_source")
    assert rows.loc["inbound", "ltv"] == pytest.approx(28_800)
    assert rows.loc["inbound", "ltv_to_cac"] == pytest.approx(3.0)
    assert rows.loc["inbound", "payback_months"] == pytest.approx(8.0)
    assert pd.isna(rows.loc["intent", "ltv_to_cac"])


def test_accounts_without_a_lead_source_are_one_group_named_none_not_the_text_none() -> None:
    history = pd.DataFrame(
        {
            "lead_source": [None, "", "inbound", float("nan"), "inbound"],
            "start_mrr": [100.0, 300.0, 200.0, 200.0, 400.0],
            "first_year_churn": [0.0, 1.0, 0.0, 0.0, 1.0],
        }
    )
    frame = ltv_cac(history, "lead_source", {"inbound": 1000.0}).set_index("lead_source")
    assert frame.index.tolist() == ["(none)", "inbound"]
    assert frame.loc["(none)", "accounts"] == 3
    assert frame.loc["(none)", "arpa_annual"] == pytest.approx(200.0 * 12)
    assert frame.loc["inbound", "first_year_churn"] == pytest.approx(0.5)


def test_acquisition_against_retention_spend() -> None:
    """500,000 / 25,000 x 20,000 = 400,000 ARR bought (0.80 per unit); 5 points of a
    10,000,000 book = 500,000 kept for 200,000 (2.50 per unit)."""
    r = acquisition_vs_retention(500_000, 25_000, 20_000, 200_000, 10_000_000, 5)
    assert (r.acquired_per_unit, r.kept_per_unit) == pytest.approx((0.8, 2.5))
    assert "retention returns more" in r.sentence
    with pytest.raises(IcploopError):
        acquisition_vs_retention(0, 25_000, 20_000, 200_000, 10_000_000, 5)

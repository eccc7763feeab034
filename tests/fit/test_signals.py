"""Each rubric signal and the combination rule on hand-made accounts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from icploop.fit.config import Combination, FitConfig, Thresholds
from icploop.fit.rubric import combine
from icploop.fit.signals import due_accounts, usage_features
from icploop.fit.tagging import compute_fit
from icploop.rules import Rule

from .conftest import AS_OF, CLOSE, inputs, keyed, weekly_usage


def _fit(data, config=None, as_of=AS_OF) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return compute_fit(data, as_of, config or FitConfig()).set_index("account_id")


def test_only_accounts_past_day_90_are_tagged() -> None:
    data = inputs(
        [{"account_id": "old"}, {"account_id": "young", "close_date": dt.date(2026, 9, 1)}]
    )
    assert list(_fit(data).index) == ["old"]


def test_core_use_case_counts_active_weeks_of_the_stated_use_case_before_day_90() -> None:
    """Weekly use of days 60-89 gives 5 active weeks (strong); days 60-66 two rows, 1-2 weeks
    (near); use of another use case only (bad)."""
    accounts = [
        {"account_id": "busy", "use_case": "reporting"},
        {"account_id": "light", "use_case": "reporting"},
        {"account_id": "elsewhere", "use_case": "reporting"},
    ]
    usage = (
        weekly_usage("busy", "reporting", 60, 89)
        + weekly_usage("light", "reporting", 61, 62)
        + weekly_usage("elsewhere", "billing", 0, 89)
    )
    fit = _fit(inputs(accounts, usage))
    assert fit.loc["busy", "core_use_case_active"] == "strong"
    assert fit.loc["light", "core_use_case_active"] == "near"
    assert fit.loc["elsewhere", "core_use_case_active"] == "bad"
    assert fit.loc["busy", "core_active_weeks_recent"] >= 3


@pytest.mark.parametrize("with_keys", [False, True], ids=["text ids", "integer keys"])
@pytest.mark.parametrize("recent_window_days", [30, 90, 12])
def test_usage_features_match_a_direct_count_of_weeks_and_events(
    recent_window_days: int, with_keys: bool
) -> None:
    """Random usage of 40 accounts (days -10..120, some rows without a use case): the engine's
    one-pass features equal events per 30-day third, distinct 7-day weeks and the use cases used,
    counted in pandas; 72 use cases asked for take two integers of bits. Usage joined by the
    integer account keys a load stores gives the same counts as by the text ids."""
    rng = np.random.default_rng(11)
    cases = ["reporting", "billing", None]
    accounts = [{"account_id": f"A{i}", "use_case": "reporting"} for i in range(40)]
    usage = [
        {
            "account_id": f"A{rng.integers(0, 40)}",
            "date": CLOSE + dt.timedelta(days=int(day)),
            "feature": "f",
            "use_case": cases[rng.integers(0, 3)],
            "events": int(rng.integers(1, 20)),
        }
        for day in rng.integers(-10, 120, 2_000)
    ]
    config = FitConfig(thresholds=Thresholds(recent_window_days=recent_window_days))
    data = keyed(inputs(accounts, usage)) if with_keys else inputs(accounts, usage)
    assert data.keyed == with_keys
    use_cases = [f"unused-{i}" for i in range(70)] + ["billing", "reporting"]  # two words of bits
    due = due_accounts(data, AS_OF, config)
    got = usage_features(data, due, config, use_cases).set_index("account_id")

    rows = pd.DataFrame(usage)
    rows["day"] = (pd.to_datetime(rows["date"]) - pd.Timestamp(CLOSE)).dt.days
    rows = rows[(rows.day >= 0) & (rows.day < 90)]
    recent = rows[rows.day >= 90 - recent_window_days]
    for account in (a["account_id"] for a in accounts):
        mine, mine_recent = rows[rows.account_id == account], recent[recent.account_id == account]
        assert got.loc[account, "events_0_30"] == mine[mine.day < 30].events.sum()
        assert got.loc[account, "events_30_60"] == mine[mine.day.between(30, 59)].events.sum()
        assert got.loc[account, "events_60_90"] == mine[mine.day >= 60].events.sum()
        assert got.loc[account, "active_weeks_recent"] == (mine_recent.day // 7).nunique()
        core = mine_recent[mine_recent.use_case == "reporting"]
        assert got.loc[account, "core_active_weeks_recent"] == (core.day // 7).nunique()
        assert sorted(got.loc[account, "use_cases_used"]) == sorted(mine.use_case.dropna().unique())
    assert got["active_weeks_recent"].max() > 1  # the check compares real counts


def _champion(
    account: str,
    contact: str,
    title: str,
    start: dt.date,
    end: dt.date | None,
    champion: bool = True,
) -> dict:  # type: ignore[type-arg]
    return {
        "contact_id": contact,
        "account_id": account,
        "title": title,
        "is_champion": champion,
        "valid_from": start,
        "valid_to": end,
    }


def test_champion_stability_tells_stayed_moved_and_departed_apart() -> None:
    start = dt.date(2024, 6, 1)
    moved_on = CLOSE + dt.timedelta(days=40)
    contacts = [
        _champion("same", "c1", "VP Ops", start, None),
        _champion("moved", "c2", "VP Ops", start, moved_on),
        _champion("moved", "c2", "COO", moved_on + dt.timedelta(days=1), None),
        _champion("gone", "c3", "VP Ops", start, moved_on),
    ]
    accounts = [{"account_id": a} for a in ("same", "moved", "gone", "nobody")]
    fit = _fit(inputs(accounts, contacts=contacts))
    assert fit.loc["same", "champion_stability"] == "strong"
    assert fit.loc["moved", "champion_stability"] == "near"
    assert fit.loc["gone", "champion_stability"] == "bad"
    assert fit.loc["nobody", "champion_stability"] is None


def test_champion_stability_is_checked_at_30_90_and_180_days() -> None:
    start = dt.date(2024, 6, 1)
    day = lambda n: CLOSE + dt.timedelta(days=n)  # noqa: E731
    contacts = [
        _champion("stays", "c1", "VP Ops", start, None),
        _champion("left_at_60", "c2", "VP Ops", start, day(60)),
        _champion("left_at_120", "c3", "VP Ops", start, day(120)),
        _champion("promoted_at_10", "c4", "VP Ops", start, day(10)),
        _champion("promoted_at_10", "c4", "COO", day(11), None),
        _champion("two", "c5", "VP Ops", start, None),
        _champion("two", "c6", "CFO", start, day(45)),
    ]
    accounts = [{"account_id": a} for a in ("stays", "left_at_60", "left_at_120",
                                             "promoted_at_10", "two", "nobody")]  # fmt: skip
    fit = _fit(inputs(accounts, contacts=contacts))
    cols = ["champion_in_place_30d", "champion_in_place_90d", "champion_in_place_180d"]
    assert fit.loc["stays", cols].tolist() == [1, 1, 1]
    assert fit.loc["left_at_60", cols].tolist() == [1, 0, 0]
    assert fit.loc["left_at_120", cols].tolist() == [1, 1, 0]
    assert fit.loc["promoted_at_10", cols].tolist() == [0, 0, 0]  # another role is not in place
    assert fit.loc["two", cols].tolist() == [2, 1, 1]
    assert fit.loc["nobody", cols].isna().all()
    # the tag at day 90 reads the same as before: day 120's departure is not yet known then
    assert fit.loc["left_at_120", "champion_stability"] == "strong"
    # a day after the as-of date is unknown, not a departure
    early = _fit(inputs(accounts, contacts=contacts), as_of=day(150)).loc["stays", cols]
    assert early.iloc[:2].tolist() == [1, 1] and pd.isna(early.iloc[2])


def test_icp_match_is_confirmed_approximate_or_a_clear_mismatch() -> None:
    criteria = [
        Rule(attribute="seats_at_close", op=">=", value=75),
        Rule(attribute="industry", op="in", value=["Software", "Fintech"]),
    ]
    accounts = [
        {"account_id": "fits", "seats_at_close": 120, "industry": "Software"},
        {"account_id": "close", "seats_at_close": 40, "industry": "Fintech"},
        {"account_id": "far", "seats_at_close": 10, "industry": "Retail"},
        {"account_id": "unknown_seats", "industry": "Retail"},
    ]
    fit = _fit(inputs(accounts), FitConfig(icp_criteria=criteria))
    assert fit.loc["fits", "icp_segment_match"] == "strong"
    assert fit.loc["close", "icp_segment_match"] == "near"
    assert fit.loc["far", "icp_segment_match"] == "bad"
    assert fit.loc["unknown_seats", "icp_segment_match"] == "bad"
    assert "seats_at_close >= 75" in fit.loc["far", "criteria_missed"]


def test_without_criteria_the_icp_match_is_unknown_not_bad() -> None:
    fit = _fit(inputs([{"account_id": "a"}]))
    assert fit.loc["a", "icp_segment_match"] is None


def test_without_usage_loaded_the_usage_signals_are_unknown_not_bad() -> None:
    """No usage table at all: no account is judged as not using the product."""
    accounts = [{"account_id": "a", "use_case": "reporting"}]
    fit = _fit(inputs(accounts, committed={"a": ["reporting"]}))
    for signal in ("core_use_case_active", "adoption_trajectory", "ae_committed_use_cases_active"):
        assert fit.loc["a", signal] is None, signal
    assert fit.loc["a", "tag"] != "bad_fit"
    assert fit.loc["a", "account_type"] is None
    # with usage loaded, the same account without use of its use case is bad
    other = inputs(
        [*accounts, {"account_id": "b", "use_case": "billing"}],
        weekly_usage("b", "billing", 0, 89),
        committed={"a": ["reporting"]},
    )
    assert _fit(other).loc["a", "core_use_case_active"] == "bad"


def test_committed_use_cases_count_those_in_use_by_day_90() -> None:
    accounts = [{"account_id": a, "use_case": "reporting"} for a in ("two", "one", "none", "solo")]
    usage = (
        weekly_usage("two", "reporting", 0, 80)
        + weekly_usage("two", "billing", 0, 80)
        + weekly_usage("one", "reporting", 0, 80)
        + weekly_usage("solo", "reporting", 0, 80)
    )
    committed = {
        "two": ["reporting", "billing", "forecasting"],
        "one": ["reporting", "billing"],
        "none": ["billing"],
        "solo": ["reporting"],
    }
    fit = _fit(inputs(accounts, usage, committed=committed))
    assert fit.loc["two", "ae_committed_use_cases_active"] == "strong"
    assert fit.loc["one", "ae_committed_use_cases_active"] == "near"
    assert fit.loc["none", "ae_committed_use_cases_active"] == "bad"
    assert fit.loc["solo", "ae_committed_use_cases_active"] == "strong"
    assert fit.loc["two", "committed_active"] == 2


def test_adoption_is_judged_against_retained_peers_of_the_same_segment() -> None:
    """Ten retained peers use 100 events a week in days 60-89 (5 weeks = 500); an account at
    250 is at ratio 0.5 (near), one at 50 at 0.1 (bad), one at 500 at 1.0 (strong)."""
    peers = [{"account_id": f"p{i}", "segment": "SMB", "use_case": "r"} for i in range(10)]
    subjects = [
        {"account_id": "at_par", "segment": "SMB", "use_case": "r"},
        {"account_id": "half", "segment": "SMB", "use_case": "r"},
        {"account_id": "stalled", "segment": "SMB", "use_case": "r"},
    ]
    usage = [row for p in peers for row in weekly_usage(p["account_id"], "r", 60, 89, events=100)]
    usage += weekly_usage("at_par", "r", 60, 89, events=100)
    usage += weekly_usage("half", "r", 60, 89, events=50)
    usage += weekly_usage("stalled", "r", 60, 89, events=10)
    mrr = [
        {
            "account_id": p["account_id"],
            "month": dt.date(2026, 1, 1),
            "mrr_local": 100.0,
            "currency": "USD",
            "mrr": 100.0,
        }
        for p in peers
    ]
    fit = _fit(inputs(peers + subjects, usage, mrr=mrr))
    assert fit.loc["at_par", "adoption_ratio"] == pytest.approx(1.0)
    assert fit.loc["at_par", "adoption_trajectory"] == "strong"
    assert fit.loc["half", "adoption_trajectory"] == "near"
    assert fit.loc["stalled", "adoption_trajectory"] == "bad"


def _signals(*rows: tuple[str | None, ...]) -> pd.DataFrame:
    names = [
        "core_use_case_active",
        "champion_stability",
        "icp_segment_match",
        "adoption_trajectory",
        "ae_committed_use_cases_active",
    ]
    return pd.DataFrame([dict(zip(names, row, strict=True)) for row in rows])


def test_the_default_rule_combines_five_signals_into_one_tag() -> None:
    signals = _signals(
        ("strong", "strong", "strong", "near", "near"),  # 3 strong, no bad
        ("strong", "strong", "near", "near", "bad"),  # one bad
        ("bad", "strong", "strong", "strong", "bad"),  # two bad
        ("bad", "strong", "bad", "strong", "strong"),  # ICP and core use case both bad
        ("strong", None, None, "strong", "strong"),  # unknowns count for neither
        ("strong", "strong", None, None, None),  # too few strong signals to be sure
    )
    assert list(combine(signals, Combination())) == [
        "strong_fit",
        "near_fit",
        "bad_fit",
        "bad_fit",
        "strong_fit",
        "near_fit",
    ]


def test_the_combination_rule_is_configuration() -> None:
    signals = _signals(("bad", "strong", "strong", "strong", "strong"))
    strict = Combination(bad_if_bad_signals_at_least=1)
    assert list(combine(signals, strict)) == ["bad_fit"]
    lenient = Combination(strong_requires_no_bad=False)
    assert list(combine(signals, lenient)) == ["strong_fit"]


def test_a_bad_fit_account_gets_a_type_an_issue_and_drafted_evidence() -> None:
    criteria = [Rule(attribute="seats_at_close", op=">=", value=75, name="seat floor")]
    accounts = [
        {"account_id": "misfit", "seats_at_close": 12, "use_case": "reporting"},
        {"account_id": "other", "seats_at_close": 90, "use_case": "reporting"},
    ]
    usage = weekly_usage("other", "reporting", 0, 89)  # usage is loaded; the misfit has none
    fit = _fit(
        inputs(accounts, usage, committed={"misfit": ["billing"]}),
        FitConfig(icp_criteria=criteria),
    )
    row = fit.loc["misfit"]
    assert row["tag"] == "bad_fit"
    assert row["account_type"] == "bad_fit_by_design"
    assert row["fit_issue"] == "icp_mismatch"
    assert "seat floor" in row["evidence"]


def test_thresholds_come_from_configuration() -> None:
    accounts = [{"account_id": "light", "use_case": "r"}]
    usage = weekly_usage("light", "r", 61, 62)
    lenient = FitConfig(thresholds=Thresholds(core_strong_active_weeks=1))
    assert _fit(inputs(accounts, usage), lenient).loc["light", "core_use_case_active"] == "strong"


def test_each_account_is_matched_against_the_icp_in_force_at_its_close() -> None:
    """v2 (a seat floor of 75) came into force on 2025-03-01: an account closed before it is
    judged by the configured criteria (none: unknown), one closed after it by the floor."""
    from icploop.fit.signals import CriteriaPeriod

    accounts = [
        {"account_id": "before", "seats_at_close": 10, "close_date": dt.date(2025, 1, 1)},
        {"account_id": "after", "seats_at_close": 10, "close_date": dt.date(2025, 4, 1)},
    ]
    floor = CriteriaPeriod(
        dt.date(2025, 3, 1), (Rule(attribute="seats_at_close", op=">=", value=75),), "v2"
    )
    fit = compute_fit(inputs(accounts), AS_OF, FitConfig(), [floor]).set_index("account_id")
    assert fit.loc["before", "icp_segment_match"] is None
    assert fit.loc["after", "icp_segment_match"] == "bad"
    assert fit.loc["after", "icp_version"] == "v2"


def test_a_champion_who_leaves_is_a_departure_but_a_new_title_is_not() -> None:
    from icploop.fit.signals import champion_departures

    start, change = dt.date(2024, 6, 1), dt.date(2025, 8, 31)
    contacts = [
        _champion("left", "c1", "VP Ops", start, change),
        _champion("promoted", "c2", "VP Ops", start, change),
        _champion("promoted", "c2", "COO", change + dt.timedelta(days=1), None),
        _champion("staying", "c3", "VP Ops", start, None),
        _champion("later", "c4", "VP Ops", start, dt.date(2026, 12, 31)),
    ]
    accounts = [{"account_id": a} for a in ("left", "promoted", "staying", "later")]
    departures = champion_departures(inputs(accounts, contacts=contacts), AS_OF)
    assert departures[["account_id", "contact_id"]].values.tolist() == [["left", "c1"]]
    assert pd.Timestamp(departures.loc[0, "departed_on"]) == pd.Timestamp(change)

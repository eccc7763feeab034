"""Outcome measurement of ICP changes: planted effects, nulls, young cohorts, tagged accounts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from icploop.errors import IcploopError
from icploop.flags.people import sync_people
from icploop.icp import versions
from icploop.icp.document import IcpContent
from icploop.icp.outcomes import (
    VERDICTS,
    ChangeOutcome,
    add_quarters,
    measure_change,
    measure_versions,
    versions_frame,
)
from icploop.rules import Rule
from icploop.store.database import migrate
from icploop.store.models import FitTag
from tests.conftest import approve_by_every_team

EFFECTIVE = dt.date(2025, 1, 1)
LATE = dt.date(2026, 12, 31)  # two years on: every after cohort has a full year of exposure


def cohort(
    rng: np.random.Generator,
    prefix: str,
    start: dt.date,
    n: int,
    churn_rate: float,
    nrr_mean: float,
    observed: bool = True,
) -> pd.DataFrame:
    """``n`` accounts closed within the quarter from ``start``; exactly round(n * churn_rate)
    churn in year one (shuffled), NRR drawn around ``nrr_mean`` (0 for the churned)."""
    churned = np.zeros(n, dtype=int)
    churned[: round(n * churn_rate)] = 1
    rng.shuffle(churned)
    nrr = np.where(churned == 1, 0.0, rng.normal(nrr_mean, 0.1, n))
    days = rng.integers(0, 90, n)
    return pd.DataFrame(
        {
            "account_id": [f"{prefix}{i:04d}" for i in range(n)],
            "close_date": [start + dt.timedelta(days=int(d)) for d in days],
            "first_year_churn": pd.array(churned if observed else [None] * n, dtype="Int8"),
            "nrr_12m": nrr if observed else np.full(n, np.nan),
            "churned": churned == 1,
        }
    )


def before_and_after(
    seed: int,
    before_churn: float,
    after_churn: float,
    *,
    before_nrr: float = 1.0,
    after_nrr: float = 1.0,
    after_observed: bool = True,
) -> pd.DataFrame:
    """Two quarters of 100 accounts each side of EFFECTIVE."""
    rng = np.random.default_rng(seed)
    parts = [
        cohort(rng, "b1-", dt.date(2024, 7, 1), 100, before_churn, before_nrr),
        cohort(rng, "b2-", dt.date(2024, 10, 1), 100, before_churn, before_nrr),
        cohort(rng, "a1-", dt.date(2025, 1, 1), 100, after_churn, after_nrr, after_observed),
        cohort(rng, "a2-", dt.date(2025, 4, 1), 100, after_churn, after_nrr, after_observed),
        # outside both windows: must not count
        cohort(rng, "old-", dt.date(2023, 1, 1), 100, 0.9, 0.2),
        cohort(rng, "new-", dt.date(2025, 7, 1), 100, 0.9, 0.2),
    ]
    return pd.concat(parts, ignore_index=True)


def tags_for(outcomes: pd.DataFrame, seed: int, bad_rate: dict[str, float]) -> pd.DataFrame:
    """A tag for every account; exactly ``bad_rate[prefix]`` of each prefix's are bad_fit."""
    rng = np.random.default_rng(seed)
    rows = []
    for prefix, rate in bad_rate.items():
        ids = sorted(a for a in outcomes.account_id if a.startswith(prefix))
        bad = set(rng.choice(ids, size=round(len(ids) * rate), replace=False))
        rows += [(a, "bad_fit" if a in bad else "strong_fit") for a in ids]
    return pd.DataFrame(rows, columns=["account_id", "tag"])


def row(result: ChangeOutcome, metric: str) -> pd.Series:
    return result.summary.set_index("metric").loc[metric]


def test_a_planted_fall_in_churn_from_25_to_10_percent_reads_improved() -> None:
    outcomes = before_and_after(seed=1, before_churn=0.25, after_churn=0.10)
    result = measure_change(outcomes, tags_for(outcomes, 2, {}), EFFECTIVE, LATE)
    churn = row(result, "first_year_churn")
    assert (churn.n_before, churn.n_after) == (200, 200)
    assert churn.before == pytest.approx(0.25)
    assert churn.after == pytest.approx(0.10)
    assert churn.difference == pytest.approx(-0.15)
    assert churn.ci_low < churn.ci_high < 0  # the interval excludes 0
    assert churn.verdict == "improved"


def test_a_planted_rise_in_nrr_reads_improved_by_welch() -> None:
    outcomes = before_and_after(
        seed=3, before_churn=0.1, after_churn=0.1, before_nrr=1.0, after_nrr=1.15
    )
    no_tags = pd.DataFrame({"account_id": [], "tag": []})
    nrr = row(measure_change(outcomes, no_tags, EFFECTIVE, LATE), "nrr_12m")
    assert nrr.difference > 0 and nrr.ci_low > 0
    assert nrr.verdict == "improved"
    assert np.isnan(nrr.events_before)


def test_worse_churn_after_the_change_reads_worse() -> None:
    outcomes = before_and_after(seed=4, before_churn=0.10, after_churn=0.25)
    result = measure_change(outcomes, tags_for(outcomes, 5, {}), EFFECTIVE, LATE)
    assert result.verdict("first_year_churn") == "worse"


def test_the_same_rates_on_both_sides_read_no_clear_change() -> None:
    outcomes = before_and_after(seed=6, before_churn=0.2, after_churn=0.2)
    tags = tags_for(outcomes, 7, {"b": 0.3, "a": 0.3})
    result = measure_change(outcomes, tags, EFFECTIVE, LATE)
    churn = row(result, "first_year_churn")
    assert churn.ci_low < 0 < churn.ci_high
    assert result.verdict("first_year_churn") == "no clear change"
    assert result.verdict("bad_fit_rate") == "no clear change"
    assert result.verdict("nrr_12m") == "no clear change"


def test_a_change_a_quarter_old_is_not_yet_measurable_with_the_lag_caveat() -> None:
    outcomes = before_and_after(seed=8, before_churn=0.25, after_churn=0.10)
    result = measure_change(
        outcomes, tags_for(outcomes, 9, {"b": 0.4, "a": 0.1}), EFFECTIVE, dt.date(2025, 4, 15)
    )
    assert set(result.summary.verdict) == {"not yet measurable"}
    assert not result.measurable
    assert any("2-3 quarters" in c for c in result.caveats)
    assert any("nothing is measurable yet" in c for c in result.caveats)
    # the after window stops at as_of: later closes do not exist yet
    assert result.after_window == (EFFECTIVE, dt.date(2025, 4, 16))


def test_churn_waits_for_a_full_year_while_the_tag_rate_is_already_readable() -> None:
    outcomes = before_and_after(seed=10, before_churn=0.25, after_churn=0.10, after_observed=False)
    tags = tags_for(outcomes, 11, {"b": 0.4, "a": 0.1})
    result = measure_change(outcomes, tags, EFFECTIVE, dt.date(2025, 9, 30))
    assert result.verdict("bad_fit_rate") == "improved"
    assert result.verdict("first_year_churn") == "not yet measurable"
    assert result.verdict("nrr_12m") == "not yet measurable"
    assert row(result, "first_year_churn").n_after == 0
    assert any("first-year churn: 0 after-change accounts" in c for c in result.caveats)


def test_the_bad_fit_rate_counts_only_tagged_accounts() -> None:
    outcomes = before_and_after(seed=12, before_churn=0.2, after_churn=0.2)
    # before: 60 of 150 tagged are bad; after: 4 of 40 tagged (the other 160 are untagged)
    before_ids = sorted(a for a in outcomes.account_id if a.startswith("b"))[:150]
    after_ids = sorted(a for a in outcomes.account_id if a.startswith("a"))[:40]
    tags = pd.DataFrame(
        [(a, "bad_fit" if i < 60 else "near_fit") for i, a in enumerate(before_ids)]
        + [(a, "bad_fit" if i < 4 else "strong_fit") for i, a in enumerate(after_ids)],
        columns=["account_id", "tag"],
    )
    bad = row(measure_change(outcomes, tags, EFFECTIVE, LATE), "bad_fit_rate")
    assert (bad.n_before, bad.n_after) == (150, 40)
    assert (bad.events_before, bad.events_after) == (60, 4)
    assert bad.before == pytest.approx(0.4)
    assert bad.after == pytest.approx(0.1)
    assert bad.verdict == "improved"


def test_only_the_tag_in_force_counts_when_tags_carry_history() -> None:
    outcomes = before_and_after(seed=13, before_churn=0.2, after_churn=0.2)
    ids = sorted(a for a in outcomes.account_id if a.startswith("a"))[:2]
    tags = pd.DataFrame(
        {
            "account_id": [ids[0], ids[0], ids[1]],
            "tag": ["bad_fit", "near_fit", "bad_fit"],
            "current": [False, True, True],
        }
    )
    bad = row(measure_change(outcomes, tags, EFFECTIVE, LATE, min_accounts=1), "bad_fit_rate")
    assert (bad.n_after, bad.events_after) == (2, 1)


def test_too_few_after_accounts_is_not_yet_measurable() -> None:
    outcomes = before_and_after(seed=14, before_churn=0.25, after_churn=0.10)
    tags = tags_for(outcomes, 15, {})
    result = measure_change(outcomes, tags, EFFECTIVE, LATE, min_accounts=201)
    assert result.verdict("first_year_churn") == "not yet measurable"


def test_quarters_are_whole_three_month_steps_clamped_to_month_end() -> None:
    assert add_quarters(dt.date(2025, 5, 31), 1) == dt.date(2025, 8, 31)
    assert add_quarters(dt.date(2025, 11, 30), 1) == dt.date(2026, 2, 28)
    assert add_quarters(dt.date(2025, 1, 1), -2) == dt.date(2024, 7, 1)


def test_an_outcomes_frame_without_the_outcome_columns_is_refused() -> None:
    with pytest.raises(IcploopError, match="lacks"):
        measure_change(
            pd.DataFrame({"account_id": [], "close_date": []}),
            pd.DataFrame({"account_id": [], "tag": []}),
            EFFECTIVE,
            LATE,
        )


PEOPLE = [{"person_id": "ops", "role": "revops"}]
NOW = dt.datetime(2025, 1, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def session(store_engine: Engine):  # type: ignore[no-untyped-def]
    migrate(store_engine)
    with Session(store_engine) as s:
        sync_people(s, PEOPLE)
        yield s


def test_every_published_version_is_measured_with_the_store_tags(session: Session) -> None:
    outcomes = before_and_after(seed=16, before_churn=0.25, after_churn=0.10)
    for i, account in enumerate(sorted(outcomes.account_id)):
        close = outcomes.set_index("account_id").close_date[account]
        session.add(
            FitTag(
                account_id=account,
                tag="bad_fit" if i % 5 == 0 else "strong_fit",
                method="computed",
                close_date=close,
                as_of=close + dt.timedelta(days=90),
                created_by="fit-run",
                created_at=NOW,
            )
        )
    floor = IcpContent(criteria=(Rule(attribute="seats_at_close", op=">=", value=75),))
    for effective in (EFFECTIVE, dt.date(2025, 4, 1)):
        draft = versions.create_draft(session, floor, "ops", NOW)
        approve_by_every_team(session, draft.number)
        versions.publish(session, draft.number, "ops", NOW, effective=effective)
    later = versions.create_draft(session, floor, "ops", NOW)
    approve_by_every_team(session, later.number)
    versions.publish(session, later.number, "ops", NOW, effective=dt.date(2027, 1, 1))
    session.flush()

    results = measure_versions(session, outcomes, LATE)
    assert [r.version for r in results] == [1, 2]  # version 3 takes effect after as_of
    first, second = results
    assert first.after_window == (EFFECTIVE, dt.date(2025, 4, 1))  # stops at version 2
    assert any("next version took effect" in c for c in first.caveats)
    assert row(first, "bad_fit_rate").n_after == 100
    # version 2's after window holds the April and July cohorts
    assert row(second, "bad_fit_rate").n_after == 200
    frame = versions_frame(results)
    assert len(frame) == 6 and set(frame.version) == {1, 2}


@pytest.mark.slow
def test_the_demo_company_measures_end_to_end(demo_warehouse, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """On real account outcomes (demo data) the frame types flow through and windows are sane."""
    import shutil

    from icploop.engine import connect
    from icploop.icp.micro_review import nrr_drops
    from icploop.metrics.tables import CanonicalTables
    from icploop.segments.outcomes import account_outcomes

    path = tmp_path / "analytics.duckdb"
    shutil.copy(demo_warehouse, path)
    backend = connect(f"duckdb://{path}")
    try:
        tables = CanonicalTables.from_backend(backend)
        last = tables.mrr_monthly.month.max().to_pyarrow().as_py()
        outcomes = account_outcomes(tables, last)
        closes = pd.to_datetime(outcomes.close_date)
        effective = (closes.min() + (closes.max() - closes.min()) / 2).date().replace(day=1)
        rng = np.random.default_rng(17)
        tags = pd.DataFrame(
            {
                "account_id": outcomes.account_id,
                "tag": rng.choice(["bad_fit", "near_fit", "strong_fit"], len(outcomes)),
            }
        )
        result = measure_change(outcomes, tags, effective, last)
        drops = nrr_drops(tables, last)
    finally:
        backend.disconnect()
    assert list(result.summary.metric) == ["bad_fit_rate", "first_year_churn", "nrr_12m"]
    assert (result.summary.n_before > 0).all()
    assert set(result.summary.verdict) <= set(VERDICTS)
    assert drops.series.nrr.notna().sum() >= 2
    assert drops.due == bool(drops.series.dropped.iloc[-1])

"""Cohort triangles, expansion by profile and LTV per segment on hand-worked tables."""

from __future__ import annotations

import pandas as pd
import pytest

from icploop.metrics.cohorts import cohort_triangles, cumulative_logo_retention
from icploop.metrics.expansion import expansion_by_profile
from icploop.metrics.ltv import segment_ltv, survivor_cohorts

from .conftest import month, tables_from


def test_triangles_count_only_accounts_observed_at_each_age() -> None:
    """Cohort 2023Q1: a starts Jan (100, churns in Apr), b starts Mar (50, then 100).
    As of April: k=0: 2 exposed, 2 active, MRR 150 -> 150. k=1: a (Feb) and b (Apr) exposed,
    both active: 100 + 100 = 200 / 150. k=2: only a exposed (Mar), active: 1/1, 100/100.
    k=3: a exposed (Apr) and churned: 0/1."""
    rows = [("a", 1, 100), ("a", 2, 100), ("a", 3, 100), ("b", 3, 50), ("b", 4, 100)]
    tri = cohort_triangles(tables_from(rows), month(4)).frame.set_index("months_since")
    assert tri.loc[0, ["n_exposed", "n_active"]].tolist() == [2, 2]
    assert tri.loc[1, "revenue_retention"] == pytest.approx(200 / 150)
    assert tri.loc[2, ["n_exposed", "n_active"]].tolist() == [1, 1]
    assert tri.loc[3, "logo_retention"] == 0.0


def test_expansion_share_and_nrr_12_by_profile() -> None:
    """x: 100 -> 150 at month 13 (expanded); y: 100 -> 100; z: 100 -> churned (0).
    Share expanded 1/3; NRR-12 = (150 + 100 + 0) / 300."""
    rows = [("x", 1, 100), ("x", 13, 150), ("y", 1, 100), ("y", 13, 100), ("z", 1, 100)]
    acc = pd.DataFrame({"account_id": ["x", "y", "z"], "industry": ["i", "i", "i"]})
    f = expansion_by_profile(tables_from(rows, accounts=acc), month(13), ["industry"]).frame
    r = f.iloc[0]
    assert (r.n_accounts, r.n_expanded) == (3, 1)
    assert r.nrr_12 == pytest.approx(250 / 300)


def test_survivor_cohorts_are_built_from_durations() -> None:
    """Cohort starting at month index 0 with 4 accounts: churns at 1 and 3, two censored at 4."""
    counts = pd.DataFrame(
        {"first_m": [0, 0, 0], "duration": [1, 3, 4], "event": [True, True, False], "n": [1, 1, 2]}
    )
    assert survivor_cohorts(counts, as_of_m=4, size=1) == [[4, 3, 3, 2, 2]]


def test_segment_ltv_combines_arpa_margin_and_sbg_lifetime() -> None:
    rows = [(f"a{i}", m, 100) for i in range(20) for m in range(1, 2 + i)]
    acc = pd.DataFrame({"account_id": [f"a{i}" for i in range(20)], "lead_source": ["in"] * 20})
    res = segment_ltv(tables_from(rows, accounts=acc), month(12), "lead_source", cac={"in": 500.0})
    r = res.frame.iloc[0]
    assert r.arpa == pytest.approx(100.0)
    assert r.ltv_sbg == pytest.approx(100 * 0.8 * r.del_periods)
    assert r.payback_months == pytest.approx(500 / 80)
    assert r.ltv_to_cac == pytest.approx(r.ltv_sbg / 500)


def test_cumulative_logo_retention_counts_each_cohort_to_date_not_one_month() -> None:
    # cohort 2023Q1: a, b, c start in January; b churns in March, c in month 10 and returns in
    # month 12 (retained to date); cohort 2023Q2: d starts in April and never churns
    rows = [("a", m, 100) for m in range(1, 13)] + [("b", m, 50) for m in (1, 2)]
    rows += [("c", m, 70) for m in [*range(1, 10), 12]] + [("d", m, 40) for m in range(4, 13)]
    out = cumulative_logo_retention(tables_from(rows), month(12)).set_index("close_cohort")
    assert out.loc["2023Q1", ["logo_start", "logo_active"]].tolist() == [3, 2]
    assert out.loc["2023Q1", "logo_retention"] == 2 / 3
    assert out.loc["2023Q2", "logo_retention"] == 1.0
    total = cumulative_logo_retention(tables_from(rows), month(11), by=())
    assert total[["logo_start", "logo_active"]].iloc[0].tolist() == [4, 2]  # c away in month 11

"""Calibrated statistics: the rank test on skewed and zero-inflated outcomes, Holm across
thresholds, and null calibration by shuffled outcomes for every outcome kind."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu, rankdata, ttest_ind

from icploop.metrics.tables import CanonicalTables
from icploop.segments.calibration import Calibration, calibrate, shuffled
from icploop.segments.catalog import OUTCOMES, search_outcome
from icploop.segments.outcomes import account_outcomes, activation_outcomes, deal_outcomes
from icploop.segments.stats import holm, rank_sum_pvalue
from icploop.segments.thresholds import find_thresholds

AS_OF = dt.date(2026, 10, 31)
MEASURES = ["seats_at_close", "employees", "intent_score", "discount", "deal_amount"]


def test_the_rank_sum_p_value_is_scipys_asymptotic_mann_whitney_with_ties() -> None:
    rng = np.random.default_rng(4)
    y = np.where(rng.random(400) < 0.2, 0.0, np.round(rng.lognormal(0, 0.5, 400), 1))
    inside = rng.random(400) < 0.15
    ranks = rankdata(y)
    _, t = np.unique(y, return_counts=True)
    ours = rank_sum_pvalue(ranks[inside].sum(), inside.sum(), 400, float(np.sum(t**3.0 - t)))
    theirs = mannwhitneyu(y[inside], y[~inside], method="asymptotic").pvalue
    assert float(ours) == pytest.approx(theirs, rel=1e-9)


def test_holm_matches_the_hand_computation() -> None:
    adjusted = holm([0.01, 0.04, np.nan, 0.03, 0.005])
    assert adjusted[4] == pytest.approx(0.02)  # 4 x 0.005
    assert adjusted[0] == pytest.approx(0.03)  # 3 x 0.01
    assert adjusted[3] == pytest.approx(0.06)  # 2 x 0.03
    assert adjusted[1] == pytest.approx(0.06)  # max(1 x 0.04, 0.06)
    assert np.isnan(adjusted[2])


def test_rank_p_values_hold_for_small_segments_of_a_zero_inflated_skewed_outcome() -> None:
    """A fifth of accounts at 0 (churned), the rest lognormal (sigma 1): for random segments of
    30 accounts (no effect) the rank test's p-values are uniform, while Welch's t (the earlier
    test) rejects far too often because a small segment that happens to hold no zero looks too
    certain."""
    rng = np.random.default_rng(8)
    n, size, draws = 2000, 30, 10_000
    y = np.where(rng.random(n) < 0.2, 0.0, rng.lognormal(0, 1.0, n))
    ranks = rankdata(y)
    _, t = np.unique(y, return_counts=True)
    segments = np.array([rng.choice(n, size, replace=False) for _ in range(draws)])
    p = rank_sum_pvalue(ranks[segments].sum(axis=1), size, n, float(np.sum(t**3.0 - t)))
    assert 0.0065 <= np.mean(p <= 0.01) <= 0.0135  # 1% within 3.5 standard errors
    assert np.mean(p <= 0.001) <= 0.002
    inside = np.zeros(n, bool)
    welch = []
    for rows in segments[:1000]:
        inside[:] = False
        inside[rows] = True
        welch.append(ttest_ind(y[inside], y[~inside], equal_var=False).pvalue)
    assert np.mean(np.array(welch) <= 0.01) > 0.03  # the shape that broke Welch's t


def _seats(seed: int, n: int, effect: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {f"m{i}": np.round(rng.lognormal(4, 0.7, n)) for i in range(5)},
    )
    p = np.where(frame["m0"] < 40, 0.10 * effect, 0.10)
    frame["churned"] = (rng.random(n) < p).astype(int)
    return frame


def test_thresholds_are_held_to_the_family_of_attributes_scanned() -> None:
    planted = _seats(1, 3000, 3.0)
    found = find_thresholds(ibis.memtable(planted), [f"m{i}" for i in range(5)], "churned")
    assert [f.attribute for f in found if f.recommended is not None] == ["m0"]
    m0 = next(f for f in found if f.attribute == "m0")
    assert m0.adjusted_p == pytest.approx(min(1.0, 5 * m0.permutation_p)) and m0.n_attributes == 5
    assert m0.ratio_lo > 1
    for f in found:
        if f.recommended is None:
            assert "no limit recommended" in f.recommendation
    # null families: a limit in at most 2 of 12 (P(Binomial(12, 0.05) >= 3) = 0.02)
    runs = 0
    for seed in range(12):
        null = _seats(100 + seed, 1200, 1.0)
        scanned = find_thresholds(
            ibis.memtable(null), [f"m{i}" for i in range(5)], "churned", n_bootstrap=300
        )
        runs += any(f.recommended is not None for f in scanned)
        assert all(f.ratio_lo > 1 or f.ratio_hi < 1 for f in scanned if f.recommended)
    assert runs <= 2


# --- null calibration by shuffled outcomes ---------------------------------------------------


def _finds_segment(outcome: str) -> Callable[[pd.DataFrame], bool]:
    return lambda frame: len(search_outcome(frame, outcome, depth=2).findings()) > 0


def _finds_threshold(frame: pd.DataFrame) -> bool:
    measures = [m for m in MEASURES if frame[m].notna().any()]
    table = ibis.memtable(frame[["first_year_churn", *measures]].astype("float64"))
    found = find_thresholds(table, measures, "first_year_churn", n_bootstrap=300)
    return any(f.recommended is not None for f in found)


@pytest.fixture(scope="module")
def frames(
    demo_warehouse: Path, demo_variant: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("calibration") / "analytics.duckdb"
    shutil.copy(demo_warehouse, path)
    backend = ibis.duckdb.connect(str(path), read_only=True)
    tables = CanonicalTables.from_backend(backend)
    accounts = account_outcomes(
        tables, AS_OF, backend.table("usage"), backend.table("deal_use_cases")
    )
    variant = ibis.duckdb.connect(str(demo_variant["warehouse"]), read_only=True)
    activation = activation_outcomes(
        CanonicalTables.from_backend(variant), AS_OF, variant.table("usage")
    )
    return {"accounts": accounts, "deals": deal_outcomes(tables), "activation": activation}


def null_calibration(frames: dict[str, Any], runs: int) -> list[Calibration]:
    """Every outcome kind with its outcome shuffled ``runs`` times: the small demo company, and
    its variant with customers who never start for activation and time to value."""
    out = []
    for kind in ("churn", "nrr", "ltv", "adoption", "win", "activation", "time-to-value"):
        frame = frames[OUTCOMES[kind].frame]
        column = OUTCOMES[kind].column
        out.append(calibrate(frame, column, _finds_segment(kind), kind=kind, runs=runs, seed=1))
    out.append(
        calibrate(
            frames["accounts"],
            "first_year_churn",
            _finds_threshold,
            kind="thresholds",
            runs=runs,
            seed=2,
        )
    )
    return out


def test_a_shuffle_keeps_the_values_and_the_missing_rows() -> None:
    frame = pd.DataFrame({"y": [1.0, None, 3.0, 4.0, None], "a": list("pqrst")})
    out = shuffled(frame, "y", np.random.default_rng(0))
    assert out["y"].isna().tolist() == frame["y"].isna().tolist()
    assert sorted(out["y"].dropna()) == [1.0, 3.0, 4.0]
    assert out["a"].tolist() == frame["a"].tolist()


@pytest.mark.slow
def test_null_calibration_cut_every_outcome_kind_in_20_shuffles(frames: dict[str, Any]) -> None:
    """At most 3 of 20 shuffled runs with any finding (the 95% quantile of Binomial(20, 5%))."""
    for c in null_calibration(frames, runs=20):
        assert c.calibrated, c


@pytest.mark.matrix
def test_null_calibration_every_outcome_kind_in_200_shuffles(frames: dict[str, Any]) -> None:
    """At most 5% of runs with any finding plus sampling error: 16 of 200 (the 95% quantile of
    Binomial(200, 5%))."""
    table = null_calibration(frames, runs=200)
    for c in table:
        print(f"{c.kind}: {c.with_finding}/{c.runs} ({c.share:.1%}, 95% CI {c.lo:.1%}-{c.hi:.1%})")
    assert all(c.calibrated for c in table), table

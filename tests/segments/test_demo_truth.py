"""On the demo company the segment search finds every planted effect, with its size; on null
companies it finds (almost) nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pytest

from icploop.demo.generator import generate_company
from icploop.engine import connect
from icploop.ingest.load import load_paths
from icploop.metrics.tables import CanonicalTables
from icploop.segments.catalog import search_outcome
from icploop.segments.outcomes import account_outcomes
from icploop.segments.thresholds import find_threshold

AS_OF = dt.date(2026, 10, 31)
HADDAD = "ae.haddad@demo.icploop.dev"


def _effect(truth: dict[str, Any], effect_id: str) -> dict[str, Any]:
    return next(e for e in truth["effects"] if e["id"] == effect_id)


@pytest.fixture(scope="module")
def outcomes(demo_5000: dict[str, Any]) -> pd.DataFrame:
    backend = ibis.duckdb.connect(str(demo_5000["warehouse"]), read_only=True)
    return account_outcomes(
        CanonicalTables.from_backend(backend),
        AS_OF,
        backend.table("usage"),
        backend.table("deal_use_cases"),
    )


def _search(frame: pd.DataFrame, outcome: str):  # type: ignore[no-untyped-def]
    """The search of `icploop segments --outcome OUTCOME`: every attribute the catalogue
    searches by default, depth 2."""
    return search_outcome(frame, outcome, depth=2)


def _row(result: Any, segment: str) -> pd.Series:
    rows = result.segments[result.segments["segment"] == segment]
    assert len(rows) == 1, f"{segment!r} not among the findings"
    return rows.iloc[0]


def _rank(result: Any, segment: str, direction: str) -> int:
    ranked = list(result.top(len(result.segments), direction=direction, max_q=0.05)["segment"])
    return ranked.index(segment) + 1


def test_the_seat_floor_is_found_with_its_planted_size(
    outcomes: pd.DataFrame, demo_5000: dict[str, Any]
) -> None:
    realized = _effect(demo_5000["truth"], "small_seats_first_year_churn")["realized"]
    found = find_threshold(
        ibis.memtable(outcomes[["seats_at_close", "first_year_churn"]]),
        "seats_at_close",
        "first_year_churn",
        unit="seats",
    )
    assert found.permutation_p < 0.01
    assert 35 <= found.cut <= 75
    assert found.ratio_lo <= realized["ratio"] <= found.ratio_hi
    assert "recommended floor" in found.recommendation


def test_the_intent_trap_and_the_bad_fit_ae_rank_among_the_top_churn_findings(
    outcomes: pd.DataFrame, demo_5000: dict[str, Any]
) -> None:
    result = _search(outcomes, "churn")
    intent = _row(result, "lead_source = intent_vendor")
    assert intent["q_value"] < 0.001 and intent["direction"] == "higher"
    assert (
        intent["ratio_lo"]
        <= _effect(demo_5000["truth"], "intent_trap")["realized"]["ratio"]
        <= intent["ratio_hi"]
    )
    assert _rank(result, "lead_source = intent_vendor", "worse") <= 20
    ae = _row(result, f"owner_ae = {HADDAD} AND quarter_end_deal = yes")
    assert ae["q_value"] < 0.01 and ae["ratio"] > 1.8
    assert _rank(result, f"owner_ae = {HADDAD} AND quarter_end_deal = yes", "worse") <= 20


def test_the_targeted_segment_of_2023_churns_about_half_in_year_one(outcomes: pd.DataFrame) -> None:
    result = _search(outcomes, "churn")
    hospitality = _row(result, "industry = Hospitality AND close_year = 2023")
    assert hospitality["q_value"] < 0.001
    assert hospitality["rate_lo"] <= 0.5 <= hospitality["rate_hi"] or hospitality["rate"] > 0.45


def test_the_best_use_case_retains_and_expands(outcomes: pd.DataFrame) -> None:
    result = _search(outcomes, "nrr")
    best = _row(result, "use_case = revenue_forecasting")
    assert best["direction"] == "higher" and best["q_value"] < 0.001
    assert _rank(result, "use_case = revenue_forecasting", "better") <= 10
    combo = _row(result, "industry = Software AND use_case = revenue_forecasting")
    assert combo["rate"] > best["rate"]


NULL_SEEDS = range(101, 121)


def _null_outcomes(seed: int, folder: Path) -> pd.DataFrame:
    data = folder / f"null-{seed}"
    generate_company(data, accounts=1000, seed=seed, null=True)
    backend = connect("duckdb://:memory:")
    files = [data / f for f in ("accounts.csv", "deals.csv", "subscriptions.csv", "fx_rates.csv")]
    load_paths(backend, files)
    return account_outcomes(CanonicalTables.from_backend(backend), AS_OF)


def test_null_companies_show_a_finding_in_at_most_one_run_in_twenty_plus_noise(
    tmp_path: Path,
) -> None:
    """20 null companies: with BH at q < 0.05 per run, runs with any finding should be about
    5% at most; allow 3 of 20 (the 95% upper bound of Binomial(20, 0.05))."""
    runs_with_findings = 0
    for seed in NULL_SEEDS:
        frame = _null_outcomes(seed, tmp_path)
        result = _search(frame, "churn")
        runs_with_findings += int(len(result.findings(max_q=0.05)) > 0)
    assert runs_with_findings <= 3

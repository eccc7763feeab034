"""`icploop segments` views on the small demo company: findings, the ICP comparison, early warning."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from icploop.cli.common import console
from icploop.cli.main import app
from icploop.cli.segments import print_findings
from icploop.segments.catalog import OUTCOMES
from icploop.segments.search import search_segments

runner = CliRunner()


@pytest.fixture(scope="module")
def workspace(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("views")
    shutil.copy(demo_warehouse, folder / "analytics.duckdb")
    return folder


def _json(*args: str) -> object:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_value_based_icp_picks_accounts_that_churn_less_than_the_intent_icp(
    workspace: Path,
) -> None:
    compared = _json("segments", "--view", "compare", "--workspace", str(workspace))
    churn = {row["view"]: row["first_year_churn"] for row in compared["summary"]}  # type: ignore[index]
    assert churn["value"] < churn["intent"] and churn["value"] < churn["win_rate"]
    assert "churning" in compared["sentence"]  # type: ignore[index]


def test_findings_carry_their_evidence_and_thresholds_are_phrased_for_the_review(
    workspace: Path,
) -> None:
    found = _json("segments", "--workspace", str(workspace))
    assert found["findings"] and found["segments_evaluated"] >= len(found["findings"])  # type: ignore[index]
    first = found["findings"][0]  # type: ignore[index]
    for key in ("n", "rate", "rate_lo", "rate_hi", "ratio", "q_value", "shrunk_rate"):
        assert key in first
    assert any("recommended floor" in t for t in found["thresholds"])  # type: ignore[index]


def test_an_unknown_view_or_outcome_is_a_clear_error(workspace: Path) -> None:
    result = runner.invoke(app, ["segments", "--view", "vibes", "--workspace", str(workspace)])
    assert result.exit_code == 1 and "unknown view 'vibes'" in result.output
    result = runner.invoke(app, ["segments", "--outcome", "joy", "--workspace", str(workspace)])
    assert result.exit_code == 1 and "unknown outcome 'joy'" in result.output


def test_early_warning_lists_evidence_for_each_watched_segment(workspace: Path) -> None:
    rows = _json("segments", "--view", "early-warning", "--workspace", str(workspace))
    assert rows and all("evidence" in r and "heading_for_high_churn" in r for r in rows)  # type: ignore[union-attr]


def test_why_we_win_says_how_many_rows_it_leaves_out(workspace: Path) -> None:
    args = ["segments", "--view", "why-win", "--workspace", str(workspace)]
    every = _json(*args)
    assert isinstance(every, dict)
    rows = len(every["win_rates"])
    cut = runner.invoke(app, [*args, "--top", "2"])
    assert cut.exit_code == 0, cut.output
    assert f"{rows - 6} more: --top 0 or --json" in cut.stdout
    whole = runner.invoke(app, [*args, "--top", "0"])
    assert "more: --top 0" not in whole.stdout


def test_nrr_findings_read_as_percentages_as_on_the_web(workspace: Path) -> None:
    found = _json("segments", "--outcome", "nrr", "--workspace", str(workspace))
    text = runner.invoke(app, ["segments", "--outcome", "nrr", "--workspace", str(workspace)])
    assert text.exit_code == 0, text.output
    base = found["base_rate"]  # type: ignore[index]
    assert 0.5 < base < 2  # a ratio: 1.0 is 100%
    assert f"base {OUTCOMES['nrr'].shown(base)};" in text.output
    assert OUTCOMES["nrr"].shown(base).endswith("%")


def test_a_search_that_finds_nothing_says_so_instead_of_empty_tables() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(600)],
            "industry": rng.choice(["Retail", "Tech", "Health"], 600),
            "nrr_12m": rng.normal(1.0, 0.2, 600),  # no segment differs: null data
        }
    )
    spec = OUTCOMES["nrr"]
    result = search_segments(
        ibis.memtable(frame), "nrr_12m", ["industry"], depth=1, outcome_kind="continuous",
        higher_is="good",
    )  # fmt: skip
    assert result.findings().empty
    with console.capture() as captured:
        print_findings(result, spec, top=10)
    said = captured.get()
    assert "No segment's 12-month NRR differs from the rest's beyond chance." in said
    assert "Segments that retain and grow" not in said
    assert f"base {spec.shown(result.base_rate)};" in said and "%" in said


def test_a_search_that_could_test_nothing_does_not_say_nothing_differs() -> None:
    frame = pd.DataFrame(
        {"account_id": ["a1", "a2", "a3"], "industry": ["Retail", "Tech", "Tech"],
         "nrr_12m": [1.0, 1.2, 0.9]}
    )  # fmt: skip
    result = search_segments(
        ibis.memtable(frame), "nrr_12m", ["industry"], depth=1, outcome_kind="continuous",
        higher_is="good",
    )  # fmt: skip
    assert result.n_evaluated == 0  # three accounts: no segment meets the minimum support
    with console.capture() as captured:
        print_findings(result, OUTCOMES["nrr"], top=10)
    said = captured.get()
    assert "No segment could be tested (see the caveats)." in said
    assert "beyond chance" not in said and "minimum support" in said

"""`icploop reasons`, `icploop reasons test` and `icploop cost` on the demo workspace."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icploop.cli.main import app


@pytest.fixture(scope="module")
def workspace(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reasons-ws")
    shutil.copy(demo_warehouse, folder / "analytics.duckdb")
    return folder


def _run(*args: str) -> object:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_reasons_prints_the_pareto_table_as_json(workspace: Path) -> None:
    out = _run("reasons", "--window", "12", "--json", "-w", str(workspace))
    assert isinstance(out, dict)
    assert out["window_months"] == 12
    assert out["reasons"][0]["cumulative_share"] == out["reasons"][0]["share"]


def test_reasons_test_support_says_not_supported(workspace: Path) -> None:
    out = _run("reasons", "test", "support", "--json", "-w", str(workspace))
    assert isinstance(out, dict)
    assert out["verdict"] == "not supported"
    assert "tickets_per_month" in out["measures"]


def test_cost_lists_the_moves_and_tiers(workspace: Path) -> None:
    out = _run("cost", "--json", "-w", str(workspace), "--top", "3")
    assert isinstance(out, dict)
    assert len(out["moves"]) == 3
    assert out["moves_total"] >= 3
    assert out["margin_gain_year_total"] > 0


def test_an_unknown_hypothesis_exits_with_a_hint(workspace: Path) -> None:
    result = CliRunner().invoke(app, ["reasons", "test", "weather", "-w", str(workspace)])
    assert result.exit_code == 1
    assert "neither a reason" in result.output

"""The metrics and retention commands, end to end on a tiny workspace."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from icploop.cli.main import app

from .conftest import mrr_frame

runner = CliRunner()


def test_retention_project_prints_the_published_sbg_fit_as_json() -> None:
    """Fader & Hardie (2007) regular customers: alpha 0.668, beta 3.806."""
    alive = "1000,869,743,653,593,551,517,491"
    res = runner.invoke(
        app,
        [
            "retention",
            "project",
            "--alive",
            alive,
            "--horizon",
            "10",
            "--discount",
            "0.1",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert round(out["alpha"], 3) == 0.668 and round(out["beta"], 3) == 3.806
    assert len(out["projection"]) == 11
    assert out["discounted_expected_lifetime"] > 1


def test_metrics_reads_the_workspace_and_says_when_nothing_is_loaded(tmp_path: Path) -> None:
    empty = runner.invoke(app, ["metrics", "--workspace", str(tmp_path / "none")])
    assert empty.exit_code == 1
    assert "icploop load" in empty.output
    ws = tmp_path / "ws"
    ws.mkdir()
    rows = [("a", m, 100) for m in range(1, 14)] + [("b", m, 50) for m in range(1, 8)]
    frame = mrr_frame(rows)  # noqa: F841 (read by DuckDB's replacement scan below)
    # Ibis 12's create_table from pandas emits a DROP that DuckDB 2.0 cannot parse: plain SQL
    con = duckdb.connect(str(ws / "analytics.duckdb"))
    con.execute("CREATE TABLE mrr_monthly AS SELECT * FROM frame")
    con.close()
    res = runner.invoke(app, ["metrics", "--workspace", str(ws), "--json"])
    assert res.exit_code == 0, res.output
    head = json.loads(res.stdout)["headline"]
    assert head["as_of"] == "2024-01-01"
    assert head["nrr"] == 100 / 150

"""The scoring commands end to end on a copy of the small demo company's warehouse."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import ibis
import pandas as pd
import pytest
from typer.testing import CliRunner

from icploop.cli.main import app
from icploop.scoring.features import feature_frame

from .test_points import spreadsheet_points

runner = CliRunner()


@pytest.fixture(scope="module")
def workspace(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scoring-cli")
    shutil.copy(demo_warehouse, folder / "analytics.duckdb")
    result = runner.invoke(app, ["model", "train", "--workspace", str(folder)])
    assert result.exit_code == 0, result.output
    assert "better than every score the team uses" in " ".join(result.output.split())
    return folder


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_scoring_a_csv_of_open_deals_writes_scores_tiers_reasons_and_risks(
    workspace: Path, tmp_path: Path
) -> None:
    backend = ibis.duckdb.connect(str(workspace / "analytics.duckdb"), read_only=True)
    deals = backend.table("deals").filter(ibis._.outcome == "open").to_pandas()
    backend.disconnect()
    source = tmp_path / "open.csv"
    deals.to_csv(source, index=False)
    icp = tmp_path / "icp.yaml"
    icp.write_text("criteria:\n  - {attribute: seats_at_close, op: '>=', value: 50}\n")
    output = _run("score", str(source), "--icp", str(icp), "--workspace", str(workspace))
    scored = pd.read_csv(tmp_path / "open.scored.csv", dtype=str, keep_default_na=False)
    assert len(scored) == len(deals) and f"Scored {len(deals):,} rows" in output
    for column in ("fit_score", "fit_tier", "fit_points", "points_tier", "reasons", "risks"):
        assert column in scored.columns
    counts = scored["fit_tier"].value_counts()
    for tier in "ABCD":
        assert f"│ {tier}    │ {counts.get(tier, 0)} " in output
    small = scored[scored["seats"].astype(float) < 50]
    assert len(small) > 0
    assert small["risks"].str.contains("seats_at_close >= 50").all()
    # the points table speaks the feature columns (seats_at_close, deal_amount, the committed
    # count); the written file also carries the account columns filled in from the warehouse
    exported = _run("model", "points", "--workspace", str(workspace))
    from icploop import model_files

    model = model_files.load(workspace, None)[1]
    features = feature_frame(scored, model.features_)
    sheet = pd.read_csv(io.StringIO(features.to_csv(index=False)), dtype=str, keep_default_na=False)
    for row, out in zip(sheet.to_dict("records"), scored.to_dict("records"), strict=True):
        assert spreadsheet_points(exported, row) == (int(out["fit_points"]), out["points_tier"])


def test_the_report_and_versions_are_stored(workspace: Path, tmp_path: Path) -> None:
    report = json.loads(_run("model", "report", "--json", "--workspace", str(workspace)))
    assert report["version"] == "v1"
    scores = [m["score"] for m in report["evaluation"]["metrics"]]
    assert scores[0] == "fit model" and "win propensity" in scores and "intent score" in scores
    out = tmp_path / "points.yaml"
    _run("model", "points", "--format", "yaml", "--out", str(out), "--workspace", str(workspace))
    assert "minimum_points" in out.read_text()


def test_forecast_and_whatif_commands_answer_in_json(workspace: Path) -> None:
    forecast = json.loads(_run("forecast", "nrr", "--json", "--workspace", str(workspace)))
    assert forecast["low"] < forecast["nrr"] < forecast["high"]
    assert forecast["backtest"]["mean_abs_error_points"] < 10
    whatif = json.loads(
        _run("whatif", "bad-fit", "--share", "0", "--json", "--workspace", str(workspace))
    )
    assert whatif["nrr"] > whatif["current_nrr"]


def test_scoring_without_a_trained_model_says_what_to_do(tmp_path: Path) -> None:
    source = tmp_path / "leads.csv"
    source.write_text("account_id,seats_at_close\nX1,20\n")
    result = runner.invoke(app, ["score", str(source), "--workspace", str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert "icploop model train" in result.output


def test_a_formula_in_the_input_is_written_as_text_in_the_scored_file(
    workspace: Path, tmp_path: Path
) -> None:
    backend = ibis.duckdb.connect(str(workspace / "analytics.duckdb"), read_only=True)
    deals = backend.table("deals").filter(ibis._.outcome == "open").limit(3).to_pandas()
    backend.disconnect()
    deals["name"] = ['=HYPERLINK("http://example.test","open me")', "@SUM(1)", "Acme"]
    source = tmp_path / "leads.csv"
    deals.to_csv(source, index=False)
    _run("score", str(source), "--workspace", str(workspace))
    with (tmp_path / "leads.scored.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["name"] for r in rows] == [
        '\'=HYPERLINK("http://example.test","open me")',
        "'@SUM(1)",
        "Acme",
    ]
    assert all(not r["fit_score"].startswith("'") for r in rows)

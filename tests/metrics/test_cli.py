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


def test_metrics_bridge_adds_up_in_text_and_json(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    # a pays 100 throughout; b pays 50 for 7 months and churns; c arrives at 80 in month 10
    rows = [("a", m, 100) for m in range(1, 14)] + [("b", m, 50) for m in range(1, 8)]
    rows += [("c", m, 80) for m in range(10, 14)]
    frame = mrr_frame(rows)  # noqa: F841 (read by DuckDB's replacement scan below)
    con = duckdb.connect(str(ws / "analytics.duckdb"))
    con.execute("CREATE TABLE mrr_monthly AS SELECT * FROM frame")
    con.close()
    args = ["metrics", "bridge", "--workspace", str(ws), "--period", "quarter", "--periods", "3"]
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert [r["period"] for r in out["rows"]] == ["2023Q3", "2023Q4", "2024Q1"]
    q3, q4, q1 = out["rows"]
    assert (q3["mrr_start"], q3["churn"], q3["mrr_end"]) == (150, 50, 100)
    assert (q4["new"], q4["mrr_end"], q4["net_change"]) == (80, 180, 80)
    assert q1["partial"] and q1["mrr_start"] == q1["mrr_end"] == 180
    text = runner.invoke(app, args)
    assert text.exit_code == 0, text.output
    assert "2024Q1 (to date)" in text.output and "- churn" in text.output
    bad = runner.invoke(app, [*args[:4], "--period", "year"])
    assert bad.exit_code == 1 and "unknown --period 'year'" in bad.output
    head = runner.invoke(app, ["metrics", "--workspace", str(ws), "--json"])
    assert json.loads(head.stdout)["headline"]["mrr"] == 180
    # by close cohort, the cohort's logo retention to date sits next to its NRR and GRR
    cohort = runner.invoke(app, ["metrics", "--workspace", str(ws), "--cohort", "quarter"])
    assert cohort.exit_code == 0, cohort.output
    assert "logo retention (to date)" in cohort.output and "logo churn (month)" in cohort.output
    out = runner.invoke(app, ["metrics", "--workspace", str(ws), "--cohort", "quarter", "--json"])
    groups = {g["close_cohort"]: g for g in json.loads(out.stdout)["breakdown"]["groups"]}
    assert groups["2023Q1"]["logo_ever"] == 2 and groups["2023Q1"]["logo_retention_to_date"] == 0.5
    for g in groups.values():  # the MRR base for people: whole currency units, no cents
        assert f"{g['mrr_base']:,.0f} " in cohort.output
        assert f"{g['mrr_base']:,.2f}" not in cohort.output


def test_metrics_counts_accounts_with_thousands_separators(tmp_path: Path) -> None:
    """1,200 accounts paying for 13 months: the counts read as a revenue leader writes them."""
    ws = tmp_path / "ws"
    ws.mkdir()
    rows = [(f"a{i}", m, 100) for i in range(1200) for m in range(1, 14)]
    frame = mrr_frame(rows)  # noqa: F841 (read by DuckDB's replacement scan below)
    con = duckdb.connect(str(ws / "analytics.duckdb"))
    con.execute("CREATE TABLE mrr_monthly AS SELECT * FROM frame")
    con.close()
    res = runner.invoke(app, ["metrics", "--workspace", str(ws)], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "1,200 paying accounts" in res.output and "1200" not in res.output

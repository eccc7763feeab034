"""The load and status commands."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from icploop.cli.main import app

runner = CliRunner()


def test_load_then_status_json_shows_counts(tmp_path: Path) -> None:
    data = tmp_path / "in"
    data.mkdir()
    (data / "accounts.csv").write_text("account_id,created_date\na1,2024-01-05\na2,2024-03-01\n")
    ws = tmp_path / "ws"
    loaded = runner.invoke(app, ["load", str(data), "--workspace", str(ws)])
    assert loaded.exit_code == 0, loaded.output
    shown = runner.invoke(app, ["status", "--json", "--workspace", str(ws)])
    report = json.loads(shown.stdout)
    accounts = next(t for t in report["tables"] if t["table"] == "accounts")
    assert (accounts["rows"], accounts["min_date"], accounts["max_date"]) == (
        2,
        "2024-01-05",
        "2024-03-01",
    )
    assert report["loads"][0]["rows_inserted"] == 2


def test_a_bad_file_prints_a_clear_error_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "accounts.csv"
    bad.write_text("account_id,employees\na1,lots\n")
    result = runner.invoke(app, ["load", str(bad), "--workspace", str(tmp_path / "ws")])
    assert result.exit_code == 1
    assert (
        "accounts.csv, row 2, column 'employees': got 'lots'; expected a whole number"
        in result.stderr
    )
    assert "Traceback" not in result.output


def test_an_unknown_preset_exits_1(tmp_path: Path) -> None:
    result = runner.invoke(app, ["load", str(tmp_path), "--preset", "nope", "-w", str(tmp_path)])
    assert result.exit_code == 1
    assert "unknown preset" in result.stderr

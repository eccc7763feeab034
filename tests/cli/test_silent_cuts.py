"""A command that prints the first rows of a long list says how many more there are and how to
see them all."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from icploop.cli.fit import SHOWN_WARNINGS
from icploop.cli.main import app
from icploop.cli.reasons import SHOWN_CLUSTERS
from icploop.engine import connect

runner = CliRunner()


def icploop(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _without_org(warehouse: Path, folder: Path) -> tuple[str, str]:
    """A copy of the demo workspace without its org table: no CS manager for any CSM."""
    folder.mkdir()
    shutil.copy(warehouse, folder / "analytics.duckdb")
    backend = connect(f"duckdb://{folder / 'analytics.duckdb'}")
    backend.drop_table("org")
    backend.disconnect()
    return ("--workspace", str(folder))


def test_fit_run_counts_the_routing_warnings_it_does_not_print(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    run = ("fit", "run", "--as-of", "2026-10-31")
    every = json.loads(icploop(*run, *_without_org(demo_warehouse, tmp_path / "a"), "--json"))
    hidden = len(every["warnings"]) - SHOWN_WARNINGS
    assert hidden > 0
    text = icploop(*run, *_without_org(demo_warehouse, tmp_path / "b"))
    assert text.count("routing: ") == SHOWN_WARNINGS
    assert f"{hidden} more routing warnings: --json" in text


def test_reasons_counts_the_groups_of_unmatched_reasons_it_does_not_print(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    shutil.copy(demo_warehouse, tmp_path / "analytics.duckdb")
    ws = ("--workspace", str(tmp_path))
    clusters = json.loads(icploop("reasons", *ws, "--json"))["unmatched_clusters"]
    assert len(clusters) > SHOWN_CLUSTERS
    text = icploop("reasons", *ws)
    assert text.count("unmatched: ") == SHOWN_CLUSTERS
    assert f"{len(clusters) - SHOWN_CLUSTERS} more groups of unmatched reasons: --json" in text

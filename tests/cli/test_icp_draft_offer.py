"""With no ICP published, the tagging run drafts one from the evidence for a person to publish,
once; on a company without effects it drafts nothing and says the evidence supports no rule."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icploop.cli.main import app
from icploop.engine import connect
from icploop.icp.document import from_yaml
from icploop.segments.frames import account_frame

runner = CliRunner()
AS_OF = "2026-10-31"


def icploop(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def null_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small company from the demo generator with no planted effect, loaded."""
    from icploop.demo.generator import generate_company
    from icploop.ingest.load import load_paths

    folder = tmp_path_factory.mktemp("null-company")
    generate_company(folder / "data", accounts=1500, seed=11, null=True)
    backend = connect(f"duckdb://{folder}/analytics.duckdb")
    load_paths(backend, [folder / "data"])
    backend.disconnect()
    return folder / "analytics.duckdb"


def _workspace(warehouse: Path, tmp_path: Path) -> tuple[str, str]:
    shutil.copy(warehouse, tmp_path / "analytics.duckdb")
    return ("--workspace", str(tmp_path))


def test_the_first_run_drafts_an_icp_from_the_evidence_once_and_publishes_nothing(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    ws = _workspace(demo_warehouse, tmp_path)
    first = json.loads(icploop("fit", "run", *ws, "--as-of", AS_OF, "--no-send", "--json"))
    offered = first["icp_draft"]
    assert offered["created"] and offered["version"] == 1 and offered["rules"]
    [version] = json.loads(icploop("icp", "list", *ws, "--json"))
    assert version["status"] == "draft" and version["published_by"] is None
    # nothing is put in force: the tags keep the documented fallback
    in_force = json.loads(icploop("icp", "in-force", *ws, "--as-of", AS_OF, "--json"))
    assert in_force["version"] is None and in_force["criteria"] == []
    # every drafted rule is a real finding: accounts it admits churn less in year one
    icploop("icp", "export", "1", str(tmp_path / "draft.yaml"), *ws)
    content = from_yaml((tmp_path / "draft.yaml").read_text(), "the draft")
    backend = connect(f"duckdb://{tmp_path}/analytics.duckdb")
    try:
        frame = account_frame(backend, dt.date.fromisoformat(AS_OF))
    finally:
        backend.disconnect()
    frame = frame[frame["first_year_churn"].notna()]
    assert content.criteria or content.do_not_close
    judged = [(r, True) for r in content.criteria] + [(r, False) for r in content.do_not_close]
    for rule, admitted_churn_less in judged:
        inside = frame[rule.attribute].map(rule.holds)
        rates = frame.groupby(inside)["first_year_churn"].mean()
        assert (rates[True] < rates[False]) == admitted_churn_less, (rule.describe(), rates)
    # a second run, of either command, names the waiting draft and drafts no other
    again = runner.invoke(app, ["fit", "run", *ws, "--as-of", AS_OF, "--no-send"])
    assert again.exit_code == 0, again.output
    assert "No ICP is in force; draft version 1 waits: " in again.output
    assert "icploop icp publish 1" in again.output
    daily = json.loads(icploop("run", *ws, "--json"))
    assert daily["icp_draft"]["version"] == 1 and not daily["icp_draft"]["created"]
    assert [v["number"] for v in json.loads(icploop("icp", "list", *ws, "--json"))] == [1]
    assert "draft version 1 waits" in icploop("icp", "status", *ws)


def test_without_effects_nothing_is_drafted_and_the_run_says_so(
    null_warehouse: Path, tmp_path: Path
) -> None:
    ws = _workspace(null_warehouse, tmp_path)
    result = runner.invoke(app, ["fit", "run", *ws, "--as-of", AS_OF, "--no-send"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "No ICP is in force, and the evidence supports no rule yet" in said
    assert "tags use the fit configuration's default criteria" in said
    assert json.loads(icploop("icp", "list", *ws, "--json")) == []
    assert "`icploop fit run` drafts one from the evidence" in icploop("icp", "status", *ws)

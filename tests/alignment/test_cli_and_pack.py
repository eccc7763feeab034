"""The commands end to end on a workspace of the small demo company, and the pack's section."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from icploop.cli.main import app
from icploop.review.alignment import alignment_section
from icploop.review.render import render_markdown
from icploop.segments.frames import account_frame
from tests.review.conftest import open_workspace

from .conftest import AS_OF

runner = CliRunner()


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_experiment_and_scorecard_commands(
    demo_warehouse: Path, demo_company: dict[str, Any], tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    backend, _ = open_workspace(demo_warehouse, ws)
    backend.disconnect()
    w = ["--workspace", str(ws)]
    _ok(["experiment", "add", "hospitality-2023", "--segment", "industry == Hospitality",
         "--segment", "close_year == 2023", "--change-kind", "campaign",
         "--change", "the 2023 hospitality push", "--start", "2023-01-01", "--end", "2023-12-31",
         "--control-segment", "industry != Hospitality", "--control-segment", "close_year == 2023",
         "--as", "marketing.lead@example.test", *w])  # fmt: skip
    _ok(["experiment", "add", "fresh", "--segment", "industry == Software", "--change-kind",
         "messaging", "--change", "new pitch", "--start", "2026-10-15",
         "--as", "revops.lead@example.test", *w])  # fmt: skip
    refused = runner.invoke(app, ["experiment", "add", "x", "--segment", "industry ~ Retail",
                                  "--change-kind", "campaign", "--change", "c", "--start",
                                  "2025-01-01", "--as", "revops.lead@example.test", *w])  # fmt: skip
    assert refused.exit_code == 1 and "cannot read the rule" in refused.output

    listed = json.loads(_ok(["experiment", "list", "--json", *w]))
    assert [e["name"] for e in listed] == ["fresh", "hospitality-2023"]
    assert listed[1]["segment"] == "industry == Hospitality AND close_year == 2023"

    shown = json.loads(_ok(["experiment", "show", "hospitality-2023", "--as-of",
                            AS_OF.isoformat(), "--json", *w]))  # fmt: skip
    churn = next(m for m in shown["result"]["metrics"] if m["metric"] == "first_year_churn")
    assert churn["experiment_low"] > churn["control"] and churn["verdict"] == "worse"
    assert shown["result"]["tag_mix"]["experiment"]["tagged"] > 0  # tags computed from the data
    fresh = json.loads(_ok(["experiment", "show", "fresh", "--json", *w]))
    assert fresh["result"]["status"] == "not yet measurable"
    text = _ok(["experiment", "show", "fresh", *w])
    assert "not yet measurable" in text

    card = json.loads(_ok(["scorecard", "--json", "--as-of", AS_OF.isoformat(), *w]))
    effect = next(e for e in demo_company["truth"]["effects"]
                  if e["id"] == "ae_quarter_end_bad_fit")  # fmt: skip
    bad = effect["segment"]["all"][0]["value"]
    assert card["standing_apart"] == [bad]
    row = next(r for r in card["team"] if r["group"] == bad)
    assert {"bookings_rank", "retained_rank", "rank_gap"} <= set(row)
    assert row["rank_gap"] == row["retained_rank"] - row["bookings_rank"]
    by_campaign = json.loads(_ok(["scorecard", "--by", "campaign", "--json", *w]))
    groups = {r["group"] for r in by_campaign["team"]}
    assert by_campaign["by"] == "campaign" and "(none)" in groups and len(groups) >= 3
    assert bad in _ok(["scorecard", *w])
    wrong = runner.invoke(app, ["scorecard", "--by", "region", *w])
    assert wrong.exit_code == 1 and "unknown --by" in wrong.output


def test_the_pack_section_measures_every_experiment(demo_warehouse: Path, tmp_path: Path) -> None:
    backend, factory = open_workspace(demo_warehouse, tmp_path / "ws")
    from icploop.icp.experiments import add_experiment

    with factory() as session, session.begin():
        add_experiment(session, "revops.lead@example.test", "hospitality-2023",
                       ["industry == Hospitality"], "campaign", "push",
                       dt.date(2023, 1, 1))  # fmt: skip
    accounts = account_frame(backend, AS_OF)
    with factory() as session:
        section = alignment_section(backend, session, accounts, AS_OF)
    backend.disconnect()
    assert section["scorecard"]["standing_apart"]
    assert section["scorecard"]["team"][0]["bookings_rank"] == 1
    assert section["by_lead_source"]["team"]
    assert [e["name"] for e in section["experiments"]] == ["hospitality-2023"]
    assert section["experiments"][0]["result"]["status"] == "measured"
    json.dumps(section)  # JSON-ready
    pack = {"quarter": "2026Q3", "as_of": AS_OF.isoformat(), "review_id": None,
            "sections": [{"id": "alignment", "title": "Alignment", "presenter": "VP Sales"}],
            "alignment": section}  # fmt: skip
    text = render_markdown(pack)
    assert "hospitality-2023" in text and "Retention-adjusted AE scorecard" in text

"""`icploop demo run` (what `make demo` runs) goes end to end and is safe to repeat."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from icploop.cli.main import app

runner = CliRunner()


def test_the_demo_runs_end_to_end_and_again_without_changing_the_workspace(tmp_path: Path) -> None:
    args = ["demo", "run", "--dir", str(tmp_path / "demo"), "--accounts", "400", "--seed", "3"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    for section in (
        "1. The demo company",
        "2. Load",
        "3. Retention",
        "4. Which segments",
        "5. The value-based ICP",
        "6. The 90-day fit tags",
        "7. Why accounts churned",
        "8. Cost to serve",
        "9. The fit score trained on retention",
        "10. NRR forecast",
        "11. Bookings against retained bookings",
        "12. The quarterly ICP review pack",
    ):
        assert section in first.output
    assert "Headline metrics" in first.output and "Fit tags by segment" in first.output
    assert "icploop serve --workspace" in first.output and "password:" in first.output
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "using the demo company already in" in second.output
    assert "Fit model v1, trained as of" in second.output  # the stored model, not a new one
    ws = ["--workspace", str(tmp_path / "demo" / "workspace")]
    tags = json.loads(runner.invoke(app, ["fit", "list", *ws, "--json"]).output)
    status = json.loads(runner.invoke(app, ["status", *ws, "--json"]).output)
    accounts = next(t for t in status["tables"] if t["table"] == "accounts")
    truth = json.loads((tmp_path / "demo" / "data" / "truth.json").read_text())
    assert accounts["rows"] == truth["accounts"] + truth["prospects"]
    assert len({t["account_id"] for t in tags}) == len(tags) > 0
    packs = sorted(p.suffix for p in (tmp_path / "demo" / "review").glob("icp-review-*"))
    assert packs == [".html", ".json", ".md", ".pdf"]
    # the second run rebuilt the same undecided review rather than adding another
    review = json.loads(runner.invoke(app, ["review", "show", *ws, "--json"]).output)
    assert review["id"] == 1 and review["status"] == "open"

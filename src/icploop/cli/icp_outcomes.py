"""``icploop icp`` measurements: did each published change work, and is a micro-review due."""

from __future__ import annotations

import typer
from rich.table import Table

from icploop.cli.common import (
    AsOfOption,
    JsonOption,
    WorkspaceOption,
    console,
    fit_tags_of,
    print_json,
    settings_for,
    user_errors,
    warehouse_on,
)
from icploop.icp.micro_review import nrr_drops
from icploop.icp.outcomes import measure_versions, versions_frame
from icploop.segments.outcomes import account_outcomes
from icploop.store.database import open_store

measures_app = typer.Typer()


@measures_app.command("outcomes")
def outcomes(
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    json: JsonOption = False,
) -> None:
    """Did each published change work? Later cohorts against earlier ones, with intervals."""
    with user_errors():
        settings = settings_for(workspace)
        warehouse, day = warehouse_on(workspace, as_of)
        frame = account_outcomes(warehouse.tables, day)
        tags = fit_tags_of(workspace, warehouse.backend, day)
        with open_store(settings)() as session:
            results = measure_versions(session, frame, day, tags=tags.tags)
        table = versions_frame(results)
        if json:
            print_json(
                {
                    "as_of": day,
                    "fit_tags": {"source": tags.source, "reason": tags.reason},
                    "measurements": table.to_dict("records"),
                    "caveats": sorted({c for r in results for c in r.caveats}),
                }
            )
            return
        if table.empty:
            console.print("no published ICP version to measure yet")
            return
        rows = Table("version", "in force from", "metric", "before", "after", "95% CI", "verdict")
        for r in table.to_dict("records"):
            ci = f"{r['ci_low']:+.3f} to {r['ci_high']:+.3f}" if r["ci_low"] == r["ci_low"] else "-"
            rows.add_row(
                str(r["version"]),
                str(r["effective"]),
                str(r["label"]),
                f"{r['before']:.3f}",
                f"{r['after']:.3f}",
                ci,
                str(r["verdict"]),
            )
        console.print(rows)
        for caveat in sorted({c for r in results for c in r.caveats}):
            console.print(f"[yellow]caveat:[/] {caveat}")


@measures_app.command("micro-review")
def micro_review(
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    json: JsonOption = False,
) -> None:
    """Is a monthly micro-review due (cohort NRR fell more than 2 points in the last quarter)?"""
    with user_errors():
        warehouse, day = warehouse_on(workspace, as_of)
        drops = nrr_drops(warehouse.tables, day)
        if json:
            print_json({"due": drops.due, "series": drops.series.to_dict("records")})
            return
        last = drops.series.dropna(subset=["nrr"]).tail(4)
        for r in last.to_dict("records"):
            change = r["change_points"]
            shift = "" if change != change else f" ({change:+.1f} points)"
            console.print(f"{r['period']}: NRR {r['nrr']:.1%}{shift}")
        console.print(
            "[bold red]A monthly micro-review is due.[/]" if drops.due else "No micro-review due."
        )


def extend(icp_app: typer.Typer) -> None:
    """Add the measurement commands to ``icploop icp``."""
    icp_app.add_typer(measures_app)

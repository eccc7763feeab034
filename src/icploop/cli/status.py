"""``icploop status``: each table's row count and date range, the attribute roles, the history
of loads, where the data ends (the default as-of date of every command) and the channels."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from icploop.cli.common import (
    JsonOption,
    WorkspaceOption,
    console,
    open_warehouse,
    print_json,
    settings_for,
    user_errors,
)
from icploop.formatting import day
from icploop.ingest.status import status as workspace_status


def status(json_output: JsonOption = False, workspace: WorkspaceOption = None) -> None:
    """Show each table's row count and date range, the history of loads, and where the data
    ends (the default as-of date of every command)."""
    with user_errors():
        warehouse = open_warehouse(workspace)
        report = workspace_status(warehouse.backend)
        mrr_rows = next(t["rows"] for t in report["tables"] if t["table"] == "mrr_monthly")
        end = warehouse.data_end if mrr_rows else None
        report["data_end"] = end.to_dict() if end else None
        from icploop.daily.status import channel_report

        report["channels"] = channel_report(settings_for(workspace, note_currency=False))
        if json_output:
            print_json(report)
            return
        table = Table(title="tables")
        for col in ("table", "rows", "from", "to"):
            table.add_column(col)
        for t in report["tables"]:
            table.add_row(t["table"], f"{t['rows']:,}", t["min_date"] or "", t["max_date"] or "")
        console.print(table)
        if report["attributes"]:
            roles = Table(title="attributes (role: docs/data-model.md, 'Attribute roles')")
            for col in ("table", "attribute", "role", "from", "searched", "why"):
                roles.add_column(col)
            for a in report["attributes"]:
                roles.add_row(
                    a["table"],
                    a["attribute"],
                    a["role"],
                    a["origin"],
                    "yes" if a["searched"] else "no",
                    a["reason"],
                )
            console.print(roles)
        loads = Table(title="loads")
        for col in ("load", "at", "table", "inserted", "replaced", "refused", "files"):
            loads.add_column(col)
        for ld in report["loads"]:
            loads.add_row(
                str(ld["load_id"]),
                day(ld["loaded_at"]),
                ld["table"],
                f"{ld['rows_inserted']:,}",
                f"{ld['rows_replaced']:,}",
                f"{sum(f.get('rejected', 0) for f in ld['files']):,}",  # set aside by quarantine
                ", ".join(Path(f["path"]).name for f in ld["files"]),
            )
        console.print(loads)
        if end is not None:
            console.print(
                f"Data through {end.last_month:%B %Y}; the default as-of date is {end.as_of}.",
                highlight=False,
            )
            for caveat in end.caveats:
                console.print(f"[yellow]caveat:[/] {caveat}", highlight=False)
        for channel in report["channels"]:
            if not channel["configured"]:
                console.print(channel["line"], markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``icploop status`` to the root app."""
    app.command("status")(status)

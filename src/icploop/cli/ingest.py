"""Commands of the ingest package: ``icploop load`` and ``icploop status``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
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
from icploop.engine import connect, open_analytics
from icploop.errors import IcploopError
from icploop.ingest.load import load_from_tables, load_paths
from icploop.ingest.mapping import load_mapping, load_preset
from icploop.ingest.status import status as workspace_status


def load(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="CSV/Parquet files or folders to load.")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", "-m", help="Mapping file (YAML).")
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option("--preset", "-p", help="A shipped mapping, e.g. hubspot-deals."),
    ] = None,
    workspace: WorkspaceOption = None,
    analytics_url: Annotated[
        str | None, typer.Option("--analytics-url", help="Ibis URL of the analytics database.")
    ] = None,
    source_url: Annotated[
        str | None,
        typer.Option(
            "--source-url",
            help="Load from tables of another database Ibis can reach (e.g. postgres://...).",
        ),
    ] = None,
    source_tables: Annotated[
        list[str] | None,
        typer.Option(
            "--table",
            help="With --source-url: CANONICAL=SOURCE_TABLE, e.g. accounts=crm_accounts (repeat).",
        ),
    ] = None,
) -> None:
    """Validate files (or another database's tables) and load them, all or nothing."""
    with user_errors():
        if source_url is not None:
            _load_from_database(
                source_url, source_tables or [], mapping, preset, workspace, analytics_url
            )
            return
        if not paths:
            raise IcploopError("name the files or folders to load", "e.g. icploop load exports/")
        if mapping is not None and preset is not None:
            raise IcploopError("give --mapping or --preset, not both")
        chosen = load_mapping(mapping) if mapping else load_preset(preset) if preset else None
        settings = settings_for(workspace)
        if analytics_url:
            settings = settings.model_copy(update={"analytics_url": analytics_url})
        backend = open_analytics(settings)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("loading", total=None)

            def progress(done: int, total: int, what: str) -> None:
                bar.update(task, completed=done, total=total, description=what)

            result = load_paths(
                backend,
                paths,
                chosen,
                reporting_currency=settings.reporting_currency,
                progress=progress,
                memory_limit=settings.load_memory_limit,
            )
        table = Table(title=f"load {result.load_id}")
        for col in ("table", "inserted", "replaced"):
            table.add_column(col, justify="left" if col == "table" else "right")
        for count in result.tables.values():
            table.add_row(count.table, f"{count.inserted:,}", f"{count.replaced:,}")
        console.print(table)
        for note in result.notes:
            console.print(f"note: {note}", highlight=False)
        for skipped in result.skipped:
            console.print(f"skipped (not a table name): {skipped}", highlight=False)


def _load_from_database(
    source_url: str,
    pairs: list[str],
    mapping: Path | None,
    preset: str | None,
    workspace: Path | None,
    analytics_url: str | None,
) -> None:
    if not pairs:
        raise IcploopError(
            "--source-url needs at least one --table CANONICAL=SOURCE",
            "e.g. --table accounts=crm_accounts --table deals=crm_opportunities",
        )
    tables: dict[str, str] = {}
    for pair in pairs:
        canonical, sep, source = pair.partition("=")
        if not sep or not canonical or not source:
            raise IcploopError(f"--table {pair!r} is not CANONICAL=SOURCE")
        tables[canonical.strip()] = source.strip()
    chosen = load_mapping(mapping) if mapping else load_preset(preset) if preset else None
    settings = settings_for(workspace)
    if analytics_url:
        settings = settings.model_copy(update={"analytics_url": analytics_url})
    result = load_from_tables(
        open_analytics(settings),
        connect(source_url),
        tables,
        chosen,
        reporting_currency=settings.reporting_currency,
        memory_limit=settings.load_memory_limit,
    )
    for count in result.tables.values():
        console.print(f"{count.table}: {count.inserted:,} inserted, {count.replaced:,} replaced")


def status(json_output: JsonOption = False, workspace: WorkspaceOption = None) -> None:
    """Show each table's row count and date range, the history of loads, and where the data
    ends (the default as-of date of every command)."""
    with user_errors():
        warehouse = open_warehouse(workspace)
        report = workspace_status(warehouse.backend)
        mrr_rows = next(t["rows"] for t in report["tables"] if t["table"] == "mrr_monthly")
        end = warehouse.data_end if mrr_rows else None
        report["data_end"] = end.to_dict() if end else None
        if json_output:
            print_json(report)
            return
        table = Table(title="tables")
        for col in ("table", "rows", "from", "to"):
            table.add_column(col)
        for t in report["tables"]:
            table.add_row(t["table"], f"{t['rows']:,}", t["min_date"] or "", t["max_date"] or "")
        console.print(table)
        loads = Table(title="loads")
        for col in ("load", "at", "table", "inserted", "replaced", "files"):
            loads.add_column(col)
        for ld in report["loads"]:
            loads.add_row(
                str(ld["load_id"]),
                ld["loaded_at"],
                ld["table"],
                f"{ld['rows_inserted']:,}",
                f"{ld['rows_replaced']:,}",
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


def register(app: typer.Typer) -> None:
    """Add this package's commands to the root app."""
    app.command("load")(load)
    app.command("status")(status)

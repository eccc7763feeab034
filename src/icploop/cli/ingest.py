"""Commands of the ingest package: ``icploop init``, ``load`` and ``map suggest``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from icploop.cli.common import (
    DEFAULT_WAIT,
    WaitOption,
    WorkspaceOption,
    console,
    err_console,
    settings_for,
    user_errors,
    writing_to,
)
from icploop.config import DEFAULT_CURRENCY, Settings, write_workspace_settings
from icploop.engine import connect
from icploop.errors import IcploopError
from icploop.ingest.load import LoadResult, load_from_tables, load_paths
from icploop.ingest.mapping import load_mapping, load_preset
from icploop.ingest.workspace import convert_figures, has_revenue


def init(
    currency: Annotated[
        str | None,
        typer.Option(
            "--currency",
            help="Reporting currency (ISO 4217, e.g. EUR): every money figure is converted "
            "into it. Default: the environment's, else USD; kept when already recorded.",
        ),
    ] = None,
    memory_limit: Annotated[
        str | None,
        typer.Option("--load-memory-limit", help="Memory a load may use, e.g. 4GB."),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Create a workspace (or change its settings) and record its reporting currency.

    Changing the currency of a workspace that holds revenue converts its stored figures at
    once (it needs fx_rates into the new currency)."""
    with user_errors():
        settings = settings_for(workspace, note_currency=False)
        chosen = (currency or "").strip().upper() or (
            settings.workspace_currency or settings.reporting_currency
        )
        values = {"reporting_currency": chosen}
        if memory_limit is not None:
            values["load_memory_limit"] = memory_limit.strip()
        before = settings.workspace_currency
        if before is not None and before != chosen:
            with writing_to(settings, "icploop init", DEFAULT_WAIT) as backend:
                converted = has_revenue(backend)
                if converted:
                    convert_figures(backend, chosen)
            if converted:
                console.print(f"converted the stored figures from {before} to {chosen}")
        recorded = write_workspace_settings(settings.workspace, **values)
        console.print(f"workspace {settings.workspace}", markup=False, highlight=False)
        for key, value in recorded.items():
            console.print(f"  {key} = {value}", markup=False, highlight=False)


def _record_currency(settings: Settings, result: LoadResult) -> None:
    """After a load: the workspace remembers the currency its figures are now in."""
    if settings.workspace_currency == result.reporting_currency:
        return
    write_workspace_settings(settings.workspace, reporting_currency=result.reporting_currency)
    if settings.workspace_currency is None:
        how = (
            "from ICPLOOP_REPORTING_CURRENCY"
            if "reporting_currency" in settings.model_fields_set
            else "the only currency in the data"
            if result.reporting_currency != DEFAULT_CURRENCY
            else "the default"
        )
        console.print(
            f"note: reporting currency {result.reporting_currency} ({how}) recorded in the "
            "workspace; change it with icploop init --currency",
            highlight=False,
        )
    else:
        console.print(
            f"note: ICPLOOP_REPORTING_CURRENCY overrode the workspace's "
            f"{settings.workspace_currency}: every figure is now in "
            f"{result.reporting_currency}, and the workspace records {result.reporting_currency}",
            highlight=False,
        )


def _load_currency(settings: Settings) -> str | None:
    """The currency a load converts into: the environment's, else the workspace's; None lets
    the first load take the one currency of its data."""
    if "reporting_currency" in settings.model_fields_set:
        return settings.reporting_currency
    return settings.workspace_currency


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
    max_rejects: Annotated[
        int | None,
        typer.Option(
            "--max-rejects",
            help="Load the rows that pass and set up to N refused rows aside (with --rejects); "
            "more refused rows refuse the whole load.",
        ),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option("--rejects", help="CSV the refused rows are written to, with their problems."),
    ] = None,
    wait: WaitOption = DEFAULT_WAIT,
) -> None:
    """Validate files (or another database's tables) and load them, all or nothing (or, with
    --max-rejects, all but the refused rows, which are written to --rejects)."""
    with user_errors():
        if source_url is not None:
            _load_from_database(
                source_url,
                source_tables or [],
                mapping,
                preset,
                workspace,
                analytics_url,
                (max_rejects, rejects),
                wait,
            )
            return
        if not paths:
            raise IcploopError("name the files or folders to load", "e.g. icploop load exports/")
        if mapping is not None and preset is not None:
            raise IcploopError("give --mapping or --preset, not both")
        chosen = load_mapping(mapping) if mapping else load_preset(preset) if preset else None
        settings = settings_for(workspace, note_currency=False)
        if analytics_url:
            settings = settings.model_copy(update={"analytics_url": analytics_url})
        with (
            writing_to(settings, "icploop load", wait) as backend,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console,
                transient=True,
            ) as bar,
        ):
            task = bar.add_task("loading", total=None)

            def progress(done: int, total: int, what: str) -> None:
                bar.update(task, completed=done, total=total, description=what)

            result = load_paths(
                backend,
                paths,
                chosen,
                reporting_currency=_load_currency(settings),
                progress=progress,
                memory_limit=settings.load_memory_limit,
                max_rejects=max_rejects,
                rejects=rejects,
            )
        _record_currency(settings, result)
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
    quarantine: tuple[int | None, Path | None],
    wait: float,
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
    settings = settings_for(workspace, note_currency=False)
    if analytics_url:
        settings = settings.model_copy(update={"analytics_url": analytics_url})
    with writing_to(settings, "icploop load", wait) as backend:
        result = load_from_tables(
            backend,
            connect(source_url),
            tables,
            chosen,
            reporting_currency=_load_currency(settings),
            memory_limit=settings.load_memory_limit,
            max_rejects=quarantine[0],
            rejects=quarantine[1],
        )
    _record_currency(settings, result)
    for count in result.tables.values():
        console.print(f"{count.table}: {count.inserted:,} inserted, {count.replaced:,} replaced")
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)


map_app = typer.Typer(help="Mapping files: how an export's columns land on the canonical model.")


@map_app.command("suggest")
def map_suggest(
    path: Annotated[Path, typer.Argument(help="A CSV or Parquet export.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the YAML here (default: print it).")
    ] = None,
) -> None:
    """Propose a mapping file from an export's header and values, for you to edit.

    Guesses the canonical table, the column for each canonical column, date formats, cents,
    deal stages, trials and monthly rows; every guess carries a comment. Nothing is loaded."""
    from icploop.ingest.mapping import parse_mapping
    from icploop.ingest.suggest import suggest

    with user_errors():
        suggestion = suggest(path)
        parse_mapping(suggestion.yaml, "the suggested mapping")  # never hand out a broken file
        if out is None:
            typer.echo(suggestion.yaml, nl=False)
        else:
            if out.exists():
                raise IcploopError(f"{out} exists", "choose another --out or remove it first")
            out.write_text(suggestion.yaml, encoding="utf-8")
            console.print(f"wrote {out} ({suggestion.table})", markup=False, highlight=False)
        for note in suggestion.notes:
            err_console.print(f"note: {note}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this package's commands to the root app."""
    app.add_typer(map_app, name="map")
    app.command("init")(init)
    app.command("load")(load)

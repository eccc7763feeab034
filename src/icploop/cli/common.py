"""What every command shares: the workspace option, the console, and rendering user errors."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from icploop.config import Settings, load_settings
from icploop.errors import IcploopError
from icploop.fit.config import FitConfig, workspace_fit_config
from icploop.formatting import is_unknown, json_tree
from icploop.generations import open_analytics
from icploop.warehouse import AS_OF_RANGE, Warehouse, today_or

# paths, ids and commands are copied from the output: a line is never broken inside them
console = Console(soft_wrap=True)
if not console.is_terminal:
    # piped or captured output has no width to follow: leave the tables room to breathe
    console.width = max(console.width, 140)
# an error is one line per cause however narrow the terminal, and its text is never markup
err_console = Console(stderr=True, soft_wrap=True)

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Folder of the workspace (default $ICPLOOP_WORKSPACE or ./icploop-workspace).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ActorOption = Annotated[str, typer.Option("--as", help="Who is acting (person id, e.g. email).")]
AsOfOption = Annotated[
    dt.datetime | None,
    typer.Option(
        "--as-of",
        formats=["%Y-%m-%d"],
        help="The date to judge at (default: the last day of the last complete month of data).",
    ),
]
VersionOption = Annotated[
    str | None, typer.Option("--version", help="Stored model version (default the newest).")
]
DeadlineOption = Annotated[
    dt.datetime | None,
    typer.Option(
        "--as-of", formats=["%Y-%m-%d"], help="The day to check deadlines on (default today)."
    ),
]


WaitOption = Annotated[
    float,
    typer.Option(
        "--wait",
        min=0,
        help="Seconds to wait while another command writes the workspace, then give up.",
    ),
]
#: what a writing command waits by default for another writer to finish (seconds)
DEFAULT_WAIT = 60.0


def _say(message: str) -> None:
    err_console.print(message, markup=False, highlight=False)


@contextmanager
def writing_to(settings: Settings, what: str, wait: float) -> Iterator[Any]:
    """The workspace's analytics to write, under its writer lock (see
    :func:`icploop.generations.writing`); a wait for another writer is said on stderr."""
    from icploop.generations import writing

    with writing(settings, what, wait, _say) as backend:
        yield backend


@contextmanager
def as_writer(settings: Settings, what: str, wait: float) -> Iterator[None]:
    """The workspace's writer lock held for the block (a command that writes the app store
    for the whole workspace, such as a tagging run); a wait is said on stderr."""
    from icploop.writer_lock import writer_lock

    with writer_lock(settings.workspace, what, wait, _say):
        yield


def open_warehouse(workspace: Path | None) -> Warehouse:
    """The workspace's analytics warehouse."""
    return Warehouse(open_analytics(settings_for(workspace)))


def warehouse_on(workspace: Path | None, as_of: dt.datetime | None) -> tuple[Warehouse, dt.date]:
    """The workspace's warehouse and the day a command judges at (:func:`data_as_of`: ``--as-of``,
    else the end of the last complete month of data)."""
    warehouse = open_warehouse(workspace)
    return warehouse, data_as_of(warehouse, as_of)


def data_as_of(warehouse: Warehouse, value: dt.datetime | None) -> dt.date:
    """The ``--as-of`` date, else the workspace's default (the last day of the last complete month
    of data). With the default, what the data's end leaves out is said on stderr, so that JSON on
    stdout stays whole."""
    if value is not None:
        if not AS_OF_RANGE[0] <= value.date() <= AS_OF_RANGE[1]:
            raise IcploopError(
                f"--as-of {value.date()} is out of range",
                f"give a date from {AS_OF_RANGE[0]} to {AS_OF_RANGE[1]}",
            )
        return value.date()
    end = warehouse.data_end
    for caveat in end.caveats:
        err_console.print(f"[yellow]caveat:[/] {caveat}", highlight=False, soft_wrap=True)
    return end.as_of


def deadline_day(value: dt.datetime | None) -> dt.date:
    """The ``--as-of`` day of a deadline check, else today (see :func:`icploop.warehouse.today_or`)."""
    return today_or(value.date() if value else None)


def settings_for(workspace: Path | None, *, note_currency: bool = True) -> Settings:
    """The command's settings (options, environment, the workspace's settings file); prints a
    note on stderr when the environment names another reporting currency than the workspace."""
    settings = load_settings(workspace)
    if note_currency and settings.currency_note:
        err_console.print(f"note: {settings.currency_note}", highlight=False)
    return settings


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn an IcploopError into a message on stderr and exit code 1 (no traceback)."""
    try:
        yield
    except IcploopError as exc:
        err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
        if exc.hint:
            err_console.print(f"[dim]hint:[/] {escape(exc.hint)}", highlight=False)
        raise typer.Exit(code=1) from None


def _other(value: Any) -> Any:
    return None if is_unknown(value) else str(value)


def print_json(payload: Any) -> None:
    """Write JSON to stdout (dates and other objects as strings; a value that is not a number,
    such as NaN, as null: unknown, never a number)."""
    sys.stdout.write(
        json.dumps(json_tree(payload), indent=2, default=_other, allow_nan=False) + "\n"
    )


def emit_rows(
    rows: list[dict[str, Any]],
    as_json: bool,
    columns: dict[str, str],
    footer: str = "",
    limit: int | None = None,
) -> None:
    """Rows as JSON, or as a table of ``columns`` (key -> header) with ``-`` for blanks (and
    for values that are not a number); with ``limit``, the first rows and a line saying how
    many more there are and how to see them."""
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    shown = rows if limit is None else rows[:limit]
    table = Table(*columns.values())
    for row in shown:
        table.add_row(
            *("-" if is_unknown(row[k]) or row[k] == "" else str(row[k]) for k in columns)
        )
    console.print(table)
    if len(shown) < len(rows):
        console.print(f"{len(rows) - len(shown):,} more rows not shown: --json lists them all")
    if footer:
        console.print(footer.format(n=len(rows)))


def command(func: Callable[..., None]) -> Callable[..., None]:
    """Decorator: run a command body inside ``user_errors``."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        with user_errors():
            func(*args, **kwargs)

    return wrapper


def currency_of(workspace: Path | None) -> str:
    """The ISO code the workspace's stored money figures are in (its reporting currency)."""
    return load_settings(workspace).figures_currency


def fit_config_of(workspace: Path | None, path: Path | None = None) -> FitConfig:
    """The workspace's fit configuration (:func:`icploop.fit.config.workspace_fit_config`):
    ``path`` (a run's ``--config``), else its ``fit.yaml``, else the defaults."""
    return workspace_fit_config(load_settings(workspace).workspace, path)


def fit_tags_of(workspace: Path | None, backend: Any, day: dt.date) -> Any:
    """The fit tags in force on ``day`` (:func:`icploop.flags.tags_in_force.fit_tags_in_force`)
    with the workspace's published ICP versions and fit configuration: what every command reads
    for fit tags."""
    from icploop.flags.tags_in_force import fit_tags_in_force
    from icploop.icp.in_force import published_periods
    from icploop.store.database import open_store

    config = fit_config_of(workspace)
    with open_store(settings_for(workspace))() as session:
        return fit_tags_in_force(backend, session, day, published_periods(session), config)

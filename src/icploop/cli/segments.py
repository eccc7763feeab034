"""``icploop segments``: which segments retain, grow and adopt, with their evidence."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from icploop.cli.common import (
    AsOfOption,
    JsonOption,
    WorkspaceOption,
    console,
    print_json,
    user_errors,
    warehouse_on,
)
from icploop.errors import IcploopError
from icploop.formatting import q as fmt_q
from icploop.metrics.tables import CanonicalTables
from icploop.segments.catalog import (
    OUTCOMES,
    OutcomeSpec,
    outcome_spec,
    search_with_thresholds,
)
from icploop.segments.compare import compare_icp_views
from icploop.segments.early_warning import segment_early_warning
from icploop.segments.frames import outcome_frame
from icploop.segments.outcomes import attribute_catalog
from icploop.segments.result import Polarity
from icploop.segments.thresholds import threshold_row
from icploop.segments.why_we_win import why_we_win

VIEWS = ("findings", "compare", "why-win", "early-warning")


def segments_command(
    outcome: Annotated[
        str,
        typer.Option(
            help="churn, nrr, ltv, adoption, win, activation, time-to-value, or column:NAME "
            "(any 0/1 or numeric account attribute, then searched as the outcome)."
        ),
    ] = "churn",
    days: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Horizon in days: of activation (default 60: no revenue or use within it), "
            "time-to-value (default 180), or a column:NAME outcome (only accounts observed "
            "that long since their start count).",
        ),
    ] = None,
    higher_is: Annotated[
        str | None,
        typer.Option(
            help="For column:NAME, whether a higher value is bad or good (default: bad for a "
            "0/1 column, good for a number)."
        ),
    ] = None,
    view: Annotated[
        str,
        typer.Option(
            help="findings (segments by outcome); compare (value-based vs lookalike, intent "
            "and win-rate ICPs); why-win (win rate beside retention, use-case concentration); "
            "early-warning (targeted segments heading for high churn)."
        ),
    ] = "findings",
    depth: Annotated[int, typer.Option(min=1, max=3, help="Conditions per segment.")] = 2,
    min_size: Annotated[
        int | None, typer.Option(help="Smallest segment (default max(30, 5/p0)).")
    ] = None,
    top: Annotated[
        int, typer.Option(min=0, help="Findings to show each way (0: all of them).")
    ] = 8,
    attributes: Annotated[
        str | None,
        typer.Option(
            help="Attributes to search, comma-separated (default: every dimension and measure "
            "searched by default; see icploop status)."
        ),
    ] = None,
    exclude: Annotated[
        str | None, typer.Option(help="Attributes to leave out, comma-separated.")
    ] = None,
    as_of: AsOfOption = None,
    json: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Segments that retain, grow and adopt (and those that churn), each with its evidence."""
    with user_errors():
        polarity: Polarity | None = None
        if higher_is is not None:
            if higher_is not in ("bad", "good"):
                raise IcploopError(f"unknown --higher-is {higher_is!r}", "use bad or good")
            polarity = "bad" if higher_is == "bad" else "good"
        spec = outcome_spec(outcome, days, polarity)
        if view not in VIEWS:
            raise IcploopError(f"unknown view {view!r}", f"use one of {', '.join(VIEWS)}")
        warehouse, day = warehouse_on(workspace, as_of)
        backend = warehouse.backend
        if view != "findings":
            show_view(backend, day, view, top, json)
            return
        frame = outcome_frame(backend, day, spec)
        catalog = attribute_catalog(CanonicalTables.from_backend(backend), frame, (spec.column,))
        result, thresholds, spec = search_with_thresholds(
            frame,
            spec,
            depth,
            min_size,
            catalog,
            split_names(attributes) if attributes else None,
            split_names(exclude) if exclude else (),
        )
        findings = result.findings()
        if json:
            print_json(
                {
                    "outcome": outcome,
                    "label": spec.label,
                    "as_of": day,
                    "accounts": result.n_accounts,
                    "base_rate": result.base_rate,
                    "segments_evaluated": result.n_evaluated,
                    "caveats": list(result.caveats),
                    "findings": findings.to_dict("records"),
                    "thresholds": [t.recommendation for t in thresholds],
                    "threshold_scan": [threshold_row(t) for t in thresholds],
                }
            )
            return
        print_findings(result, spec, top)
        for t in thresholds:
            console.print(f"[bold]Threshold:[/] {t.recommendation}")


def split_names(text: str) -> list[str]:
    """``"a, b"`` -> ``["a", "b"]`` (blanks dropped)."""
    return [n.strip() for n in text.split(",") if n.strip()]


def show_view(backend: Any, as_of: dt.date, view: str, top: int, json: bool) -> None:
    """The comparison views: what an ICP chosen each way captures, why we win, early warning."""
    accounts = outcome_frame(backend, as_of, OUTCOMES["churn"])
    deals = outcome_frame(backend, as_of, OUTCOMES["win"])
    if view == "compare":
        result = compare_icp_views(accounts, deals, k=3, value_outcome="first_year_churn")
        if json:
            print_json(
                {
                    "summary": result.summary.to_dict("records"),
                    "sentence": result.sentence,
                    "caveats": list(result.caveats),
                }
            )
            return
        print_frame(result.summary, "What an ICP chosen each way captures")
        console.print(result.sentence)
    elif view == "why-win":
        result_w = why_we_win(deals, accounts)
        sentence = result_w.concentration.sentence if result_w.concentration else ""
        ranking = result_w.use_cases if result_w.use_cases is not None else pd.DataFrame()
        if json:
            print_json(
                {
                    "win_rates": result_w.table.to_dict("records"),
                    "use_cases": ranking.to_dict("records"),
                    "concentration": sentence,
                }
            )
            return
        print_frame(_first(result_w.table, top * 3), "Win rate beside first-year retention")
        _say_hidden(result_w.table, top * 3)
        if not ranking.empty:
            console.print("Use cases by retention and expansion, best first:")
            for line in _first(ranking, top)["sentence"]:
                console.print(f"- {line}")
            _say_hidden(ranking, top)
        console.print(sentence)
    else:
        warning = segment_early_warning(accounts)
        if json:
            print_json(warning.drop(columns=["cohorts"], errors="ignore").to_dict("records"))
            return
        flagged = warning[warning["heading_for_high_churn"]]
        shown = flagged if not flagged.empty else warning
        for sentence in _first(shown, top)["evidence"]:
            console.print(f"- {sentence}")
        _say_hidden(shown, top)


def _first(frame: pd.DataFrame, top: int) -> pd.DataFrame:
    """The first ``top`` rows (all with 0)."""
    return frame.head(top) if top else frame


def _say_hidden(frame: pd.DataFrame, top: int) -> None:
    """The line under a cut list: how many rows it leaves out and how to see them."""
    if top and len(frame) > top:
        console.print(f"{len(frame) - top} more: --top 0 or --json")


def print_frame(frame: pd.DataFrame, title: str) -> None:
    """A small frame as a table, fractions shown as percentages."""
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(str(col))
    for row in frame.itertuples(index=False):
        table.add_row(
            *(
                "-"
                if isinstance(v, float) and v != v
                else f"{v:.0%}"
                if isinstance(v, float) and 0 <= v <= 1
                else str(v)
                for v in row
            )
        )
    console.print(table)


def print_findings(result: Any, spec: OutcomeSpec, top: int) -> None:
    """Every segment that survives multiple testing: the best and the worst as two tables (the
    first ``top`` of each, 0 for all, saying how many more there are), then any whose interval
    holds the rest's value; one line instead of the tables when none does (or none could be
    tested). Values read as the outcome's unit says (``OutcomeSpec.shown``, as on the web)."""
    findings = result.findings()
    label, shown = spec.label, spec.shown
    measure = "rate" if result.outcome_kind == "binary" else "mean"  # a segment's value
    console.print(
        f"{label}: {result.n_accounts:,} accounts, base {shown(result.base_rate)}; "
        f"{result.n_evaluated:,} segments tested, {len(findings)} significant at q < 0.05 "
        f"after Benjamini-Hochberg"
    )
    if not result.n_evaluated:
        console.print("No segment could be tested (see the caveats).")
    elif findings.empty:
        console.print(f"No segment's {label} differs from the rest's beyond chance.")
    tables = (
        ("better", f"Segments that retain and grow ({label})"),
        ("worse", f"Segments that churn and shrink ({label})"),
        ("unclear", f"Significant, direction unclear: the interval holds the rest ({label})"),
    )
    for direction, title in tables:
        every = result.top(None, direction=direction, max_q=0.05)
        if findings.empty or (direction == "unclear" and every.empty):
            continue
        rows = every.head(top) if top else every
        table = Table(title=title)
        for col in ("segment", "n", f"{measure} (95% CI)", "shrunk", "vs rest", "q"):
            table.add_column(col, justify="left" if col == "segment" else "right")
        for r in rows.to_dict("records"):
            ratio = f"{r['ratio']:.2f}x" if r["ratio"] == r["ratio"] else f"{r['difference']:+.2f}"
            table.add_row(
                r["segment"],
                f"{int(r['n']):,}",
                f"{shown(r['rate'])} ({shown(r['rate_lo'])}-{shown(r['rate_hi'])})",
                shown(r["shrunk_rate"]),
                ratio,
                fmt_q(r["q_value"]),
            )
        console.print(table)
        if len(every) > len(rows):
            console.print(f"{len(every) - len(rows)} more: --top 0 or --json")
    for caveat in result.caveats:
        console.print(f"[yellow]caveat:[/] {caveat}")


def register(app: typer.Typer) -> None:
    """Add ``icploop segments`` to the root app."""
    app.command("segments")(segments_command)

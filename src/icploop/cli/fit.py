"""``icploop fit``: the 90-day fit tag, overrides, the quick check and the watch list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from icploop.cli.common import (
    DEFAULT_WAIT,
    ActorOption,
    AsOfOption,
    DeadlineOption,
    JsonOption,
    WaitOption,
    WorkspaceOption,
    as_writer,
    console,
    deadline_day,
    emit_rows,
    fit_config_of,
    fit_tags_of,
    open_warehouse,
    print_json,
    settings_for,
    user_errors,
    warehouse_on,
)
from icploop.errors import IcploopError
from icploop.fit.config import SIGNAL_SOURCES, SIGNALS
from icploop.flags.overrides import override_signal
from icploop.flags.routing import load_routing
from icploop.flags.run import run_tagging
from icploop.icp.in_force import published_periods
from icploop.review.first_draft import offer
from icploop.store import fit_tags
from icploop.store.database import open_store, utcnow

#: routing warnings printed by ``fit run`` (the rest are counted; ``--json`` lists them all)
SHOWN_WARNINGS = 10

fit_app = typer.Typer(
    help="The 90-day fit tag: run, show, list, override, quick check, watch list."
)


@fit_app.command("run")
def run(
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    config: Annotated[
        Path | None,
        typer.Option(help="Fit configuration (YAML; default the workspace's fit.yaml)."),
    ] = None,
    routing: Annotated[Path | None, typer.Option(help="Flag routing rules (YAML).")] = None,
    send: Annotated[bool, typer.Option(help="Send flags for new bad fits.")] = True,
    json: JsonOption = False,
    wait: WaitOption = DEFAULT_WAIT,
) -> None:
    """Tag every account past day 90 that has no tag yet, and flag the bad fits (safe to re-run)."""
    with user_errors():
        settings = settings_for(workspace)
        store = open_store(settings)
        with store() as session:
            periods = published_periods(session)
        warehouse, day = warehouse_on(workspace, as_of)
        with as_writer(settings, "icploop fit run", wait):
            report = run_tagging(
                warehouse.backend,
                store,
                day,
                fit_config_of(workspace, config),
                load_routing(routing),
                send=send,
                icp_periods=periods,
            )
            with store() as session, session.begin():
                offered = offer(warehouse.backend, session, day, utcnow())
        if json:
            print_json(
                {
                    "as_of": report.as_of,
                    "due_accounts": report.due_accounts,
                    "tagged": report.tagged,
                    "already_tagged": report.already_tagged,
                    "watch_added": report.watch_added,
                    "flags": report.flags_sent,
                    "champion_departure_flags": report.departure_flags,
                    "warnings": sorted(set(report.warnings)),
                    "unknown_signals": report.unknown_signals,
                    "caveats": report.caveats,
                    "by_segment": report.by_segment.to_dict("records"),
                    "icp_draft": offered.to_dict() if offered else None,
                }
            )
            return
        new = sum(report.tagged.values())
        console.print(
            f"Fit run as of {report.as_of}: {report.due_accounts} accounts past day 90, "
            f"{new} newly tagged, {report.already_tagged} already tagged, "
            f"{len(report.flags_sent)} bad-fit flags raised, {report.watch_added} added to the "
            f"watch list, {len(report.departure_flags)} champion departures flagged."
        )
        print_tag_mix(report.by_segment)
        for caveat in report.caveats:
            console.print(f"[yellow]caveat:[/] {caveat}", highlight=False)
        if offered:
            console.print(offered.line(), markup=False, highlight=False)
        warnings = sorted(set(report.warnings))
        for warning in warnings[:SHOWN_WARNINGS]:
            console.print(f"[yellow]routing:[/] {warning}")
        if len(warnings) > SHOWN_WARNINGS:
            console.print(f"{len(warnings) - SHOWN_WARNINGS} more routing warnings: --json")


def print_tag_mix(by_segment: object) -> None:
    """The tag distribution by segment as a table with shares."""
    import pandas as pd

    frame = by_segment if isinstance(by_segment, pd.DataFrame) else pd.DataFrame()
    table = Table(title="Fit tags by segment")
    for column in ("segment", "accounts", "strong_fit", "near_fit", "bad_fit"):
        table.add_column(column, justify="left" if column == "segment" else "right")
    for row in frame.to_dict("records"):
        n = row["accounts"] or 1
        table.add_row(
            str(row["segment"]),
            str(row["accounts"]),
            *(f"{row[t]} ({row[t] / n:.0%})" for t in ("strong_fit", "near_fit", "bad_fit")),
        )
    console.print(table)


@fit_app.command("in-force")
def in_force(
    workspace: WorkspaceOption = None, as_of: AsOfOption = None, json: JsonOption = False
) -> None:
    """The fit tags in force on a date, as the scorecard, the forecast and the pack read them:
    where they come from (stored, computed, none) and how many of each."""
    with user_errors():
        warehouse, day = warehouse_on(workspace, as_of)
        summary = fit_tags_of(workspace, warehouse.backend, day).to_dict(day)
        if json:
            print_json(summary)
            return
        console.print(f"Fit tags in force on {day}: {summary['source']} ({summary['reason']})")
        for tag, n in summary["tags"].items():
            console.print(f"  {tag}: {n:,}")


@fit_app.command("show")
def show(account: str, workspace: WorkspaceOption = None, json: JsonOption = False) -> None:
    """The account's tag in force, its signals with their numbers, and its tag history."""
    with user_errors(), open_store(settings_for(workspace))() as session:
        tags = fit_tags.history(session, account)
        if not tags:
            warehouse = open_warehouse(workspace)
            accounts = warehouse.optional("accounts")
            if (
                accounts is None
                or not accounts.filter(accounts.account_id == account).count().execute()
            ):
                raise IcploopError(
                    f"unknown account {account!r}", "icploop fit list shows the tagged accounts"
                )
            fit_tags.current_tag(session, account)  # raises the helpful error
        if json:
            print_json({"account_id": account, "history": [fit_tags.tag_record(t) for t in tags]})
            return
        current = next(t for t in tags if t.current)
        console.print(
            f"[bold]{account}[/]: {current.tag} ({current.method}, {current.created_by}, "
            f"{current.created_at:%Y-%m-%d}); account type: {current.account_type or '-'}"
        )
        table = Table("signal", "computed", "value", "evidence", "override")
        for s in current.signals:
            evidence = ", ".join(f"{k}={v}" for k, v in (s.evidence or {}).items() if v is not None)
            if s.computed_value is None:
                evidence = f"unknown: needs {SIGNAL_SOURCES.get(s.name, 'its data')}"
            override = f"{s.overridden_by}: {s.override_reason}" if s.overridden_by else ""
            table.add_row(
                s.name, s.computed_value or "unknown", s.value or "unknown", evidence, override
            )
        console.print(table)
        if len(tags) > 1:
            console.print("History: " + " -> ".join(f"{t.tag} ({t.method})" for t in tags))


@fit_app.command("list")
def list_tags(
    workspace: WorkspaceOption = None,
    tag: Annotated[
        str | None, typer.Option(help="Only this tag: strong_fit, near_fit, bad_fit.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """The tags in force."""
    with user_errors(), open_store(settings_for(workspace))() as session:
        tags = fit_tags.list_current(session, tag)
        rows = [
            {
                "account_id": t.account_id,
                "tag": t.tag,
                "method": t.method,
                "account_type": t.account_type,
                "close_date": t.close_date,
            }
            for t in tags
        ]
        emit_rows(
            rows,
            json,
            {"account_id": "account", "tag": "tag", "method": "method",
             "account_type": "account type", "close_date": "closed"},
            "{n} account(s)",
        )  # fmt: skip


@fit_app.command("override")
def override(
    account: str,
    signal: Annotated[str, typer.Argument(help=f"One of: {', '.join(SIGNALS)}.")],
    value: Annotated[str, typer.Argument(help="strong, near or bad.")],
    reason: Annotated[str, typer.Option(help="Why the computed value is wrong (required).")],
    actor: ActorOption,
    workspace: WorkspaceOption = None,
) -> None:
    """Confirm or override one signal; the computed value and the previous tag are kept, and
    the tag is recombined with the workspace's rule (its fit.yaml)."""
    with user_errors():
        rule = fit_config_of(workspace).combination
        with open_store(settings_for(workspace))() as session, session.begin():
            tag = override_signal(session, account, signal, value, reason, actor, rule)
            console.print(f"{account}: {signal} = {value}; tag now {tag.tag}")


@fit_app.command("check")
def quick_check(
    account: str,
    actor: ActorOption,
    use_case_in_use: Annotated[bool, typer.Option(help="Is the primary use case in use?")],
    champion_same_role: Annotated[
        bool, typer.Option(help="Is the champion still in the same role?")
    ],
    competitor: Annotated[
        bool, typer.Option(help="Competitor mentioned or regret about switching?")
    ],
    workspace: WorkspaceOption = None,
) -> None:
    """The three-question quick check, recorded as the account's tag."""
    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        tag = fit_tags.quick_check(
            session, account, use_case_in_use, champion_same_role, competitor, actor
        )
        console.print(f"{account}: {tag.tag} (quick check by {actor})")


@fit_app.command("watch")
def watch(
    workspace: WorkspaceOption = None,
    as_of: DeadlineOption = None,
    all_items: Annotated[bool, typer.Option("--all", help="Also those not yet due.")] = False,
    json: JsonOption = False,
) -> None:
    """Near-fit accounts due for their 180-day review."""
    with user_errors(), open_store(settings_for(workspace))() as session:
        items = fit_tags.watch_list(session, deadline_day(as_of), due_only=not all_items)
        rows = [{"account_id": w.account_id, "due_date": w.due_date} for w in items]
        emit_rows(
            rows,
            json,
            {"account_id": "account", "due_date": "due"},
            "{n} account(s) on the watch list",
        )


def register(app: typer.Typer) -> None:
    """Add ``icploop fit`` to the root app."""
    app.add_typer(fit_app, name="fit")

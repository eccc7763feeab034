"""``icploop flags``: read, edit and send bad-fit flags; deliver the outbox; flagger credibility."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from icploop.cli.common import (
    ActorOption,
    AsOfOption,
    JsonOption,
    WorkspaceOption,
    console,
    emit_rows,
    fit_config_of,
    print_json,
    settings_for,
    user_errors,
    warehouse_on,
)
from icploop.errors import IcploopError
from icploop.flags import (
    deliver_due,
    edit_evidence,
    flagger_credibility,
    format_flag,
    load_routing,
    reclaim_expired,
    requeue,
    send_flag,
    stuck_deliveries,
)
from icploop.flags.channels import ChannelSettings, configured_channels
from icploop.flags.credibility import claims
from icploop.flags.inbox import flag_list
from icploop.flags.outbox import blocked_channels
from icploop.flags.triage import flag_history, set_flag_state
from icploop.formatting import pct
from icploop.metrics.movements import movements
from icploop.metrics.tables import CanonicalTables
from icploop.store.database import open_store, utcnow
from icploop.store.models import Flag

STUCK_COLUMNS = ("id", "flag_id", "channel", "recipient", "status", "attempts", "last_error")
flags_app = typer.Typer(
    help="Bad-fit flags: list, show, edit, send, triage, deliver, stuck deliveries."
)


@flags_app.command("list")
def list_flags(
    workspace: WorkspaceOption = None,
    status: Annotated[
        str | None,
        typer.Option(help="draft, sent or recorded (older than the backfill window, not sent)."),
    ] = None,
    state: Annotated[
        str | None, typer.Option(help="new, acknowledged or resolved (triage).")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Flags, newest first, and each channel that cannot deliver (with what waits for it)."""
    settings = settings_for(workspace)
    with user_errors(), open_store(settings)() as session:
        flags = flag_list(session, status=status, state=state)
        rows = [
            {
                "id": f.id,
                "account_id": f.account_id,
                "fit_issue": f.fit_issue,
                "status": f.status,
                "data_date": f.data_date.isoformat() if f.data_date else None,
                "state": None if f.status == "draft" else f.state,
                "state_by": f.state_by,
                "ae": f.ae,
                "csm": f.csm,
                "evidence": f.evidence,
            }
            for f in flags
        ]
        emit_rows(
            rows,
            json,
            {"id": "id", "account_id": "account", "fit_issue": "fit issue", "status": "status",
             "data_date": "data of", "state": "state", "ae": "AE", "evidence": "evidence"},
            "{n} flag(s)",
        )  # fmt: skip
        if not json:
            configured = configured_channels(ChannelSettings(), settings.workspace)
            for line in blocked_channels(session, configured):
                console.print(line, markup=False, highlight=False)


@flags_app.command("show")
def show(flag_id: int, workspace: WorkspaceOption = None) -> None:
    """One flag in the structured format it is delivered in, with its deliveries."""
    with user_errors(), open_store(settings_for(workspace))() as session:
        flag = session.get(Flag, flag_id)
        if flag is None:
            raise IcploopError(f"no flag {flag_id}", "icploop flags list shows the flags")
        console.print(format_flag(flag), markup=False, highlight=False)
        for d in flag.deliveries:
            console.print(f"  -> {d.channel}:{d.recipient} ({d.recipient_role}) {d.status}")
        for e in flag_history(session, flag.id):
            console.print(f"  {e.at:%Y-%m-%d %H:%M} {e.actor}: {e.action} {e.details or ''}",
                          markup=False, highlight=False)  # fmt: skip


@flags_app.command("edit")
def edit(
    flag_id: int,
    evidence: Annotated[str, typer.Option(help="The new 1-2 sentence evidence.")],
    actor: ActorOption,
    workspace: WorkspaceOption = None,
) -> None:
    """Edit a draft flag's evidence before it is sent."""
    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        edit_evidence(session, flag_id, evidence, actor)
        console.print(f"flag {flag_id} updated")


@flags_app.command("send")
def send(
    flag_id: int,
    actor: ActorOption,
    workspace: WorkspaceOption = None,
    routing: Annotated[Path | None, typer.Option(help="Routing rules (YAML).")] = None,
) -> None:
    """Send a draft flag: route it to the AE, the RevOps lead and the CSM's manager."""
    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        result = send_flag(session, flag_id, actor, load_routing(routing), utcnow())
        for d in result.deliveries:
            console.print(f"queued {d.channel}:{d.recipient} ({d.recipient_role})")
        for warning in result.warnings:
            console.print(f"[yellow]routing:[/] {warning}")


@flags_app.command("state")
def state_command(
    flag_id: int,
    new_state: Annotated[
        str, typer.Argument(metavar="STATE", help="new, acknowledged or resolved.")
    ],
    actor: ActorOption,
    note: Annotated[str, typer.Option(help="Why, in a sentence (kept in the history).")] = "",
    workspace: WorkspaceOption = None,
) -> None:
    """Triage a sent or recorded flag: acknowledge it, resolve it, or set it back to new."""
    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        flag = set_flag_state(session, flag_id, new_state, actor, utcnow(), note)
        console.print(f"flag {flag.id}: {flag.state} (by {actor})")


@flags_app.command("deliver")
def deliver(workspace: WorkspaceOption = None, json: JsonOption = False) -> None:
    """Deliver what is due in the outbox (webhook, email, CRM-note CSV), retrying failures later.
    Deliveries a killed run left mid-send are sent again first, with the same idempotency key."""
    with user_errors():
        settings = settings_for(workspace)
        channels = configured_channels(ChannelSettings(), settings.workspace)
        with open_store(settings)() as session:
            now = utcnow()
            reclaimed = reclaim_expired(session, now)
            run = deliver_due(session, channels, now, digest=settings.digest_channels,
                              base_url=settings.base_url)  # fmt: skip
        summary = {"reclaimed": len(reclaimed), **{k: len(v) for k, v in vars(run).items()}}
        if json:
            print_json(summary)
        else:
            console.print(", ".join(f"{k}: {v}" for k, v in summary.items()))


@flags_app.command("stuck")
def stuck(
    workspace: WorkspaceOption = None,
    reclaim: Annotated[
        bool,
        typer.Option(
            "--reclaim",
            help="Put deliveries interrupted mid-send back in the queue (sent again with the "
            "same idempotency key by the next flags deliver).",
        ),
    ] = False,
    json: JsonOption = False,
) -> None:
    """Deliveries that failed for good, or were interrupted mid-send and whose claim expired."""
    with user_errors(), open_store(settings_for(workspace))() as session:
        now = utcnow()
        if reclaim:
            taken = reclaim_expired(session, now, "cli")
            if not json:
                console.print(f"{len(taken)} interrupted deliver(ies) back in the queue")
        rows = [
            {
                "id": d.id,
                "flag_id": d.flag_id,
                "channel": d.channel,
                "recipient": d.recipient,
                "status": d.status,
                "attempts": d.attempts,
                "last_error": d.last_error,
            }
            for d in stuck_deliveries(session, now)
        ]
        emit_rows(rows, json, {k: k.replace("_", " ") for k in STUCK_COLUMNS},
                  "{n} stuck deliver(ies)")  # fmt: skip


@flags_app.command("requeue")
def requeue_delivery(
    delivery_id: int, actor: ActorOption, workspace: WorkspaceOption = None
) -> None:
    """Put a stuck delivery back in the outbox (after checking it did not go out)."""
    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        requeue(session, delivery_id, actor, utcnow())
        console.print(f"delivery {delivery_id} requeued")


def first_declines_after(
    backend: Any, flagged: dict[str, dt.date], as_of: dt.date
) -> dict[str, dt.date]:
    """Per flagged account, the first month on or after its flag with churn or contraction."""
    tables = CanonicalTables.from_backend(backend)
    mv = movements(tables.mrr_monthly, as_of)
    declines = mv.filter((mv.churn > 0) | (mv.contraction > 0)).select("account_id", "month")
    frame = declines.filter(declines.account_id.isin(list(flagged))).to_pandas()
    outcomes: dict[str, dt.date] = {}
    for account, month in frame.sort_values("month").itertuples(index=False):
        day = pd.Timestamp(month).date()
        # a decline in the month of the flag counts: MRR is measured at month end
        if account not in outcomes and day >= flagged[account].replace(day=1):
            outcomes[account] = max(day, flagged[account])
    return outcomes


@flags_app.command("credibility")
def credibility(
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    json: JsonOption = False,
) -> None:
    """Per flagger: claims (flags, and overrides across the bad-fit line) dated at their data,
    and the share borne out by what followed within 12 months."""
    with user_errors():
        settings = settings_for(workspace)
        warehouse, day = warehouse_on(workspace, as_of)
        tag_day = fit_config_of(workspace).thresholds.tag_after_days
        with open_store(settings)() as session:
            flagged: dict[str, dt.date] = {}
            for c in claims(session, tag_day):
                flagged[c.account_id] = min(flagged.get(c.account_id, c.flagged_on), c.flagged_on)
            # months after the data ends are unknown, not churned: stop at the last complete month
            last = warehouse.data_end.as_of
            outcomes = first_declines_after(warehouse.backend, flagged, min(day, last))
            scores = flagger_credibility(session, outcomes, day, last, tag_day)
        rows = [{**vars(s), "borne_out_share": s.borne_out_share} for s in scores]
        if json:
            print_json(rows)
            return
        for row in rows:
            row["share"] = pct(row["borne_out_share"])
        emit_rows(rows, False, {"flagger": "flagger", "flags": "claims", "overrides": "overrides",
                                "borne_out": "borne out", "not_borne_out": "not borne out",
                                "pending": "pending", "share": "share borne out"})  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``icploop flags`` to the root app."""
    app.add_typer(flags_app, name="flags")

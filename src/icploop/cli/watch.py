"""``icploop watch``: the near fits due for their 180-day review, marked reviewed or snoozed."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from icploop.cli.common import (
    ActorOption,
    DeadlineOption,
    JsonOption,
    WorkspaceOption,
    console,
    deadline_day,
    emit_rows,
    settings_for,
    user_errors,
)
from icploop.store import fit_tags
from icploop.store.database import open_store, utcnow

watch_app = typer.Typer(help="The 180-day watch list: list, mark reviewed, snooze, history.")
Account = Annotated[str, typer.Argument(help="The account's id.")]


@watch_app.command("list")
def list_watch(
    workspace: WorkspaceOption = None,
    as_of: DeadlineOption = None,
    all_items: Annotated[
        bool, typer.Option("--all", help="Also those not yet due or snoozed.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Near-fit accounts due for their review (not reviewed, not snoozed past the day)."""
    with user_errors(), open_store(settings_for(workspace))() as session:
        items = fit_tags.watch_list(session, deadline_day(as_of), due_only=not all_items)
        rows = [
            {"account_id": w.account_id, "due_date": w.due_date, "snoozed_until": w.snoozed_until}
            for w in items
        ]
        emit_rows(rows, json, {"account_id": "account", "due_date": "due",
                               "snoozed_until": "snoozed until"},
                  "{n} account(s) on the watch list")  # fmt: skip


@watch_app.command("review")
def review(
    account: Account,
    outcome: Annotated[str, typer.Option(help="What the review found, in a sentence.")],
    actor: ActorOption,
    workspace: WorkspaceOption = None,
) -> None:
    """Mark an account's 180-day review done, with its outcome."""
    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        fit_tags.review_watch(session, account, outcome, actor, utcnow())
        console.print(f"{account}: reviewed by {actor}", markup=False, highlight=False)


@watch_app.command("snooze")
def snooze(
    account: Account,
    until: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="Due again on.")],
    reason: Annotated[str, typer.Option(help="Why it can wait, in a sentence.")],
    actor: ActorOption,
    workspace: WorkspaceOption = None,
) -> None:
    """Keep an account off the due list until a later day."""
    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        fit_tags.snooze_watch(session, account, until.date(), reason, actor, utcnow())
        console.print(f"{account}: snoozed until {until.date()} by {actor}", markup=False,
                      highlight=False)  # fmt: skip


@watch_app.command("history")
def history(account: Account, workspace: WorkspaceOption = None, json: JsonOption = False) -> None:
    """Every review and snooze of the account's watch-list entries, oldest first."""
    with user_errors(), open_store(settings_for(workspace))() as session:
        rows = [
            {"at": e.at.isoformat(timespec="minutes"), "by": e.actor,
             "what": e.action.removeprefix("watch."),
             "detail": e.details.get("outcome") or
             f"until {e.details.get('until')}: {e.details.get('reason')}"}
            for e in fit_tags.watch_history(session, account)
        ]  # fmt: skip
        emit_rows(rows, json, {"at": "at", "by": "by", "what": "what", "detail": "detail"},
                  "{n} change(s)")  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``icploop watch`` to the root app."""
    app.add_typer(watch_app, name="watch")

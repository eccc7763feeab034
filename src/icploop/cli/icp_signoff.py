"""``icploop icp`` sign-off: approvals, objections and their answers, the teams' signers, and the
notices the ICP loop owes people."""

from __future__ import annotations

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
    print_json,
    settings_for,
    user_errors,
)
from icploop.errors import IcploopError
from icploop.icp import signoff, versions
from icploop.icp.document import IcpContent
from icploop.store.database import open_store, utcnow

signoff_app = typer.Typer()


@signoff_app.command("approve")
def approve(
    number: int,
    actor: ActorOption,
    comment: Annotated[str, typer.Option(help="Anything the record should keep.")] = "",
    workspace: WorkspaceOption = None,
) -> None:
    """Approve a draft for your team (RevOps, CS, Sales or Marketing)."""
    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        row = signoff.approve(session, number, actor, utcnow(), comment)
        state = signoff.readiness(row.version)
        console.print(f"version {number}: {row.role} approved ({actor})")
        _print_missing(state)


@signoff_app.command("object")
def object_(
    number: int,
    actor: ActorOption,
    criterion: Annotated[
        str, typer.Option(help="The line objected to, as `icp signoff` lists it.")
    ],
    comment: Annotated[str, typer.Option(help="What is wrong with it.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Object to one criterion of a draft, with a comment RevOps answers in the record."""
    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        row = signoff.object_to(session, number, actor, utcnow(), criterion, comment)
        console.print(f"objection {row.id} by {row.role} to {criterion!r} recorded")
        if row.standing == "member":
            console.print(
                f"(a member's objection is answered in the record; {row.role}'s word is its "
                "lead's or a named signer's)"
            )


@signoff_app.command("signers")
def signers_command(
    team: Annotated[str, typer.Argument(help="revops, cs, sales or marketing.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Name this person to sign for the team.")
    ] = None,
    unname: Annotated[
        str | None, typer.Option("--unname", help="Take back this person's naming.")
    ] = None,
    actor: Annotated[
        str | None, typer.Option("--as", help="The team's lead (or an admin), to name or unname.")
    ] = None,
    workspace: WorkspaceOption = None,
    json: JsonOption = False,
) -> None:
    """Who signs ICP drafts for a team: its lead, and the people the lead names."""
    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        if (name or unname) and not actor:
            raise IcploopError("naming a signer needs --as (the team's lead)")
        if name and actor:
            signoff.name_signer(session, team, name, actor, utcnow())
        if unname and actor:
            signoff.unname_signer(session, team, unname, actor, utcnow())
        session.flush()
        rows = [{"person_id": r.person_id, "named_by": r.named_by,
                 "named_at": r.named_at.date().isoformat()}
                for r in signoff.signers(session, team)]  # fmt: skip
    if json:
        print_json({"team": team, "leads": list(signoff.TEAM_LEADS[team]), "named": rows})
        return
    console.print(f"{team}: led by the role(s) {', '.join(signoff.TEAM_LEADS[team])}")
    emit_rows(rows, False, {"person_id": "named signer", "named_by": "named by",
                            "named_at": "on"}, footer="{n} named")  # fmt: skip


@signoff_app.command("answer")
def answer(
    objection: Annotated[int, typer.Argument(help="The objection's id.")],
    actor: ActorOption,
    text: Annotated[str, typer.Option(help="The answer.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Answer an objection (RevOps)."""
    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        row = signoff.answer(session, objection, actor, utcnow(), text)
        console.print(f"objection {row.id} answered; {row.role} can now approve or object again")


def _print_missing(state: signoff.Readiness) -> None:
    if state.ready:
        console.print("every required team approved: the version can be published")
    else:
        console.print(f"still needed: {', '.join(state.missing)}")


@signoff_app.command("signoff")
def signoff_status(
    number: int, workspace: WorkspaceOption = None, json: JsonOption = False
) -> None:
    """Who approved a version, the objections and their answers, and what is still needed."""
    with user_errors(), open_store(settings_for(workspace))() as session:
        record = versions.get_version(session, number)
        state = signoff.readiness(record)
        rows = [
            {"id": s.id, "team": s.role, "person": s.person_id, "decision": s.decision,
             "criterion": s.criterion, "comment": s.comment, "answer": s.answer,
             "answered_by": s.answered_by, "at": s.created_at}
            for s in record.signoffs
        ]  # fmt: skip
        if json:
            print_json({"version": number, "status": record.status,
                        "required": list(state.required), "missing": list(state.missing),
                        "ready": state.ready, "override": record.publish_override,
                        "lines": signoff.criteria_of(IcpContent.model_validate(record.content)),
                        "signoffs": rows})  # fmt: skip
            return
        console.print(
            f"version {number} ({record.status}); required: {', '.join(state.required) or 'none'}"
        )
        for line in signoff.criteria_of(IcpContent.model_validate(record.content)):
            console.print(f"  - {line}", markup=False, highlight=False)
        for r in rows:
            said = (
                f"objects to {r['criterion']!r}: {r['comment']}"
                if r["decision"] == "object"
                else "approves"
            )
            answered = f" (answered by {r['answered_by']}: {r['answer']})" if r["answer"] else ""
            console.print(
                f"  #{r['id']} {r['team']} ({r['person']}) {said}{answered}",
                markup=False,
                highlight=False,
            )
        _print_missing(state)


@signoff_app.command("notify")
def notify(
    channel: Annotated[str, typer.Option(help="email or webhook.")] = "email",
    as_of: DeadlineOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Send what the ICP loop owes people: notices of overdue implementation steps, and to each
    team a version was published without, the override and its reason (each once)."""
    from icploop.flags.channels import ChannelSettings, configured_channels
    from icploop.icp.notify import notify_overdue, notify_overrides

    with user_errors():
        settings = settings_for(workspace)
        channels = configured_channels(ChannelSettings(), settings.workspace)
        if channel not in ("email", "webhook") or channel not in channels:
            raise IcploopError(
                f"the {channel} channel is not configured",
                "set ICPLOOP_SMTP_HOST (email) or ICPLOOP_WEBHOOK_URL (webhook)",
            )
        sender = channels[channel]
        with open_store(settings)() as session, session.begin():
            now = utcnow()
            steps = notify_overdue(session, sender, deadline_day(as_of), now)
            overrides = notify_overrides(session, sender, now)
        for label, result in (("overdue steps", steps), ("override notices", overrides)):
            console.print(
                f"{label}: {len(result.notified)} sent, {len(result.failed)} failed, "
                f"{len(result.skipped)} with nobody to send to",
                highlight=False,
            )
            for key, why in result.failed:
                console.print(f"  [yellow]{key}[/]: {why}", highlight=False)


def extend(icp_app: typer.Typer) -> None:
    """Add the sign-off commands to ``icploop icp``."""
    icp_app.add_typer(signoff_app)

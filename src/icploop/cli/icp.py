"""``icploop icp``: the versioned ICP document and its implementation tracker."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from icploop.cli.common import (
    ActorOption,
    AsOfOption,
    DeadlineOption,
    JsonOption,
    WorkspaceOption,
    console,
    data_as_of,
    deadline_day,
    emit_rows,
    open_warehouse,
    print_json,
    settings_for,
    user_errors,
)
from icploop.errors import IcploopError
from icploop.icp import signoff, versions
from icploop.icp.document import IcpContent, account_kinds
from icploop.icp.micro_review import nrr_drops
from icploop.icp.outcomes import measure_versions, versions_frame
from icploop.icp.versions import STEPS
from icploop.safe_yaml import read_bounded
from icploop.segments.outcomes import account_outcomes
from icploop.store.database import open_store, utcnow

icp_app = typer.Typer(help="The ICP document: versions, diff, YAML, publish, implementation steps.")


@icp_app.command("list")
def list_versions(workspace: WorkspaceOption = None, json: JsonOption = False) -> None:
    """Every version with its status, who published it and when it came into force."""
    with user_errors(), open_store(settings_for(workspace))() as session:
        rows = [
            {
                "number": v.number,
                "status": v.status,
                "created_by": v.created_by,
                "published_by": v.published_by,
                "in_force_from": v.effective_date,
                "criteria": len(v.content.get("criteria", [])),
            }
            for v in versions.list_versions(session)
        ]
        emit_rows(
            rows,
            json,
            {"number": "version", "status": "status", "created_by": "created by",
             "published_by": "published by", "in_force_from": "in force from",
             "criteria": "criteria"},
        )  # fmt: skip


@icp_app.command("show")
def show(number: int, workspace: WorkspaceOption = None) -> None:
    """A version's content as YAML."""
    with user_errors(), open_store(settings_for(workspace))() as session:
        console.print(versions.export_yaml(session, number), markup=False, highlight=False)


@icp_app.command("export")
def export(number: int, out: Path, workspace: WorkspaceOption = None) -> None:
    """Write a version's content to a YAML file."""
    with user_errors(), open_store(settings_for(workspace))() as session:
        out.write_text(versions.export_yaml(session, number))
        console.print(f"wrote {out}")


@icp_app.command("import")
def import_(path: Path, actor: ActorOption, workspace: WorkspaceOption = None) -> None:
    """Create a draft version from a YAML file."""
    with user_errors():
        text = read_bounded(path, "ICP document")
        backend = open_warehouse(workspace).backend
        kinds = account_kinds(backend)
        backend.disconnect()
    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        record = versions.import_yaml(session, text, str(path), actor, utcnow(), kinds)
        console.print(f"draft version {record.number} created from {path}")


@icp_app.command("diff")
def diff(old: int, new: int, workspace: WorkspaceOption = None, json: JsonOption = False) -> None:
    """What changed between two versions."""
    with user_errors(), open_store(settings_for(workspace))() as session:
        changes = versions.version_diff(session, old, new)
        if json:
            print_json(changes)
            return
        if not changes:
            console.print(f"versions {old} and {new} say the same")
        for part, change in changes.items():
            for item in change["added"]:
                console.print(f"[green]+ {part}: {item}[/]")
            for item in change["removed"]:
                console.print(f"[red]- {part}: {item}[/]")


@icp_app.command("publish")
def publish(
    number: int,
    actor: ActorOption,
    workspace: WorkspaceOption = None,
    effective: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="In force from (default today)."),
    ] = None,
    override: Annotated[
        str | None,
        typer.Option(help="Publish without every team's approval, for this recorded reason."),
    ] = None,
) -> None:
    """Publish a draft (RevOps) once every required team approved: it comes into force and the
    implementation clock starts."""
    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        record = versions.publish(
            session, number, actor, utcnow(), effective.date() if effective else None, override
        )
        console.print(f"version {number} published, in force from {record.effective_date}")
        if record.publish_override:
            console.print(f"[yellow]published without every approval:[/] {record.publish_override}")
        for step in record.steps:
            console.print(f"  {step.step} ({step.owner_role}) due {step.due_date}")


@icp_app.command("delete")
def delete(number: int, actor: ActorOption, workspace: WorkspaceOption = None) -> None:
    """Delete a draft version (who drafted it, RevOps or an admin); the audit log keeps what it
    said and its number is not given again."""
    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        versions.delete_draft(session, number, actor, utcnow())
        console.print(f"draft version {number} deleted")


@icp_app.command("approve")
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


@icp_app.command("object")
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


@icp_app.command("signers")
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


@icp_app.command("notify")
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


@icp_app.command("answer")
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


@icp_app.command("signoff")
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


@icp_app.command("step")
def step(
    number: int,
    name: Annotated[str, typer.Argument(help=", ".join(s.step for s in STEPS))],
    actor: ActorOption,
    note: Annotated[str, typer.Option(help="E.g. the timeline Marketing commits to.")] = "",
    workspace: WorkspaceOption = None,
) -> None:
    """Record an implementation step: circulate, marketing_timeline or cs_acknowledge."""
    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        versions.record_step(session, number, name, actor, utcnow(), note)
        console.print(f"version {number}: {name} recorded by {actor}")


@icp_app.command("status")
def status(
    workspace: WorkspaceOption = None,
    as_of: DeadlineOption = None,
    json: JsonOption = False,
) -> None:
    """The version in force on the day, its implementation steps, and every step past due."""
    from icploop.icp.in_force import rules_in_force
    from icploop.review.first_draft import open_draft

    day = deadline_day(as_of)
    with user_errors(), open_store(settings_for(workspace))() as session:
        number = rules_in_force(session, day).version
        current = versions.get_version(session, number) if number is not None else None
        overdue = versions.overdue_steps(session, day)
        payload: dict[str, Any] = {
            "as_of": day,
            "in_force": current.number if current else None,
            "steps": [
                {
                    "step": s.step,
                    "owner": s.owner_role,
                    "due": s.due_date,
                    "done_by": s.done_by,
                    "done_at": s.done_at,
                }
                for s in (current.steps if current else [])
            ],
            "overdue": [
                {
                    "version": s.version.number,
                    "step": s.step,
                    "owner": s.owner_role,
                    "due": s.due_date,
                }
                for s in overdue
            ],
        }
        if json:
            print_json(payload)
            return
        if current is None:
            waiting = open_draft(session)
            console.print(
                f"no ICP version is in force on {day}; "
                + (
                    f"draft version {waiting.version} waits: publish it with "
                    f"`icploop icp publish {waiting.version}`"
                    if waiting
                    else "`icploop fit run` drafts one from the evidence"
                ),
                markup=False,
                highlight=False,
            )
        else:
            console.print(f"ICP version {current.number} in force since {current.effective_date}")
            for s in payload["steps"]:
                done = f"done by {s['done_by']}" if s["done_by"] else f"due {s['due']}"
                console.print(f"  {s['step']} ({s['owner']}): {done}")
        for s in payload["overdue"]:
            console.print(
                f"[red]overdue:[/] version {s['version']} {s['step']} ({s['owner']}), due {s['due']}"
            )


@icp_app.command("in-force")
def in_force(
    workspace: WorkspaceOption = None, as_of: AsOfOption = None, json: JsonOption = False
) -> None:
    """The ICP criteria and do-not-close rules in force on a date, and where they come from
    (a published version, else the fit configuration's default criteria)."""
    from icploop.icp.in_force import rules_in_force

    with user_errors():
        day = data_as_of(open_warehouse(workspace), as_of)
        with open_store(settings_for(workspace))() as session:
            rules = rules_in_force(session, day)
        if json:
            print_json(rules.to_dict())
            return
        console.print(f"ICP rules in force on {day}: {rules.source}")
        for name, found in (("criteria", rules.criteria), ("do not close", rules.do_not_close)):
            console.print(f"{name}: {', '.join(r.describe() for r in found) or 'none'}")


@icp_app.command("outcomes")
def outcomes(
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    json: JsonOption = False,
) -> None:
    """Did each published change work? Later cohorts against earlier ones, with intervals."""
    with user_errors():
        settings = settings_for(workspace)
        warehouse = open_warehouse(workspace)
        day = data_as_of(warehouse, as_of)
        frame = account_outcomes(warehouse.tables, day)
        with open_store(settings)() as session:
            results = measure_versions(session, frame, day)
        table = versions_frame(results)
        if json:
            print_json(
                {
                    "as_of": day,
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


@icp_app.command("micro-review")
def micro_review(
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    json: JsonOption = False,
) -> None:
    """Is a monthly micro-review due (cohort NRR fell more than 2 points in the last quarter)?"""
    with user_errors():
        warehouse = open_warehouse(workspace)
        drops = nrr_drops(warehouse.tables, data_as_of(warehouse, as_of))
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


def register(app: typer.Typer) -> None:
    """Add ``icploop icp`` to the root app."""
    app.add_typer(icp_app, name="icp")

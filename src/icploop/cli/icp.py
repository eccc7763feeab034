"""``icploop icp``: the versioned ICP document and its implementation tracker.

The group's sign-off commands live in ``cli.icp_signoff`` and its measurements in
``cli.icp_outcomes``; ``cli.main`` adds them to this group.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from icploop.cli.common import (
    ActorOption,
    AsOfOption,
    JsonOption,
    WorkspaceOption,
    console,
    data_as_of,
    deadline_day,
    emit_rows,
    fit_config_of,
    open_warehouse,
    print_json,
    settings_for,
    user_errors,
)
from icploop.icp import versions
from icploop.icp.document import account_kinds
from icploop.icp.versions import STEPS
from icploop.safe_yaml import read_bounded
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


StatusAsOfOption = Annotated[
    dt.datetime | None,
    typer.Option(
        "--as-of",
        formats=["%Y-%m-%d"],
        help="The day to judge at (default: the version in force on the last day of the last "
        "complete month of data, as icploop icp in-force names it, and the steps overdue today).",
    ),
]


@icp_app.command("status")
def status(
    workspace: WorkspaceOption = None,
    as_of: StatusAsOfOption = None,
    json: JsonOption = False,
) -> None:
    """The version in force (on the data's default as-of date, as every surface names it), its
    implementation steps, and every step past due (deadlines run on the calendar: today). One
    --as-of day sets both."""
    from icploop.icp.in_force import rules_in_force
    from icploop.review.first_draft import open_draft

    with user_errors():
        day = data_as_of(open_warehouse(workspace), as_of)
        deadlines = deadline_day(as_of)
        fallback = fit_config_of(workspace).icp_criteria
        with open_store(settings_for(workspace))() as session:
            number = rules_in_force(session, day, fallback).version
            current = versions.get_version(session, number) if number is not None else None
            overdue = versions.overdue_steps(session, deadlines)
            waiting = open_draft(session) if current is None else None
            payload: dict[str, Any] = {
                "as_of": day,
                "deadlines_on": deadlines,
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
        fallback = fit_config_of(workspace).icp_criteria
        with open_store(settings_for(workspace))() as session:
            rules = rules_in_force(session, day, fallback)
        if json:
            print_json(rules.to_dict())
            return
        console.print(f"ICP rules in force on {day}: {rules.source}")
        for name, found in (("criteria", rules.criteria), ("do not close", rules.do_not_close)):
            console.print(f"{name}: {', '.join(r.describe() for r in found) or 'none'}")


def register(app: typer.Typer) -> None:
    """Add ``icploop icp`` to the root app."""
    app.add_typer(icp_app, name="icp")

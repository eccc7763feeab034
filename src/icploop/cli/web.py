"""``icploop serve`` (the web app) and ``icploop user`` (web users and API tokens).

uvicorn loads the app by its import string (the app reads its workspace from the environment);
passwords and tokens are made by ``icploop.web.auth``, the same code the web app verifies with.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from icploop.cli.common import (
    JsonOption,
    WorkspaceOption,
    console,
    emit_rows,
    settings_for,
    user_errors,
)
from icploop.errors import IcploopError
from icploop.ingest.schema import ROLES
from icploop.store import Session
from icploop.store.audit import audit
from icploop.store.database import open_store, utcnow
from icploop.store.models import Person
from icploop.store.people import by_login, save_login
from icploop.store.tokens import end_tokens
from icploop.web.auth import (
    check_password_strength,
    create_token,
    hash_password,
    revoke_token,
    tokens_of,
)

user_app = typer.Typer(help="Web users: add or update a user; make, list and revoke API tokens.")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    schedule: Annotated[
        str | None,
        typer.Option(
            "--schedule",
            help='Also run the daily loop (icploop run) on this cron expression, e.g. "0 6 * * *" '
            "for 06:00 every day (server time); new files come from ICPLOOP_INBOX.",
        ),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Serve the web app and the REST API over the workspace."""
    import uvicorn

    settings = settings_for(workspace)
    # the app reads its workspace from the environment, like every other setting
    os.environ["ICPLOOP_WORKSPACE"] = str(settings.workspace.resolve())
    if schedule:
        from icploop.web.schedule import cron_trigger

        with user_errors():
            cron_trigger(schedule)
        os.environ["ICPLOOP_SCHEDULE"] = schedule
        console.print(f"the daily run is scheduled at {schedule!r} (cron, server time)")
    console.print(f"icploop serving on http://{host}:{port} (Ctrl+C to stop)")
    uvicorn.run(
        "icploop.web.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
    )


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Repeat the password", hide_input=True) != first:
        raise IcploopError("the two passwords differ", "run the command again")
    return str(first)


@user_app.command("add")
def add(
    email: str,
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Create or update a person who can log in (an existing person keeps their id)."""
    with user_errors():
        if role not in ROLES:
            raise IcploopError(f"unknown role {role!r}", f"use one of {', '.join(ROLES)}")
        password = _read_password(password_stdin)
        check_password_strength(password)
        store = open_store(settings_for(workspace))
        with store() as session, session.begin():
            now = utcnow()
            person, previous = save_login(
                session, email, role, now, name=name, password_hash=hash_password(password)
            )
            created = previous is None
            if previous is not None and previous != role:
                end_tokens(session, person.person_id, "role changed", "cli", now)
            audit(
                session,
                actor="cli",
                action="user.created" if created else "user.updated",
                object_type="person",
                object_id=person.person_id,
                details={"role": role, "password_set": True},
            )
        console.print(f"{'created' if created else 'updated'} {email} ({role})")


def _person(session: Session, email: str) -> Person:
    person = by_login(session, email)
    if person is None:
        raise IcploopError(f"no person {email!r}", "add them first: icploop user add")
    return person


@user_app.command("token")
def token(
    email: str,
    name: Annotated[str, typer.Option(help="What the token is for, e.g. 'crm sync'.")],
    days: Annotated[
        int | None,
        typer.Option(help="Days the token lasts (default $ICPLOOP_TOKEN_DAYS, else 90).", min=1),
    ] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Allow only what changes nothing.")
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Create an API token for a person; it is printed once and cannot be shown again. It
    expires, and ends when the person is deactivated or changes role."""
    with user_errors():
        settings = settings_for(workspace)
        store = open_store(settings)
        with store() as session, session.begin():
            person = _person(session, email)
            value = create_token(session, person.person_id, name, "cli",
                                 days or settings.token_days, read_only)  # fmt: skip
        typer.echo(value)


@user_app.command("tokens")
def tokens(email: str, workspace: WorkspaceOption = None, json: JsonOption = False) -> None:
    """A person's API tokens: id, name, scope, made, expires, last used, state."""
    with user_errors(), open_store(settings_for(workspace))() as session:
        rows = [
            {"id": row.id, "name": row.name, "scope": row.scope,
             "created": row.created_at.date().isoformat(),
             "expires": row.expires_at.date().isoformat() if row.expires_at else None,
             "last_used": row.last_used_at.isoformat(timespec="minutes") if row.last_used_at
             else None, "state": state}
            for row, state in tokens_of(session, _person(session, email).person_id)
        ]  # fmt: skip
    emit_rows(rows, json, {"id": "id", "name": "name", "scope": "scope", "created": "made",
                           "expires": "expires", "last_used": "last used", "state": "state"},
              footer="{n} tokens")  # fmt: skip


@user_app.command("revoke")
def revoke(token_id: int, workspace: WorkspaceOption = None) -> None:
    """Revoke an API token by its id (see icploop user tokens); it stays listed as revoked."""
    with user_errors(), open_store(settings_for(workspace))() as session, session.begin():
        row = revoke_token(session, token_id, "cli")
        console.print(f"token {token_id} ({row.name}) of {row.person_id} revoked", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``icploop serve`` and ``icploop user`` to the root app."""
    app.command("serve")(serve)
    app.add_typer(user_app, name="user")

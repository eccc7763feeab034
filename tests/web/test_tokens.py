"""API tokens are managed: listed and revoked on the command line, the web and the API; they
expire, end when their person is deactivated or changes role, and may be read-only."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select
from typer.testing import CliRunner

from icploop.cli.main import app
from icploop.flags.people import sync_people
from icploop.store.database import utcnow
from icploop.store.models import ApiToken, AuditEvent, Person
from icploop.web.auth import create_token, token_hash

from .conftest import WebWorld

runner = CliRunner()


def _cli(web: WebWorld, *args: str) -> str:
    result = runner.invoke(app, [*args, "--workspace", str(web.workspace)])
    assert result.exit_code == 0, result.output
    return result.output


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _new_token(web: WebWorld, role: str, **kwargs: object) -> str:
    with web.store() as session, session.begin():
        person_id = session.scalars(
            select(Person.person_id).where(Person.email == web.people[role])
        ).one()
        return create_token(session, person_id, "test", "tests", **kwargs)  # type: ignore[arg-type]


def test_tokens_are_listed_and_revoked_on_the_command_line(web: WebWorld) -> None:
    email = web.people["ae"]
    token = _cli(web, "user", "token", email, "--name", "crm sync", "--days", "30").strip()
    client = web.client()
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    listed = json.loads(_cli(web, "user", "tokens", email, "--json"))
    mine = next(t for t in listed if t["name"] == "crm sync")
    assert mine["state"] == "active" and mine["scope"] == "full"
    assert mine["expires"] == (dt.date.today() + dt.timedelta(days=30)).isoformat()
    assert mine["last_used"] is not None
    assert "revoked" in _cli(web, "user", "revoke", str(mine["id"]))
    refused = client.get("/api/v1/me", headers=_bearer(token))
    assert refused.status_code == 401 and "expire" in refused.json()["error"]["message"]
    again = json.loads(_cli(web, "user", "tokens", email, "--json"))
    assert next(t for t in again if t["id"] == mine["id"])["state"] == "revoked"
    missing = runner.invoke(app, ["user", "revoke", "999999", "--workspace", str(web.workspace)])
    assert missing.exit_code == 1 and "no API token 999999" in missing.output


def test_a_token_expires(web: WebWorld) -> None:
    token = _new_token(web, "csm", days=1)
    client = web.client()
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    with web.store() as session, session.begin():
        row = session.scalars(
            select(ApiToken).where(ApiToken.token_hash == token_hash(token))
        ).one()
        row.expires_at = utcnow() - dt.timedelta(seconds=1)
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 401


def test_a_role_change_or_deactivation_ends_every_token_for_good(web: WebWorld) -> None:
    """The org table moves a person to another role, then back: the old token stays dead;
    another person leaves the org table: their token ends too."""
    client = web.client()
    with web.store() as session, session.begin():
        people = {p.person_id: p for p in session.scalars(select(Person))}
        rows = [
            {"person_id": p.person_id, "name": p.name, "email": p.email, "role": p.role,
             "manager_id": p.manager_id}
            for p in people.values() if p.source == "org"
        ]  # fmt: skip
        movers = [r for r in rows if r["role"] == "ae" and r["email"] != web.people["ae"]][:2]
        mover, leaver = movers[0]["person_id"], movers[1]["person_id"]
        tokens = {pid: create_token(session, pid, "t", "tests") for pid in (mover, leaver)}
    for token in tokens.values():
        assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    moved = [{**r, "role": "sales_manager"} if r["person_id"] == mover else r for r in rows]
    moved = [r for r in moved if r["person_id"] != leaver]
    with web.store() as session, session.begin():
        sync_people(session, moved)
    with web.store() as session, session.begin():
        sync_people(session, rows)  # the mover's old role back, the leaver back
    for pid, token in tokens.items():
        assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 401, pid
    with web.store() as session:
        reasons = {
            e.details["person_id"]: e.details["reason"]
            for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "token.revoked"))
        }
    assert reasons[mover] == "role changed" and reasons[leaver] == "deactivated"


def test_a_read_only_token_reads_but_changes_nothing(web: WebWorld) -> None:
    token = _new_token(web, "revops", read_only=True)
    client = web.client()
    assert client.get("/api/v1/icp/versions", headers=_bearer(token)).status_code == 200
    refused = client.post("/api/v1/icp/versions", headers=_bearer(token), json={"yaml": "{}"})
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "this API token is read-only"
    own = client.get("/api/v1/tokens", headers=_bearer(token)).json()
    assert {t["scope"] for t in own} >= {"read"}
    assert (
        client.delete(f"/api/v1/tokens/{own[0]['id']}", headers=_bearer(token)).status_code == 403
    )


def test_on_the_web_each_person_manages_their_own_tokens_and_an_admin_everyones(
    web: WebWorld,
) -> None:
    client, csrf = web.login("marketing")
    made = client.post("/tokens", data={"name": "sheet", "days": "7", "csrf_token": csrf})
    assert made.status_code == 200
    value = made.text.split("copy it now): <code>")[1].split("</code>")[0]
    assert client.get("/api/v1/me", headers=_bearer(value)).json()["role"] == "marketing"
    with web.store() as session:
        row = session.scalars(
            select(ApiToken).where(ApiToken.token_hash == token_hash(value))
        ).one()
        other = session.scalars(
            select(ApiToken.id).where(ApiToken.person_id != row.person_id)
        ).first()
    page = client.get("/tokens").text
    assert "sheet" in page and f"/tokens/{other}/revoke" not in page
    # another person's token is not there to revoke, on the page or the API
    assert client.post(f"/tokens/{other}/revoke", data={"csrf_token": csrf}).status_code == 404
    assert web.client().delete(f"/api/v1/tokens/{other}",
                               headers=_bearer(value)).status_code == 404  # fmt: skip
    admin, admin_csrf = web.login("admin")
    assert f"/tokens/{row.id}/revoke" in admin.get("/tokens").text
    gone = admin.post(f"/tokens/{row.id}/revoke", data={"csrf_token": admin_csrf},
                      follow_redirects=False)  # fmt: skip
    assert gone.status_code == 303
    assert web.client().get("/api/v1/me", headers=_bearer(value)).status_code == 401
    listed = web.client().get("/api/v1/tokens", headers=web.bearer("admin")).json()
    assert next(t for t in listed if t["id"] == row.id)["state"] == "revoked"

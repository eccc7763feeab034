"""Logging in, sessions, CSRF, API tokens and the secret key."""

from __future__ import annotations

import datetime as dt
import stat

from sqlalchemy import select

from icploop.store.models import ApiToken
from icploop.web.auth import SECRET_FILE, revoke_token, token_hash

from .conftest import PASSWORD, WebWorld, csrf_of


def test_a_person_logs_in_with_the_right_password_and_not_with_a_wrong_one(web: WebWorld) -> None:
    client = web.client()
    csrf = csrf_of(client.get("/login").text)
    wrong = client.post(
        "/login",
        data={"email": web.people["csm"], "password": "not-the-password", "csrf_token": csrf},
    )
    assert wrong.status_code == 401 and "Wrong email or password" in wrong.text
    assert client.get("/", follow_redirects=False).status_code == 303
    right = client.post(
        "/login",
        data={"email": web.people["csm"], "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert right.status_code == 303
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/").status_code == 200


def test_login_refuses_a_next_address_on_another_site(web: WebWorld) -> None:
    client = web.client()
    csrf = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": web.people["csm"], "password": PASSWORD, "csrf_token": csrf,
              "next": "//evil.example/"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.headers["location"] == "/"


def test_a_post_without_the_csrf_token_is_refused(web: WebWorld) -> None:
    client, _ = web.login("csm")
    url = f"/accounts/{web.csm_account}/tag/override"
    form = {"signal": "champion_stability", "value": "bad", "reason": "left the company"}
    assert client.post(url, data=form, follow_redirects=False).status_code == 403
    assert client.post(url, data={**form, "csrf_token": "forged"}).status_code == 403
    login = web.client().post("/login", data={"email": web.people["csm"], "password": PASSWORD})
    assert login.status_code == 403


def test_logging_out_ends_the_session_on_the_server_too(web: WebWorld) -> None:
    """A copy of the session cookie taken before logout (another tab, a stolen cookie) is refused
    afterwards; logging in again gives a working session."""
    client, csrf = web.login("ae")
    stolen = web.client()
    stolen.cookies.update(client.cookies)
    assert stolen.get("/", follow_redirects=False).status_code == 200
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert stolen.get("/", follow_redirects=False).status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303
    again, _ = web.login("ae")
    assert again.get("/").status_code == 200


def test_an_api_token_works_and_a_revoked_one_does_not(web: WebWorld) -> None:
    client = web.client()
    me = client.get("/api/v1/me", headers=web.bearer("marketing"))
    assert me.status_code == 200 and me.json()["role"] == "marketing"
    with web.store() as session, session.begin():
        row = session.scalars(
            select(ApiToken).where(ApiToken.token_hash == token_hash(web.tokens["marketing"]))
        ).one()
        assert row.last_used_at is not None
        revoke_token(session, row.id, "tests")
    refused = client.get("/api/v1/me", headers=web.bearer("marketing"))
    assert refused.status_code == 401
    assert set(refused.json()["error"]) == {"message", "hint"}
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_the_secret_key_is_kept_in_the_workspace_readable_by_its_owner_only(web: WebWorld) -> None:
    mode = (web.workspace / SECRET_FILE).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_a_busy_token_records_its_use_once_a_minute_not_on_every_request(web: WebWorld) -> None:
    headers = web.bearer("revops")
    digest = token_hash(web.tokens["revops"])

    def last_used() -> dt.datetime | None:
        with web.store() as session:
            row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).one()
            return row.last_used_at

    client = web.client()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    first = last_used()
    assert first is not None
    for _ in range(3):
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert last_used() == first
    with web.store() as session, session.begin():
        row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).one()
        row.last_used_at = first - dt.timedelta(minutes=5)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert last_used() > first  # type: ignore[operator]

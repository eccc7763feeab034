"""Logging in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from icploop.store.audit import audit
from icploop.store.models import Person
from icploop.store.people import by_login
from icploop.web.auth import csrf_ok, verify_hash
from icploop.web.deps import DB, User, web_state
from icploop.web.routes.common import page_router
from icploop.web.state import WebState
from icploop.web.throttle import Busy, Refusal

public = APIRouter(include_in_schema=False)
router = page_router()


def _safe_next(target: str | None) -> str:
    # only a local path: never send the browser to another site after login
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _form(request: Request, error: str = "", status: int = 200, next_: str = "/") -> Response:
    sessions = web_state(request).sessions
    data = sessions.anonymous(request)
    response = web_state(request).templates.TemplateResponse(
        request,
        "login.html",
        {"user": None, "csrf": data.csrf, "error": error, "next": _safe_next(next_)},
        status_code=status,
    )
    sessions.write(request, response, data)
    return response


@public.get("/login", name="login_form", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    """The login form (sets an anonymous session holding its CSRF token)."""
    return _form(request, next_=next)


def _account_key(email: str) -> str:
    """The throttle's key for what was typed: trimmed, lower-cased, bounded."""
    return email.strip().lower()[:320]


def _printable(text: str, limit: int = 120) -> str:
    """Attacker-chosen text made safe for the audit log: no control characters, bounded."""
    clean = "".join(c if c.isprintable() else "?" for c in text.strip())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _find(state: WebState, email: str) -> tuple[str | None, str | None]:
    """The person id and password hash of an active login named by ``email`` (or id)."""
    with state.store() as session:
        person = by_login(session, email.strip())
        if person is None or not person.active:
            return None, None
        return person.person_id, person.password_hash


def _record(state: WebState, email: str, address: str, person_id: str | None,
            locked: list[str]) -> Person | None:  # fmt: skip
    """Audit the checked attempt (and a lock it started); the person on success."""
    with state.store() as session, session.begin():
        person = session.get(Person, person_id) if person_id else None
        if person is None:
            who = _printable(email)
            audit(session, actor=who, action="login.failed", object_type="person",
                  object_id=who, details={"address": address})  # fmt: skip
            for kind in locked:
                audit(session, actor=who, action="login.locked", object_type=kind,
                      object_id=who if kind == "account" else address,
                      details={"address": address, "minutes": 15})  # fmt: skip
            return None
        audit(session, actor=person.person_id, action="login", object_type="person",
              object_id=person.person_id, details={"address": address})  # fmt: skip
        session.expunge(person)
        return person


@public.post("/login", name="login")
async def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Check the password; on success a new session (new CSRF token) and back where they were.

    Throttled per account and per address (``icploop.web.throttle``): a refused attempt is
    answered 429 with ``Retry-After`` before any password work; the password check runs in
    its own bounded pool, and a full pool answers 503 at once."""
    state = web_state(request)
    sessions = state.sessions
    if not csrf_ok(sessions.read(request), csrf_token):
        return _form(request, "The form expired; please try again.", 403, next)
    account = _account_key(email)
    address = request.client.host if request.client else "unknown"
    refusal = state.throttle.refusal(account, address)
    if refusal is None and not state.throttle.begin(account):
        refusal = Refusal(1, "A login for this account is being checked; try again in a second.")
    if refusal is not None:
        return _retry(_form(request, refusal.message, 429, next), refusal.seconds)
    ok, person_id = False, None
    try:
        person_id, stored = await run_in_threadpool(_find, state, email)
        ok = await state.passwords.run(lambda: verify_hash(stored, password))
    except Busy:
        return _retry(
            _form(request, "Many logins are being checked; try again in a few seconds.", 503, next),
            2,
        )
    finally:
        locked = state.throttle.end(account, address, ok)
    person = await run_in_threadpool(_record, state, email, address, person_id if ok else None,
                                     locked)  # fmt: skip
    if person is None:
        return _form(request, "Wrong email or password.", 401, next)
    response = RedirectResponse(_safe_next(next), status_code=303)
    sessions.login(request, response, person)
    return response


def _retry(response: Response, seconds: int) -> Response:
    response.headers["Retry-After"] = str(seconds)
    return response


@router.post("/logout", name="logout")
def logout(request: Request, session: DB, user: User) -> Response:
    """End the session, on the server too: the person's older session cookies stop working."""
    response = RedirectResponse("/login", status_code=303)
    web_state(request).sessions.logout(response, user)
    audit(
        session, actor=user.person_id, action="logout", object_type="person",
        object_id=user.person_id,
    )  # fmt: skip
    return response

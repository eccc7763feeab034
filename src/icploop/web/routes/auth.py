"""Logging in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from icploop.store.audit import audit
from icploop.store.models import Person
from icploop.web.auth import csrf_ok, verify_password
from icploop.web.deps import DB, User, web_state
from icploop.web.routes.common import page_router

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


@public.post("/login", name="login")
def login(
    request: Request,
    session: DB,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Check the password; on success a new session (new CSRF token) and back where they were."""
    sessions = web_state(request).sessions
    if not csrf_ok(sessions.read(request), csrf_token):
        return _form(request, "The form expired; please try again.", 403, next)
    person = session.scalars(
        select(Person).where(func.lower(Person.email) == email.strip().lower())
    ).first() or session.get(Person, email.strip())
    if not verify_password(person, password):
        audit(
            session,
            actor=email[:200],
            action="login.failed",
            object_type="person",
            object_id=email[:200],
        )
        return _form(request, "Wrong email or password.", 401, next)
    assert person is not None  # verify_password is False for None
    audit(
        session,
        actor=person.person_id,
        action="login",
        object_type="person",
        object_id=person.person_id,
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    sessions.login(request, response, person)
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

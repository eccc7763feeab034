"""Request dependencies: the database session, and the guard every route passes through.

The guard looks up the route's action in ``icploop.web.permissions.ROUTE_ACTIONS`` (the same
table the tests read), finds who is asking (a session cookie for pages, a bearer token for the
API), refuses anonymous requests and roles without the right, and checks the CSRF token of every
unsafe request made with a cookie session.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from icploop.store import Session
from icploop.store.models import Person
from icploop.web.auth import UNSAFE_METHODS, csrf_ok, session_person, token_holder
from icploop.web.errors import Forbidden, NotAuthenticated
from icploop.web.permissions import PUBLIC_ROUTES, READ_ONLY_ACTIONS, may, route_action
from icploop.web.pressure import register_session
from icploop.web.state import WebState


def web_state(request: Request) -> WebState:
    """The app's state."""
    state: WebState = request.app.state.web
    return state


def db(request: Request) -> Iterator[Session]:
    """A store session for the request, committed when the handler succeeds.

    Function scope: the commit happens before the response leaves. With FastAPI's default
    (request scope) it ran after the response was sent, so a browser following a form's
    redirect could read the page before the change was stored, and a failed commit still
    answered success.
    """
    factory = web_state(request).store
    with factory() as session:
        register_session(session)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


DB = Annotated[Session, Depends(db, scope="function")]


def _action(request: Request) -> str | None:
    route = request.scope.get("route")
    name = getattr(route, "name", None)
    if name in PUBLIC_ROUTES:
        return None
    return route_action(str(name))


def _check_role(person: Person, action: str) -> None:
    if not may(person.role, action):
        raise Forbidden(
            f"{person.person_id} ({person.role}) may not do this",
            "ask an admin if your role should allow it",
        )


async def guard_page(request: Request, session: DB) -> Person | None:
    """Pages: the logged-in person with the route's role; CSRF on unsafe methods."""
    action = _action(request)
    if action is None:
        return None
    sessions = web_state(request).sessions
    data = sessions.read(request)
    person = session_person(session, data)
    if person is None:
        raise NotAuthenticated("please log in", "open /login")
    _check_role(person, action)
    if request.method in UNSAFE_METHODS:
        supplied = request.headers.get("x-csrf-token")
        if supplied is None:
            form = await request.form()
            value = form.get("csrf_token")
            supplied = value if isinstance(value, str) else None
        if not csrf_ok(data, supplied):
            raise Forbidden(
                "the form has expired or did not come from this site", "reload the page"
            )
    request.state.user = person
    request.state.csrf = data.csrf if data else ""
    return person


def guard_api(request: Request, session: DB) -> Person:
    """The API: the bearer token's person with the route's role (tokens need no CSRF); a
    read-only token only for actions that change nothing."""
    holder = token_holder(session, request.headers.get("authorization"))
    if holder is None:
        raise NotAuthenticated(
            "a valid API token is needed (tokens expire, and end when their person is "
            "deactivated or changes role)",
            "send Authorization: Bearer <token> (icploop user token)",
        )
    person, token = holder
    action = _action(request)
    if action is not None:
        _check_role(person, action)
        if token.scope == "read" and action not in READ_ONLY_ACTIONS:
            raise Forbidden("this API token is read-only", "use a token made without --read-only")
    request.state.user = person
    return person


def page_user(request: Request) -> Person:
    """The person the page guard let in."""
    person: Person = request.state.user
    return person


User = Annotated[Person, Depends(page_user)]

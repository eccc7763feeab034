"""API tokens on the web: everyone sees, makes and revokes their own; admins everyone's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from icploop.web.auth import create_token, revoke_token, tokens_of
from icploop.web.deps import DB, User, web_state
from icploop.web.routes.common import back, page_router, render

router = page_router()


@router.get("/tokens", name="tokens_page", response_class=HTMLResponse)
def tokens_page(request: Request, session: DB, user: User) -> HTMLResponse:
    """The user's tokens (an admin's page lists everyone's) with their state."""
    owner = None if user.role == "admin" else user.person_id
    return render(
        request,
        "tokens.html",
        {"tokens": tokens_of(session, owner), "days": web_state(request).settings.token_days},
    )


@router.post("/tokens", name="token_create_page", response_class=HTMLResponse)
def token_create_page(
    request: Request,
    session: DB,
    user: User,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    days: Annotated[int, Form(ge=1, le=3650)],
    read_only: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    """A new token for the user, shown once on the page that answers."""
    value = create_token(session, user.person_id, name.strip(), user.person_id, days, read_only)
    session.flush()
    return render(
        request,
        "tokens.html",
        {
            "tokens": tokens_of(session, None if user.role == "admin" else user.person_id),
            "days": web_state(request).settings.token_days,
            "new_token": value,
        },
    )


@router.post("/tokens/{token_id}/revoke", name="token_revoke_page")
def token_revoke_page(session: DB, user: User, token_id: int) -> Response:
    """Revoke one of the user's tokens (an admin: anyone's)."""
    revoke_token(session, token_id, user.person_id, by=user)
    return back("/tokens")

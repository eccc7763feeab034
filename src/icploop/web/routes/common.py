"""What every page shares: rendering with the user and CSRF token, redirects after a post."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from icploop.web.deps import guard_page, web_state
from icploop.web.permissions import may


def page_router() -> APIRouter:
    """A router whose every route is guarded (login, role, CSRF)."""
    return APIRouter(dependencies=[Depends(guard_page)], include_in_schema=False)


def render(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
    """A template with the logged-in user, their CSRF token and ``may`` for showing buttons."""
    user = getattr(request.state, "user", None)
    base = {
        "user": user,
        "csrf": getattr(request.state, "csrf", ""),
        "may": (lambda action: user is not None and may(user.role, action)),
    }
    response: HTMLResponse = web_state(request).templates.TemplateResponse(
        request, template, {**base, **context}
    )
    return response


def data_context(request: Request) -> dict[str, Any]:
    """What a page of figures says about its data: the default as-of date (``as_of``) and where
    the data ends (``data_end``, whose caveats ``_data_end.html`` shows)."""
    end = web_state(request).data_end()
    return {"as_of": end.as_of, "data_end": end}


def back(path: str) -> RedirectResponse:
    """Post/redirect/get: after a change, show the page again."""
    return RedirectResponse(path, status_code=303)

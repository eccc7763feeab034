"""One error shape for the whole API, and friendly pages for the same errors in the browser.

Every error the API returns is ``{"error": {"message": ..., "hint": ...}}``. The user-error
family (``IcploopError``) maps to 400; its web subclasses below map to 401, 403 and 404.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from icploop.errors import IcploopError

log = logging.getLogger(__name__)


class NotAuthenticated(IcploopError):
    """No valid session or token: 401 for the API, a redirect to the login page for pages."""


class Forbidden(IcploopError):
    """A known user without the role (or the ownership) an action needs: 403."""


class NotFound(IcploopError):
    """The object asked for does not exist: 404."""


class Busy(IcploopError):
    """The server is saturated: 503 with ``Retry-After`` (seconds), instead of a timeout."""

    def __init__(self, message: str, hint: str = "", retry_after: int = 2) -> None:
        super().__init__(message, hint or f"try again in {retry_after} seconds")
        self.retry_after = retry_after


class ErrorBody(BaseModel):
    """What went wrong and what to do about it."""

    message: str
    hint: str = ""


class ErrorResponse(BaseModel):
    """The API's one error shape."""

    error: ErrorBody


def status_of(exc: IcploopError) -> int:
    """The HTTP status of a user error."""
    if isinstance(exc, NotAuthenticated):
        return 401
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Busy):
        return 503
    return 400


def is_api(request: Request) -> bool:
    """Whether the request is for the JSON API (errors as JSON) rather than a page."""
    path = request.url.path
    return path.startswith("/api/") or path == "/openapi.json"


def error_json(status: int, message: str, hint: str = "") -> JSONResponse:
    """The API error shape as a response."""
    body = ErrorResponse(error=ErrorBody(message=message, hint=hint))
    return JSONResponse(body.model_dump(), status_code=status)


def _page(request: Request, status: int, message: str, hint: str) -> Response:
    templates = request.app.state.web.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message, "hint": hint, "user": None, "csrf": ""},
        status_code=status,
    )


def _respond(request: Request, status: int, message: str, hint: str = "") -> Response:
    if is_api(request):
        return error_json(status, message, hint)
    if status == 401:
        # pages send the browser to the login form and back (only a local path is kept)
        target = request.url.path
        return RedirectResponse(f"/login?next={target}", status_code=303)
    return _page(request, status, message, hint)


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one shape."""

    @app.exception_handler(IcploopError)
    async def _user_error(request: Request, exc: IcploopError) -> Response:
        response = _respond(request, status_of(exc), exc.message, exc.hint)
        if isinstance(exc, Busy):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()
        )
        return _respond(request, 422, f"invalid request: {problems}", "see /openapi.json")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return _respond(request, exc.status_code, str(exc.detail), "")

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        # a bug, not a user error: log it, and tell the user nothing about the internals
        log.exception("unhandled error on %s", request.url.path)
        return _respond(request, 500, "internal error", "the server log has the details")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in (
        (400, "a user error"),
        (401, "no valid token"),
        (403, "the role may not do this"),
        (404, "not found"),
        (422, "invalid parameters"),
        (503, "the server is saturated: try again after the Retry-After seconds"),
    )
}

"""Back-pressure: the server answers "busy" (503 with ``Retry-After``) instead of queueing
without bound, and never holds a store connection while it waits for the warehouse.

- :class:`Gate` lets at most ``max_active`` requests be worked on at once (static files and the
  login form excepted); a request beyond waits up to ``wait`` seconds for a turn, else it is
  answered 503 at once. So the store's connection pool (5 + 10 by default) is never exhausted
  and a burst cannot pile up a backlog that takes minutes to drain after it ends.
- The store sessions a request opens are registered (:func:`register_session`) so that
  :func:`release_sessions` can end their read transactions, returning the connection to the
  pool, before the request waits for the warehouse (see ``WebState.analytics``). A session that
  has written keeps its transaction (and connection): its changes commit with the request.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from icploop.store import Session
from icploop.store.writes import end_if_only_read

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# one list per request, shared by the threads that serve it (contexts are copied, the list is not)
_sessions: contextvars.ContextVar[list[Session] | None] = contextvars.ContextVar(
    "icploop_request_sessions", default=None
)


def register_session(session: Session) -> None:
    """Remember a request's store session, so that it can be released before a long wait."""
    holder = _sessions.get()
    if holder is not None:
        holder.append(session)


def release_sessions() -> int:
    """End the read-only transactions of this request's store sessions (their connections go
    back to the pool; the next query takes one again); how many were released."""
    return sum(end_if_only_read(session) for session in _sessions.get() or ())


RETRY_AFTER = 1
#: seconds a request beyond ``max_active`` waits for a turn before it is answered 503
GATE_WAIT = 1.0


class Gate:
    """At most ``max_active`` requests at once; the next wait up to ``wait`` s, then 503."""

    def __init__(self, app: ASGIApp, max_active: int = 10, wait: float = GATE_WAIT) -> None:
        self.app = app
        self.max_active = max_active
        self.wait = wait
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:  # one per event loop serving the app
            self._slots, self._loop = asyncio.Semaphore(self.max_active), loop
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self.wait)
        except TimeoutError:
            self.refused += 1
            await _busy(scope, send)
            return
        slots = self._slots
        token = _sessions.set([])
        try:
            await self.app(scope, receive, send)
        finally:
            _sessions.reset(token)
            slots.release()


def _exempt(path: str) -> bool:
    # static files cost nothing; the login form has its own limits (icploop.web.throttle)
    return path.startswith("/static/") or path == "/login"


async def _busy(scope: Scope, send: Send) -> None:
    """503 with ``Retry-After``: the API's error shape, or a short page."""
    message = "the server is busy; try again in a moment"
    if scope["path"].startswith("/api/") or scope["path"] == "/openapi.json":
        body = json.dumps(
            {"error": {"message": message, "hint": f"retry after {RETRY_AFTER} s"}}
        ).encode()
        kind = b"application/json"
    else:
        body = f"<!doctype html><title>Busy</title><p>{message}.</p>".encode()
        kind = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", kind),
                (b"retry-after", str(RETRY_AFTER).encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

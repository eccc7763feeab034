"""The audit log, for admins: who changed what, when."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from icploop.store.audit import events
from icploop.web.deps import DB, User
from icploop.web.routes.common import page_router, render

router = page_router()
PAGE_SIZE = 100


@router.get("/audit", name="audit_page", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: DB,
    user: User,
    actor: Annotated[str, Query(max_length=200)] = "",
    action: Annotated[str, Query(max_length=60)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """A page of audit events."""
    shown = events(session, actor, action, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    return render(
        request,
        "audit.html",
        {
            "events": shown,
            "actor": actor,
            "action": action,
            "page": page,
            "more": len(shown) == PAGE_SIZE,
        },
    )

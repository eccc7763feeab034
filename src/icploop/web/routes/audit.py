"""The audit log, for admins: who changed what, when."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from icploop.store.models import AuditEvent
from icploop.web.deps import DB, User
from icploop.web.routes.common import page_router, render

router = page_router()
PAGE_SIZE = 100


def audit_query(actor: str, action: str):  # type: ignore[no-untyped-def]
    """Events newest first, filtered by actor and action prefix (bound values only)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        query = query.where(AuditEvent.action.startswith(action, autoescape=True))
    return query


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
    query = audit_query(actor, action).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    events = list(session.scalars(query))
    return render(
        request,
        "audit.html",
        {
            "events": events,
            "actor": actor,
            "action": action,
            "page": page,
            "more": len(events) == PAGE_SIZE,
        },
    )

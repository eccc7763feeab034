"""The flag inbox per role: edit and send drafts (CS), add context (Sales)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from icploop.flags import FIT_ISSUES
from icploop.web import actions
from icploop.web.deps import DB, User
from icploop.web.flag_notes import contexts
from icploop.web.routes.common import back, page_router, render
from icploop.web.scope import flag_inbox

router = page_router()
PAGE_SIZE = 50


@router.get("/flags", name="flags_page", response_class=HTMLResponse)
def flags_page(
    request: Request,
    session: DB,
    user: User,
    status: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The flags in the person's inbox, newest first."""
    query = flag_inbox(session, user)
    if status in ("draft", "sent", "recorded"):
        from icploop.store.models import Flag

        query = query.where(Flag.status == status)
    flags = list(session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    return render(
        request,
        "flags.html",
        {
            "flags": flags,
            "notes": contexts(session, [f.id for f in flags]),
            "status": status,
            "page": page,
            "more": len(flags) == PAGE_SIZE,
            "fit_issues": FIT_ISSUES,
        },
    )


@router.post("/flags/{flag_id}/edit", name="flag_edit")
def flag_edit(
    session: DB, user: User, flag_id: int, evidence: Annotated[str, Form(max_length=2000)]
) -> Response:
    """Edit a draft's evidence."""
    actions.edit_flag(session, user, flag_id, evidence)
    return back("/flags")


@router.post("/flags/{flag_id}/send", name="flag_send")
def flag_send(session: DB, user: User, flag_id: int) -> Response:
    """Send a draft to the AE, the RevOps lead and the CSM's manager."""
    actions.send(session, user, flag_id)
    return back("/flags")


@router.post("/flags/{flag_id}/context", name="flag_context")
def flag_context(
    session: DB, user: User, flag_id: int, text: Annotated[str, Form(max_length=2000)]
) -> Response:
    """An AE adds context about the deal."""
    actions.context(session, user, flag_id, text)
    return back("/flags")

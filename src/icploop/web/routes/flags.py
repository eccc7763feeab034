"""The flag inbox per role: edit and send drafts (CS), add context (Sales)."""

from __future__ import annotations

from itertools import groupby
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from icploop.flags import FIT_ISSUES
from icploop.flags.inbox import flag_list
from icploop.flags.triage import FLAG_STATES
from icploop.web import actions
from icploop.web.deps import DB, User
from icploop.web.flag_notes import contexts
from icploop.web.routes.common import back, page_router, render

router = page_router()
PAGE_SIZE = 50
MOVES = {
    "new": [("acknowledged", "Acknowledge"), ("resolved", "Resolve")],
    "acknowledged": [("resolved", "Resolve"), ("new", "Reopen")],
    "resolved": [("new", "Reopen")],
}


@router.get("/flags", name="flags_page", response_class=HTMLResponse)
def flags_page(
    request: Request,
    session: DB,
    user: User,
    status: Annotated[str, Query(max_length=10)] = "",
    state: Annotated[str, Query(max_length=15)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The flags in the person's inbox grouped by triage state (drafts first, then new,
    acknowledged, resolved) and by account within it."""
    flags = flag_list(
        session,
        user,
        status=status if status in ("draft", "sent", "recorded") else None,
        state=state if state in FLAG_STATES else None,
        by_triage=True,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    groups = [
        (key[0], key[1], list(items))
        for key, items in groupby(
            flags, key=lambda f: ("draft" if f.status == "draft" else f.state, f.account_id)
        )
    ]
    return render(
        request,
        "flags.html",
        {
            "groups": groups,
            "notes": contexts(session, [f.id for f in flags]),
            "status": status,
            "state": state,
            "states": FLAG_STATES,
            "moves": MOVES,
            "page": page,
            "more": len(flags) == PAGE_SIZE,
            "fit_issues": FIT_ISSUES,
        },
    )


@router.post("/flags/{flag_id}/state", name="flag_state")
def flag_state(
    session: DB,
    user: User,
    flag_id: int,
    state: Annotated[str, Form(max_length=15)],
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Acknowledge, resolve or reopen a flag in the inbox."""
    actions.flag_state(session, user, flag_id, state, note)
    return back("/flags")


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

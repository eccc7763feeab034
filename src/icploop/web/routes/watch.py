"""The 180-day watch list: entries due for review, marked reviewed or snoozed, with history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from icploop.store import fit_tags
from icploop.web import actions
from icploop.web.deps import DB, User, web_state
from icploop.web.routes.common import back, page_router, render

router = page_router()
SHOWN = 200


@router.get("/watch", name="watch_page", response_class=HTMLResponse)
def watch_page(
    request: Request,
    session: DB,
    user: User,
    all_items: Annotated[bool, Query(alias="all")] = False,
    account: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """Near fits due for their review today (or every open one), earliest due first; with
    ``account``, that account's reviews and snoozes."""
    today = dt.date.today()  # review dates run on the calendar, supplied at the edge
    items = fit_tags.watch_list(session, today, due_only=not all_items, limit=SHOWN)
    return render(
        request,
        "watch.html",
        {
            "items": items,
            "total": fit_tags.watch_count(session, today, due_only=not all_items),
            "all_items": all_items,
            "today": today,
            "account": account,
            "history": fit_tags.watch_history(session, account) if account else [],
        },
    )


@router.post("/watch/{account_id}/review", name="watch_review")
def watch_review(
    request: Request,
    session: DB,
    user: User,
    account_id: str,
    outcome: Annotated[str, Form(max_length=1000)],
) -> Response:
    """Mark the account's review done."""
    actions.watch_review(web_state(request), session, user, account_id, outcome)
    return back("/watch")


@router.post("/watch/{account_id}/snooze", name="watch_snooze")
def watch_snooze(
    request: Request,
    session: DB,
    user: User,
    account_id: str,
    until: Annotated[dt.date, Form()],
    reason: Annotated[str, Form(max_length=1000)],
) -> Response:
    """Keep the account off the due list until a later day."""
    actions.watch_snooze(web_state(request), session, user, account_id, until, reason)
    return back("/watch")

"""The ICP document: the version in force, history, diff, and the implementation tracker."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from icploop.icp import versions
from icploop.icp.versions import STEPS
from icploop.web import actions
from icploop.web.deps import DB, User
from icploop.web.permissions import step_roles
from icploop.web.routes.common import back, page_router, render

router = page_router()


@router.get("/icp", name="icp_page", response_class=HTMLResponse)
def icp_page(
    request: Request,
    session: DB,
    user: User,
    old: Annotated[int | None, Query(ge=1)] = None,
    new: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """Current version, history, a diff between two versions, steps with their buttons."""
    records = versions.list_versions(session)
    current = next((v for v in records if v.status == "published"), None)
    diff = None
    if old and new:
        actions.get_version(session, old)
        actions.get_version(session, new)
        diff = versions.version_diff(session, old, new)
    return render(
        request,
        "icp.html",
        {
            "versions": records,
            "current": current,
            "content": versions.as_document(current).content if current else None,
            "diff": diff,
            "old": old,
            "new": new,
            "labels": {r.step: r.label for r in STEPS},
            "owns_step": lambda step: user.role in step_roles(step),
            "today": dt.date.today(),
        },
    )


@router.post("/icp/{number}/steps/{step}", name="icp_step_page")
def icp_step_page(
    session: DB,
    user: User,
    number: int,
    step: str,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Confirm or acknowledge a step (only its owners see and may use the button)."""
    actions.record_step(session, user, number, step, note)
    return back("/icp")


@router.post("/icp/{number}/publish", name="icp_publish_page")
def icp_publish_page(session: DB, user: User, number: int) -> Response:
    """Publish a draft version (RevOps)."""
    actions.publish(session, user, number)
    return back("/icp")

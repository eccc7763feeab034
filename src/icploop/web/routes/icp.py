"""The ICP document: the version in force, history, diff, and the implementation tracker."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from icploop.icp import signoff, versions
from icploop.icp.document import IcpContent
from icploop.icp.in_force import stored_in_force
from icploop.icp.versions import STEPS
from icploop.rules import Rule
from icploop.store.database import utcnow
from icploop.store.models import IcpVersionRecord, Person, Review
from icploop.web import actions
from icploop.web.deps import DB, User, web_state
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
    state = web_state(request)
    as_of = state.as_of()
    current, latest = stored_in_force(session, as_of, state.fit_config().icp_criteria)
    diff = None
    if old and new:
        actions.get_version(session, old)
        actions.get_version(session, new)
        diff = versions.version_diff(session, old, new)
    drafts = [_draft_view(session, v, user) for v in records if v.status == "draft"]
    broken = [d for d in drafts if "error" in d]
    drafts = [d for d in drafts if "error" not in d]
    shown = dict.fromkeys(v for v in (current, latest) if v is not None)  # once when the same
    cards = [(v, *versions.stored_content(v)) for v in shown]
    return render(
        request,
        "icp.html",
        {
            "drafts": drafts,
            "broken": broken,
            "versions": records,
            "as_of": as_of,
            "current": current,
            "latest": latest,
            "cards": cards,
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
def icp_publish_page(
    session: DB,
    user: User,
    number: int,
    override: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Publish a draft version (RevOps): after every team's approval, or with a reason."""
    actions.publish(session, user, number, override or None)
    return back("/icp")


@router.post("/icp/{number}/delete", name="icp_delete_page")
def icp_delete_page(session: DB, user: User, number: int) -> Response:
    """Delete a draft version (who drafted it, RevOps or an admin)."""
    actions.delete_draft(session, user, number)
    return back("/icp")


@router.post("/icp/{number}/approve", name="icp_approve_page")
def icp_approve_page(
    session: DB, user: User, number: int, comment: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    """Approve a draft for the user's team."""
    actions.approve(session, user, number, comment)
    return back("/icp")


@router.post("/icp/{number}/object", name="icp_object_page")
def icp_object_page(
    session: DB,
    user: User,
    number: int,
    criterion: Annotated[str, Form(max_length=2000)],
    comment: Annotated[str, Form(max_length=2000)],
) -> Response:
    """Object to one line of a draft, with a comment."""
    actions.object_to(session, user, number, criterion, comment)
    return back("/icp")


@router.post("/icp/objections/{objection_id}/answer", name="icp_answer_page")
def icp_answer_page(
    session: DB, user: User, objection_id: int, text: Annotated[str, Form(max_length=2000)]
) -> Response:
    """Answer an objection (RevOps)."""
    signoff.answer(session, objection_id, user.person_id, utcnow(), text)
    return back("/icp")


def _draft_view(session: DB, record: IcpVersionRecord, user: Person) -> dict[str, Any]:
    """A draft with what each line rests on (rationale, and the review proposal behind it),
    its sign-off state, and whether the user's team has a say. A draft whose stored content no
    longer reads is named with the problem (``error``), so the other drafts still show."""
    try:
        content = IcpContent.model_validate(record.content)
    except ValidationError as exc:
        return {"record": record, "error": str(exc).splitlines()[0]}
    rules = [*content.criteria, *content.do_not_close, *(s.rule for s in content.lead_scoring)]
    proposals: dict[str, int] = {}
    if record.review_id is not None:
        review = session.get(Review, record.review_id)
        for p in review.proposals if review else []:
            rule = (p.edited_payload or p.payload).get("rule")
            if rule:
                proposals[Rule.model_validate(rule).describe()] = p.id
    team = signoff.team_of(user.role)
    evidence = {
        line: (rule.rationale or rule.evidence, proposals.get(rule.describe()))
        for line, rule in zip(signoff.criteria_of(content), rules, strict=False)
    }
    return {
        "record": record,
        "lines": signoff.criteria_of(content),
        "evidence": evidence,
        "state": signoff.readiness(record),
        "team": team,
        # only the team's lead or a named signer approves; any member may object
        "may_approve": team is not None and signoff.standing_of(session, user, team) != "member",
    }

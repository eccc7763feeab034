"""Alignment on long-term value: the retention-adjusted scorecard and segment experiments."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from icploop.icp.experiments import (
    EXPERIMENTERS,
    add_experiment,
    delete_experiment,
    describe,
    list_experiments,
    stop_experiment,
)
from icploop.review.alignment import alignment_section, experiment_attributes
from icploop.review.layout import section_blocks
from icploop.review.render import blocks_html
from icploop.rules import Rule
from icploop.web import dashboard as numbers
from icploop.web.deps import DB, User, web_state
from icploop.web.routes.common import back, data_context, page_router, render

router = page_router()
CHANGE_KINDS = ("campaign", "messaging", "qualification", "other")


def _lines(text: str) -> list[Rule | dict[str, Any] | str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.get("/alignment", name="alignment_page", response_class=HTMLResponse)
def alignment_page(request: Request, session: DB, user: User) -> HTMLResponse:
    """Bookings against retained bookings per AE, lead source and campaign; every experiment
    measured against its control (the same section as the review pack)."""
    state = web_state(request)
    data = data_context(request)
    as_of = data["as_of"]
    accounts = numbers.account_outcomes_frame(state, as_of)
    config = state.fit_config()
    section = state.analytics(
        lambda b: alignment_section(b, session, accounts, as_of, fit_config=config)
    )
    body = blocks_html(section_blocks({"alignment": section}, "alignment"))
    manage = user.role in ("revops", "admin")
    return render(
        request,
        "alignment.html",
        {
            **data,
            "body": Markup(body),
            "may_add": user.role in (*EXPERIMENTERS, "admin"),
            "kinds": CHANGE_KINDS,
            "mine": [
                describe(r)
                for r in list_experiments(session)
                if manage or r.created_by == user.person_id
            ],
        },
    )


@router.post("/alignment/experiments", name="experiment_add_page")
def experiment_add_page(
    request: Request,
    session: DB,
    user: User,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    segment: Annotated[str, Form(min_length=1, max_length=2000)],
    change_kind: Annotated[str, Form(pattern="^(campaign|messaging|qualification|other)$")],
    change: Annotated[str, Form(min_length=1, max_length=2000)],
    start: Annotated[dt.date, Form()],
    end: Annotated[dt.date | None, Form()] = None,
    control_segment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Record an experiment: a segment (one rule per line), the change, its dates, a control.
    Rules are checked against the attributes the experiment is measured on before anything is
    stored."""
    control: dict[str, Any] | None = None
    if control_segment.strip():
        control = {"kind": "segment", "rules": _lines(control_segment)}
    state = web_state(request)
    as_of = state.as_of()
    accounts = numbers.account_outcomes_frame(state, as_of)
    kinds = state.analytics(lambda b: experiment_attributes(b, accounts, as_of))
    add_experiment(session, user.person_id, name.strip(), _lines(segment), change_kind,
                   change.strip(), start, end=end, control=control, kinds=kinds)  # fmt: skip
    return back("/alignment")


@router.post("/alignment/experiments/{experiment_id}/stop", name="experiment_stop_page")
def experiment_stop_page(
    session: DB, user: User, experiment_id: int, end: Annotated[dt.date, Form()]
) -> Response:
    """End an experiment on a day (who recorded it, RevOps or an admin)."""
    stop_experiment(session, user.person_id, experiment_id, end)
    return back("/alignment")


@router.post("/alignment/experiments/{experiment_id}/delete", name="experiment_delete_page")
def experiment_delete_page(session: DB, user: User, experiment_id: int) -> Response:
    """Delete an experiment (who recorded it, RevOps or an admin); the audit log keeps it."""
    delete_experiment(session, user.person_id, experiment_id)
    return back("/alignment")

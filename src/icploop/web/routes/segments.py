"""The segment explorer: which segments retain, grow and churn, with evidence and members."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from icploop.segments.catalog import OUTCOMES
from icploop.web import dashboard as numbers
from icploop.web.deps import User, web_state
from icploop.web.routes.common import data_context, page_router, render

router = page_router()
EXPLORER_OUTCOMES = ("churn", "nrr", "ltv", "adoption")


@router.get("/segments", name="segments_page", response_class=HTMLResponse)
def segments_page(
    request: Request,
    user: User,
    outcome: Annotated[str, Query(pattern="^(churn|nrr|ltv|adoption)$")] = "churn",
    depth: Annotated[int, Query(ge=1, le=3)] = 2,
    min_size: Annotated[int | None, Query(ge=10, le=1_000_000)] = None,
    top: Annotated[int, Query(ge=1, le=50)] = 10,
) -> HTMLResponse:
    """Findings of one outcome, filtered by depth and smallest size, each linked to its accounts."""
    state = web_state(request)
    data = data_context(request)
    findings = numbers.top_segments(state, data["as_of"], outcome, depth, min_size, top)
    return render(
        request,
        "segments.html",
        {
            **data,
            "findings": findings,
            "outcome": outcome,
            "outcomes": {k: OUTCOMES[k].label for k in EXPLORER_OUTCOMES},
            "kind": OUTCOMES[outcome].kind,
            "depth": depth,
            "min_size": min_size,
            "top": top,
        },
    )


@router.get("/survival", name="survival_page", response_class=HTMLResponse)
def survival_page(
    request: Request,
    user: User,
    by: Annotated[str, Query(max_length=100)] = "segment",
) -> HTMLResponse:
    """How long each group of accounts stays (Kaplan-Meier, log-rank, Cox) and what it is worth
    (sBG lifetime value), by one attribute."""
    state = web_state(request)
    data = data_context(request)
    chosen = by or None
    return render(
        request,
        "survival.html",
        {
            **data,
            "by": by,
            "survival": numbers.survival_of(state, data["as_of"], chosen, cox=chosen is not None),
            "ltv": numbers.ltv_of(state, data["as_of"], chosen),
        },
    )

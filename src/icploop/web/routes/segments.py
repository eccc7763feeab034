"""The segment explorer: which segments retain, grow and churn, with evidence and members."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from ibis.backends import BaseBackend

from icploop.formatting import json_value
from icploop.metrics.tables import CanonicalTables
from icploop.segments.catalog import OUTCOMES
from icploop.segments.compare import VIEW_NAMES, compare_icp_views
from icploop.segments.outcomes import deal_outcomes
from icploop.segments.why_we_win import use_case_ranking
from icploop.web import dashboard as numbers
from icploop.web.charts import survival_chart
from icploop.web.deps import User, web_state
from icploop.web.routes.common import data_context, page_router, render
from icploop.web.state import WebState

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
            "shown": OUTCOMES[outcome].shown,  # how a value reads, as in the CLI
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
    survival = numbers.survival_of(state, data["as_of"], chosen, cox=chosen is not None)
    return render(
        request,
        "survival.html",
        {
            **data,
            "by": by,
            "survival": survival,
            "chart": survival_chart(survival["curves"], f"Share still paying by {by or 'all'}"),
            "ltv": numbers.ltv_of(state, data["as_of"], chosen),
        },
    )


def icp_comparison(state: WebState, as_of: dt.date) -> dict[str, Any]:
    """The value-based ICP against the win-rate, intent and lookalike ICPs (``icploop segments
    --view compare``) and the use cases ranked by retention and expansion."""

    def work(backend: BaseBackend) -> dict[str, Any]:
        accounts = numbers.account_outcomes_frame(state, as_of)
        deals = deal_outcomes(CanonicalTables.from_backend(backend))
        result = compare_icp_views(accounts, deals, k=3, value_outcome="first_year_churn")
        views = [
            {**{k: json_value(v) for k, v in r.items()}, "name": VIEW_NAMES[r["view"]]}
            for r in result.summary.to_dict("records")
        ]
        ranking = use_case_ranking(accounts)
        return {
            "views": views,
            "sentence": result.sentence,
            "caveats": list(result.caveats),
            "use_cases": [
                {k: json_value(v) for k, v in r.items()} for r in ranking.to_dict("records")
            ],
        }

    return state.cached(("icp_compare", as_of), work)


@router.get("/segments/compare", name="icp_compare_page", response_class=HTMLResponse)
def icp_compare_page(request: Request, user: User) -> HTMLResponse:
    """What an ICP chosen each way would capture, side by side: share of accounts, of MRR, of
    retained MRR and of churned MRR; and the use cases that retain and grow."""
    data = data_context(request)
    return render(
        request,
        "icp_compare.html",
        {**data, "cmp": icp_comparison(web_state(request), data["as_of"])},
    )

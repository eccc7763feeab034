"""Why customers left and what they cost to serve: the same numbers as the review pack."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from ibis.backends import BaseBackend

from icploop.metrics.tables import CanonicalTables
from icploop.review.reasons_cost import reasons_and_cost
from icploop.web.deps import User, web_state
from icploop.web.routes.common import data_context, page_router, render
from icploop.web.state import WebState

router = page_router()
#: rows of the long lists shown before "N more"
SHOWN = {"clusters": 3, "objections": 8}


def reasons_of(state: WebState, as_of: dt.date) -> dict[str, Any]:
    """Churn reasons, the support hypothesis and cost to serve as of ``as_of`` (cached)."""

    def work(backend: BaseBackend) -> dict[str, Any]:
        return reasons_and_cost(backend, CanonicalTables.from_backend(backend), as_of)

    return state.cached(("reasons_cost", as_of), work)


@router.get("/reasons", name="reasons_page", response_class=HTMLResponse)
def reasons_page(
    request: Request, user: User, all_rows: Annotated[bool, Query(alias="all")] = False
) -> HTMLResponse:
    """The Pareto table of churn reasons with evidence, a hypothesis check, cost to serve.
    Long lists (unmatched reasons, returning objections) show their first rows and say how many
    more there are, with a link to the page with ``all`` rows."""
    data = data_context(request)
    context = {
        **data,
        "rc": reasons_of(web_state(request), data["as_of"]),
        "limits": None if all_rows else SHOWN,
        "all_url": str(request.url.include_query_params(all="true")),
    }
    return render(request, "reasons.html", context)

"""Analyses that were only in the CLI, as pages: the MRR bridge."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from icploop.metrics.movements import MOVEMENT_COLUMNS
from icploop.web import dashboard as numbers
from icploop.web.charts import movement_chart
from icploop.web.deps import User, web_state
from icploop.web.routes.common import data_context, page_router, render

router = page_router()


@router.get("/bridge", name="bridge_page", response_class=HTMLResponse)
def bridge_page(
    request: Request,
    user: User,
    period: Annotated[str, Query(pattern="^(month|quarter)$")] = "month",
    periods: Annotated[int, Query(ge=1, le=120)] = 12,
    by: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    """The MRR bridge: how MRR moved from the start to the end of each period, and why."""
    state = web_state(request)
    data = data_context(request)
    bridge = numbers.bridge_of(state, data["as_of"], period, periods, by or None)
    rows = bridge["rows"]
    # one bar per period: the chart shows the total, the table each group
    chart = None if by else movement_chart([r["period"] for r in rows], rows, "MRR movements")
    return render(
        request,
        "bridge.html",
        {
            **data,
            "bridge": bridge,
            "chart": chart,
            "period": period,
            "periods": periods,
            "by": by,
            "movements": MOVEMENT_COLUMNS,
        },
    )

"""The dashboard: headline retention, the NRR trend, the loop's due work, top segments."""

from __future__ import annotations

import datetime as dt

from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from icploop.errors import IcploopError
from icploop.icp import versions
from icploop.icp.in_force import stored_in_force
from icploop.review.decide import get_review
from icploop.review.layout import section_blocks
from icploop.review.render import blocks_html
from icploop.store import Session, fit_tags
from icploop.web import dashboard as numbers
from icploop.web.charts import line_chart
from icploop.web.deps import DB, User, web_state
from icploop.web.routes.common import data_context, page_router, render

router = page_router()
WATCH_SHOWN = 20


def _executive(session: Session) -> dict[str, object]:
    """The executive summary of the latest review, as its pack shows it (none before the first
    review is built)."""
    try:
        review = get_review(session)
    except IcploopError:
        return {"executive": None, "review": None}
    html = blocks_html(section_blocks(review.evidence, "executive"))
    return {"executive": Markup(html), "review": review}


@router.get("/", name="dashboard", response_class=HTMLResponse)
def dashboard(request: Request, session: DB, user: User) -> HTMLResponse:
    """Headline NRR, GRR, logo churn and quick ratio; trend; watch list; overdue steps."""
    state = web_state(request)
    data = data_context(request)
    as_of = data["as_of"]  # the end of the last complete data month, for the metrics
    today = dt.date.today()  # workflow deadlines run on the calendar, supplied at the edge
    head = numbers.headline_of(state, as_of)
    trend = numbers.nrr_trend(state, as_of)
    chart = line_chart(
        [str(r["period"]) for r in trend], [r["nrr"] for r in trend], "NRR by quarter"
    )
    tags = fit_tags.tag_counts(session)
    findings = numbers.top_segments(state, as_of)
    watch = fit_tags.watch_list(session, today, limit=WATCH_SHOWN)
    in_force, latest = stored_in_force(session, as_of, state.fit_config().icp_criteria)
    return render(
        request,
        "dashboard.html",
        {
            **data,
            "head": head,
            "trend": trend,
            "chart": chart,
            "tag_mix": [(t, tags.get(t, 0)) for t in ("strong_fit", "near_fit", "bad_fit")],
            "tag_total": sum(tags.values()),
            "today": today,
            "watch": watch,
            "watch_total": fit_tags.watch_count(session, today),
            "overdue": versions.overdue_steps(session, today),
            "findings": findings,
            "triangle": numbers.cohort_triangle(state, as_of),
            "in_force": in_force,
            "latest": latest,
            "step_labels": {r.step: r.label for r in versions.STEPS},
            **_executive(session),
        },
    )

"""Analyses that were only in the CLI, as pages: the MRR bridge, scoring a CSV, open-deal
checks, the NRR forecast and its what-ifs."""

from __future__ import annotations

import io
import re
from typing import Annotated, Any

import pandas as pd
from fastapi import Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from icploop import model_files
from icploop.errors import IcploopError
from icploop.metrics.movements import MOVEMENT_COLUMNS
from icploop.spreadsheet import neutralise_frame
from icploop.web import dashboard as numbers
from icploop.web.charts import movement_chart
from icploop.web.deps import User, web_state
from icploop.web.forecasts import forecast_view
from icploop.web.pressure import release_sessions
from icploop.web.routes.common import data_context, page_router, render
from icploop.web.scoring import deal_checks_of as deal_checks
from icploop.web.scoring import deals_seen_by, score_frame

router = page_router()

#: the what-ifs' inputs, as the forecast page and ``GET /api/v1/forecast`` take them
BadShare = Annotated[float, Query(ge=0, le=1, description="bad-fit share of new MRR")]
Points = Annotated[float, Query(ge=-50, le=50, description="points of annual retention gained")]
Years = Annotated[int, Query(ge=1, le=10, description="years the retention gain is valued over")]
Margin = Annotated[float, Query(gt=0, le=1, description="gross margin")]


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


#: the largest CSV the scoring page takes (the API takes at most 5,000 records)
MAX_UPLOAD_BYTES = 5_000_000
#: seconds an upload waits for the worker, and after which it is answered 503 (it is a person
#: at a browser, who waits longer than a script)
UPLOAD_WAIT, UPLOAD_DEADLINE = 5.0, 60.0


def _models(request: Request) -> list[str]:
    return model_files.versions(web_state(request).settings.workspace)


@router.get("/scoring", name="scoring_page", response_class=HTMLResponse)
def scoring_page(request: Request, user: User) -> HTMLResponse:
    """Upload a CSV of leads or open deals and download it scored."""
    return render(request, "scoring.html", {**data_context(request), "models": _models(request)})


@router.post("/scoring", name="scoring_upload")
async def scoring_upload(request: Request, user: User) -> Response:
    """The uploaded CSV with the fit score, tier, points and reasons (and the deal-time fit
    check for open deals), as a CSV download: what ``icploop score FILE.csv`` writes."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise IcploopError("no CSV file was chosen", "choose a CSV of leads or open deals")
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise IcploopError(
            f"{upload.filename} is larger than {MAX_UPLOAD_BYTES // 1_000_000} MB",
            "split it, or score it with `icploop score`",
        )
    records = read_upload(data, upload.filename)
    version = str(form.get("version") or "") or None
    state = web_state(request)
    await run_in_threadpool(release_sessions)

    def work(_progress: Any) -> str:
        _name, scored = score_frame(state, records, version)
        # a name like =HYPERLINK(...) from the upload must not become a formula in the download
        return str(neutralise_frame(scored).to_csv(index=False))

    job = state.jobs.submit("score", user.person_id, work)
    content: str = await state.jobs.result(job, wait=UPLOAD_WAIT, deadline=UPLOAD_DEADLINE)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", upload.filename.rsplit(".", 1)[0])[:80] or "records"
    return Response(
        content,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{stem}.scored.csv"'},
    )


def read_upload(data: bytes, filename: str) -> pd.DataFrame:
    """The rows of an uploaded CSV as text, or a one-line error naming the file."""
    try:
        records = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IcploopError(
            f"{filename} is not a readable CSV: {first}", "save it as CSV (UTF-8)"
        ) from exc
    if records.empty:
        raise IcploopError(f"{filename} has no rows", "add a header line and one row per record")
    return records


@router.get("/deals", name="deals_page", response_class=HTMLResponse)
def deals_page(
    request: Request, user: User, risky: Annotated[bool, Query()] = True
) -> HTMLResponse:
    """Open opportunities checked against the ICP in force: the criteria in words and, per deal,
    what puts it at risk. An AE sees their own deals."""
    data = data_context(request)
    checks = deal_checks(web_state(request), data["as_of"])
    deals = deals_seen_by(checks, user, risky=False)
    shown = deals_seen_by(checks, user, risky)
    return render(
        request,
        "deals.html",
        {
            **data,
            "checks": checks,
            "deals": shown,
            "total": len(deals),
            "at_risk": sum(bool(d["at_risk"]) for d in deals),
            "risky": risky,
        },
    )


@router.get("/forecast", name="forecast_page", response_class=HTMLResponse)
def forecast_page(
    request: Request,
    user: User,
    bad_share: BadShare = 0.06,
    points: Points = 5.0,
    years: Years = 3,
    margin: Margin = 0.8,
) -> HTMLResponse:
    """NRR 12 months ahead from the fit-tag mix (interval, groups, backtest), what a different
    bad-fit share of new deals would do to cohort NRR, and what more retention is worth."""
    data = data_context(request)
    view = forecast_view(web_state(request), data["as_of"], bad_share, points, years, margin)
    return render(
        request,
        "forecast.html",
        {
            **data,
            "f": view.forecast,
            "bad_fit": view.bad_fit,
            "value": view.retention,
            "bad_share": bad_share,
            "points": points,
            "years": years,
            "margin": margin,
        },
    )

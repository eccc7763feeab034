"""The numbers the dashboard and the API show, from the same functions the CLI calls.

Each is computed on demand and cached per as-of date (see ``WebState.cached``), so a page shows
in milliseconds after the first visit. Segment findings run the same search as
``icploop segments`` (churn outcome, depth 2) and keep the best and worst few.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from ibis.backends import BaseBackend

from icploop.formatting import json_value
from icploop.metrics.bridge import mrr_bridge, start_of_last
from icploop.metrics.calendar import add_months
from icploop.metrics.cohorts import cohort_triangles
from icploop.metrics.headline import headline
from icploop.metrics.retention import retention
from icploop.metrics.tables import CanonicalTables
from icploop.segments.catalog import OUTCOMES, search_outcome
from icploop.segments.frames import account_frame
from icploop.segments.lifetimes import ltv_by, ltv_dict, survival_by
from icploop.segments.outcomes import attribute_catalog
from icploop.web.state import WebState

TOP_SEGMENTS = 5


@dataclass(frozen=True)
class Findings:
    """The top value and top risk segments of one outcome, with the search's evidence."""

    outcome: str
    label: str
    n_accounts: int
    base_rate: float | None
    segments_evaluated: int
    value: list[dict[str, Any]] = field(default_factory=list)
    risk: list[dict[str, Any]] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)


def headline_of(state: WebState, as_of: dt.date) -> dict[str, Any]:
    """``icploop metrics`` headline for the month of ``as_of``."""

    def work(backend: BaseBackend) -> dict[str, Any]:
        result = headline(CanonicalTables.from_backend(backend), as_of).to_dict()
        return {k: json_value(v) for k, v in result.items()}

    return state.cached(("headline", as_of), work)


def nrr_trend(state: WebState, as_of: dt.date, quarters: int = 8) -> list[dict[str, Any]]:
    """NRR, GRR and logo churn by quarter, the last ``quarters`` quarters."""

    def work(backend: BaseBackend) -> list[dict[str, Any]]:
        tables = CanonicalTables.from_backend(backend)
        start = add_months(as_of, -3 * quarters).replace(day=1)
        frame = retention(tables, as_of, period="quarter", start=start).frame
        rows = frame[["period", "nrr", "grr", "logo_churn_rate", "n_accounts"]].tail(quarters)
        return [{k: json_value(v) for k, v in r.items()} for r in rows.to_dict("records")]

    return state.cached(("nrr_trend", as_of, quarters), work)


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    keep = ["segment", "n", "rate", "rate_lo", "rate_hi", "ratio", "q_value"]
    return [{k: json_value(r[k]) for k in keep if k in r} for r in frame.to_dict("records")]


def account_outcomes_frame(state: WebState, as_of: dt.date) -> pd.DataFrame:
    """Per account: attributes at close and outcomes as of ``as_of`` (the search's input)."""
    return state.cached(("account_frame", as_of), lambda b: account_frame(b, as_of))


def top_segments(
    state: WebState,
    as_of: dt.date,
    outcome: str = "churn",
    depth: int = 2,
    min_size: int | None = None,
    top: int = TOP_SEGMENTS,
) -> Findings:
    """The segments that do best (value) and worst (risk) on ``outcome``, significant at
    q < 0.05: the search of ``icploop segments`` with the same defaults."""
    spec = OUTCOMES[outcome]

    def work(backend: BaseBackend) -> Findings:
        frame = account_outcomes_frame(state, as_of)
        tables = CanonicalTables.from_backend(backend)
        catalog = attribute_catalog(tables, frame, (spec.column,))
        result = search_outcome(frame, outcome, depth, min_size, catalog=catalog)
        return Findings(
            outcome=outcome,
            label=spec.label,
            n_accounts=result.n_accounts,
            base_rate=json_value(result.base_rate),
            segments_evaluated=result.n_evaluated,
            value=_rows(result.top(top, direction="better", max_q=0.05)),
            risk=_rows(result.top(top, direction="worse", max_q=0.05)),
            caveats=list(result.caveats),
        )

    return state.cached(("segments", as_of, outcome, depth, min_size, top), work)


TRIANGLE_MONTHS = (3, 6, 12, 18, 24, 36)


def cohort_triangle(state: WebState, as_of: dt.date, cohorts: int = 8) -> dict[str, Any]:
    """Revenue and logo retention of the latest close cohorts at 3-36 months since start,
    with the cohort size (cells not yet observed are None)."""

    def work(backend: BaseBackend) -> dict[str, Any]:
        frame = cohort_triangles(
            CanonicalTables.from_backend(backend), as_of, max_months=max(TRIANGLE_MONTHS)
        ).frame
        kept = sorted(frame.cohort.unique())[-cohorts:]
        rows = []
        for cohort in kept:
            part = frame[frame.cohort == cohort].set_index("months_since")
            rows.append(
                {
                    "cohort": cohort,
                    "n": int(part.n_cohort.iloc[0]),
                    "revenue": [
                        json_value(part.revenue_retention.get(k)) if k in part.index else None
                        for k in TRIANGLE_MONTHS
                    ],
                    "logo": [
                        json_value(part.logo_retention.get(k)) if k in part.index else None
                        for k in TRIANGLE_MONTHS
                    ],
                }
            )
        return {"months": TRIANGLE_MONTHS, "rows": rows}

    return state.cached(("triangle", as_of, cohorts), work)


def survival_of(
    state: WebState, as_of: dt.date, by: str | None = None, cox: bool = False
) -> dict[str, Any]:
    """Kaplan-Meier survival by ``by`` with the log-rank test (and Cox hazard ratios): what
    ``icploop survival --json`` gives."""

    def work(backend: BaseBackend) -> dict[str, Any]:
        report = survival_by(CanonicalTables.from_backend(backend), as_of, by, cox=cox)
        return {"as_of": as_of, **report.to_dict()}

    return state.cached(("survival", as_of, by, cox), work)


def ltv_of(state: WebState, as_of: dt.date, by: str | None = None) -> dict[str, Any]:
    """Lifetime value by ``by`` (sBG per segment, DEL and DERL): what ``icploop ltv --json``
    gives."""

    def work(backend: BaseBackend) -> dict[str, Any]:
        return ltv_dict(ltv_by(CanonicalTables.from_backend(backend), as_of, by))

    return state.cached(("ltv", as_of, by), work)


def bridge_of(
    state: WebState, as_of: dt.date, period: str = "month", periods: int = 12, by: str | None = None
) -> dict[str, Any]:
    """The MRR bridge of the last ``periods`` months or quarters (by one attribute): what
    ``icploop metrics bridge --json`` gives."""
    start = start_of_last(as_of, period, periods)  # type: ignore[arg-type]

    def work(backend: BaseBackend) -> dict[str, Any]:
        tables = CanonicalTables.from_backend(backend)
        dims = [by] if by else []
        return mrr_bridge(tables, as_of, period=period, by=dims, start=start).to_dict()  # type: ignore[arg-type]

    return state.cached(("bridge", as_of, period, periods, by), work)

"""The pack's evidence for one quarter, computed from the warehouse (no app store here).

Sections, in the order of the review's agenda (``docs``: loop.md, stage 3):

1. churn cohort: accounts whose first deal closed 12-18 months before the quarter's end (the
   six months ending 12 months before it), and which of them churned within 12 months, by
   closing AE, segment, industry and stated use case;
2. fit-tag distribution (from the app store: ``icploop.review.loop_state``);
3. close rate and discount: won and lost deals closed in the last 4 quarters;
4. synthesis: groups where churn and close-rate evidence point the same way.

Plus the headline of the quarter's last month, the NRR trend by quarter and the micro-review
flag. Every rate carries n, a 95% Wilson interval and a BH q-value (``icploop.review.tables``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from icploop.formatting import finite
from icploop.icp.micro_review import nrr_drops
from icploop.metrics.cohorts import cohort_triangles
from icploop.metrics.headline import headline
from icploop.metrics.survival import kaplan_meier
from icploop.metrics.tables import CanonicalTables
from icploop.review.quarters import Quarter
from icploop.review.synthesis import synthesis
from icploop.review.tables import rate, rates_by

CHURN_DIMENSIONS = ("closing_ae", "segment", "industry", "use_case")
CLOSE_DIMENSIONS = ("segment", "industry", "use_case", "lead_source", "closing_ae")
#: quarters of close cohorts drawn in the retention triangle
TRIANGLE_QUARTERS = 12


def cohort_window(quarter: Quarter) -> tuple[dt.date, dt.date]:
    """First and last close date of the churn cohort: 12-18 months before the quarter's end
    (for 2026Q3: 2025-04-01 to 2025-09-30). An account whose first paid month came after its
    close can still miss a full first year: it is counted in ``censored``, not as retained."""
    return quarter.shift(-5).start, quarter.shift(-4).end


def deal_window(quarter: Quarter) -> tuple[dt.date, dt.date]:
    """The last 4 quarters up to and including ``quarter`` (for 2026Q3: 2025-10-01 to 2026-09-30)."""
    return quarter.shift(-3).start, quarter.end


def _closed_between(frame: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    closes = pd.to_datetime(frame["close_date"])
    return frame[(closes >= pd.Timestamp(start)) & (closes <= pd.Timestamp(end))]


def churn_cohort(accounts: pd.DataFrame, quarter: Quarter) -> dict[str, Any]:
    """The churn cohort: overall first-year churn and its breakdown by ``CHURN_DIMENSIONS``.

    Accounts whose first-year outcome is still unknown (first paid month under 12 months before
    the quarter's end, e.g. a late start after close) are left out and counted in ``censored``.
    """
    start, end = cohort_window(quarter)
    cohort = _closed_between(accounts, start, end)
    known = cohort[cohort["first_year_churn"].notna()]
    return {
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "overall": rate(float(known["first_year_churn"].sum()), float(len(known))),
        "censored": int(len(cohort) - len(known)),
        "by": rates_by(known, "first_year_churn", CHURN_DIMENSIONS),
    }


def close_rates(deals: pd.DataFrame, quarter: Quarter) -> dict[str, Any]:
    """Win rate (won / (won + lost), 95% Wilson) and mean discount of won deals, overall and by
    ``CLOSE_DIMENSIONS``, for deals closed in the last 4 quarters (``deals`` is already cut to
    that window by ``icploop.segments.frames.deal_frame``). Discounts are fractions of list price."""
    start, end = deal_window(quarter)
    won = deals[deals["won"] == 1]
    deals = deals.assign(won_discount=deals["discount"].where(deals["won"] == 1))
    return {
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "overall": {
            **rate(float(deals["won"].sum()), float(len(deals))),
            "mean_discount": finite(won["discount"].mean()),
        },
        "by": rates_by(deals, "won", CLOSE_DIMENSIONS, extra={"mean_discount": "won_discount"}),
    }


def headline_and_trend(tables: CanonicalTables, quarter: Quarter) -> dict[str, Any]:
    """Headline of the quarter's last month (NRR, GRR, logo churn as fractions), cohort NRR at
    each quarter end, and whether a monthly micro-review is due (NRR fell > 2 points in the
    quarter: ``icploop.icp.micro_review``)."""
    head = headline(tables, quarter.end).to_dict()
    drops = nrr_drops(tables, quarter.end)
    series = drops.series.tail(8)
    trend = [
        {
            "period": str(r.period),
            "n_accounts": int(r.n_accounts),
            "nrr": finite(r.nrr),
            "change_points": finite(r.change_points),
            "dropped": bool(r.dropped),
        }
        for r in series.itertuples()
    ]
    last = trend[-1] if trend else None
    due = bool(last and last["period"] == quarter.label and last["dropped"])
    fall = -float(last["change_points"] or 0) if last else 0.0
    reason = (
        f"NRR fell {fall:.1f} points in {quarter.label}: a monthly micro-review is due"
        if due
        else "NRR did not fall more than 2 points in the quarter: no micro-review needed"
    )
    return {
        "headline": {k: head[k] for k in ("as_of", "mrr", "nrr", "grr", "logo_churn_rate")},
        "nrr_trend": trend,
        "micro_review": {"due": due, "reason": reason, "threshold_points": 2.0},
        "caveats": list(drops.caveats),
    }


def chart_data(tables: CanonicalTables, quarter: Quarter) -> dict[str, Any]:
    """What the charts draw: the logo retention triangle of recent close cohorts (fractions) and
    Kaplan-Meier curves by account segment (survival by months since first payment)."""
    tri = cohort_triangles(tables, quarter.end, max_months=24).frame
    recent = sorted(tri["cohort"].unique())[-TRIANGLE_QUARTERS:]
    tri = tri[tri["cohort"].isin(recent)]
    km = kaplan_meier(tables, quarter.end, by="segment")
    curves = km.curves[km.curves["months"] <= 36]
    return {
        "triangle": [
            {
                "cohort": str(r.cohort),
                "months": int(r.months_since),
                "retention": finite(r.logo_retention),
            }
            for r in tri.itertuples()
        ],
        "km": [
            {"group": str(r.group), "months": int(r.months), "survival": finite(r.survival)}
            for r in curves.itertuples()
        ],
        "km_logrank_p": km.logrank["p_value"] if km.logrank else None,
    }


def analytics_evidence(
    tables: CanonicalTables, accounts: pd.DataFrame, deals: pd.DataFrame, quarter: Quarter
) -> dict[str, Any]:
    """Every warehouse-derived section of the pack (JSON-friendly), keyed by section id."""
    cohort = churn_cohort(accounts, quarter)
    close = close_rates(deals, quarter)
    return {
        "headline": headline_and_trend(tables, quarter),
        "churn_cohort": cohort,
        "close_rates": close,
        "synthesis": synthesis(accounts, deals, quarter),
        "charts": chart_data(tables, quarter),
    }

"""Logo and revenue retention triangles by months since the first paying month, per cohort.

A cell (cohort, k) counts only the accounts of the cohort observed k months after their own first
month (first month + k <= as_of), so late joiners of a quarter cohort never read as churned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from icploop.ingest.paying import DEFAULT_SETTINGS, MovementSettings, index_of, paying_months
from icploop.metrics.facts import as_of_view, stored_facts
from icploop.metrics.tables import (
    CLOSE_COHORT,
    CanonicalTables,
    account_dimensions,
    close_cohort,
)


@dataclass(frozen=True)
class CohortTriangles:
    """Retention by cohort and months since start, long form.

    ``frame`` columns: ``cohort`` (close cohort, e.g. ``2024Q1``), ``months_since`` (k),
    ``n_cohort`` (accounts in the cohort), ``n_exposed`` (accounts observed at k),
    ``n_active`` (of those, paying at k), ``mrr_start`` (their MRR in their first month),
    ``mrr_active`` (their MRR at k; currency units), ``logo_retention`` = n_active /
    n_exposed, ``revenue_retention`` = mrr_active / mrr_start (NRR-like: above 1 with expansion).
    """

    frame: pd.DataFrame
    as_of: dt.date

    def logo_matrix(self) -> pd.DataFrame:
        """Cohorts as rows, months since start as columns, logo retention in the cells."""
        return self.frame.pivot(index="cohort", columns="months_since", values="logo_retention")

    def revenue_matrix(self) -> pd.DataFrame:
        """Cohorts as rows, months since start as columns, revenue retention in the cells."""
        return self.frame.pivot(index="cohort", columns="months_since", values="revenue_retention")


def cohort_triangles(
    tables: CanonicalTables,
    as_of: dt.date,
    settings: MovementSettings = DEFAULT_SETTINGS,
    max_months: int | None = None,
) -> CohortTriangles:
    """Logo and revenue retention triangles per close cohort (quarter of the first won deal).

    Months since start are counted from each account's first paying month. A churned-and-returned
    account counts as active again in the months it pays. ``max_months`` cuts the columns.
    """
    as_of_m = index_of(as_of)
    stored = stored_facts(tables, settings)
    if stored is not None:
        pos = as_of_view(stored, as_of_m).select("account_id", "m", "cents", "first_m")
    else:
        pos = paying_months(tables.mrr_monthly, as_of, settings)
        pos = pos.join(pos.group_by("account_id").agg(first_m=pos.m.min()), "account_id")
    pos = pos.join(close_cohort(tables), "account_id")
    pos = pos.mutate(k=pos.m - pos.first_m)
    if max_months is not None:
        pos = pos.filter(pos.k <= max_months)
    cells = (
        pos.group_by([CLOSE_COHORT, "first_m", "k"])
        .agg(n_active=pos.account_id.count(), cents=pos.cents.sum())
        .to_pandas()
    )
    starts = cells[cells.k == 0][[CLOSE_COHORT, "first_m", "n_active", "cents"]]
    starts = starts.rename(columns={"n_active": "n_start", "cents": "cents_start"})
    rows = []
    for cohort_label, part in starts.groupby(CLOSE_COHORT):
        horizon = as_of_m - int(part.first_m.min())
        if max_months is not None:
            horizon = min(horizon, max_months)
        got = cells[cells[CLOSE_COHORT] == cohort_label]
        for k in range(horizon + 1):
            exposed = part[part.first_m + k <= as_of_m]
            at_k = got[got.k == k]
            rows.append(
                {
                    "cohort": cohort_label,
                    "months_since": k,
                    "n_cohort": int(part.n_start.sum()),
                    "n_exposed": int(exposed.n_start.sum()),
                    "n_active": int(at_k.n_active.sum()),
                    "mrr_start": float(exposed.cents_start.sum()) / 100,
                    "mrr_active": float(at_k.cents.sum()) / 100,
                }
            )
    frame = pd.DataFrame(
        rows,
        columns=[
            "cohort", "months_since", "n_cohort", "n_exposed", "n_active", "mrr_start",
            "mrr_active",
        ],
    )  # fmt: skip
    frame["logo_retention"] = frame.n_active / frame.n_exposed.where(frame.n_exposed > 0)
    frame["revenue_retention"] = frame.mrr_active / frame.mrr_start.where(frame.mrr_start > 0)
    return CohortTriangles(frame=frame, as_of=as_of)


def cumulative_logo_retention(
    tables: CanonicalTables,
    as_of: dt.date,
    by: Sequence[str] = (CLOSE_COHORT,),
    settings: MovementSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """Per group: of the accounts that ever paid up to ``as_of`` (``logo_start``), those paying
    in the as-of month (``logo_active``) and their share, ``logo_retention`` (cumulative since
    each account's start: an account that churned and came back counts as retained).

    By close cohort it is the cohort's logo retention to date, the number that belongs next to
    the cohort's NRR and GRR (a month's logo churn rate does not). Columns: the ``by``
    dimensions, ``logo_start``, ``logo_active``, ``logo_retention``.
    """
    as_of_m = index_of(as_of)
    pos = paying_months(tables.mrr_monthly, as_of, settings)
    per = pos.group_by("account_id").agg(active=(pos.m == as_of_m).any())
    dims = list(by)
    if dims:
        per = per.join(account_dimensions(tables, dims), "account_id")
    grouped = per.group_by(dims) if dims else per
    frame = grouped.aggregate(
        logo_start=per.account_id.count(), logo_active=per.active.cast("int64").sum()
    ).to_pandas()
    frame["logo_active"] = pd.to_numeric(frame["logo_active"]).fillna(0).astype("int64")
    frame["logo_retention"] = frame.logo_active / frame.logo_start.where(frame.logo_start > 0)
    return frame.sort_values(dims).reset_index(drop=True) if dims else frame

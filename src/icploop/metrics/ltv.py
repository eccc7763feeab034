"""Lifetime value per segment: the simple formula and the sBG model, with LTV:CAC and payback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from icploop.errors import IcploopError
from icploop.ingest.paying import DEFAULT_SETTINGS, MovementSettings, index_of, paying_months
from icploop.metrics.lifetime import ShiftedBetaGeometric, cac_payback, simple_ltv
from icploop.metrics.survival import duration_counts
from icploop.metrics.tables import CanonicalTables, account_dimensions

LtvPeriod = Literal["month", "year"]


@dataclass(frozen=True)
class LtvResult:
    """LTV per group. ``frame`` columns: ``group``, ``n_accounts`` (paying at as_of),
    ``arpa`` (MRR per paying account at as_of, per month), ``churn_rate`` (monthly logo churn
    over the observed months: churns / account-months at risk), ``ltv_simple`` (ARPA x margin /
    churn; NaN at zero churn), ``alpha``, ``beta`` (sBG on the group's start-month cohorts, in
    ``period`` units), ``del_periods`` (discounted expected lifetime in periods), ``ltv_sbg``
    (ARPA per period x margin x DEL), and with a CAC table ``cac``, ``ltv_to_cac``,
    ``payback_months``. Money in the reporting currency.
    """

    frame: pd.DataFrame
    as_of: dt.date
    by: str | None
    period: LtvPeriod
    annual_discount: float
    gross_margin: float
    caveats: tuple[str, ...] = field(default=())


def survivor_cohorts(counts: pd.DataFrame, as_of_m: int, size: int) -> list[list[int]]:
    """Survivors per period of each start-month cohort, from (first_m, duration, event, n) counts."""
    out = []
    for first_m, part in counts.groupby("first_m"):
        horizon = (as_of_m - int(first_m)) // size
        if horizon < 1:
            continue
        n = part.n.to_numpy("int64")
        dur = part.duration.to_numpy("int64")
        ev = part.event.to_numpy(bool)
        # an event at duration d is lost by period k when d <= k * size: period ceil(d / size)
        period = np.minimum(-(-dur[ev] // size), horizon + 1)
        lost = np.bincount(period, weights=n[ev], minlength=horizon + 2)[: horizon + 1]
        out.append([int(v) for v in n.sum() - np.cumsum(lost)])
    return out


def segment_ltv(
    tables: CanonicalTables,
    as_of: dt.date,
    by: str | None = None,
    *,
    gross_margin: float = 0.8,
    annual_discount: float = 0.10,
    period: LtvPeriod = "month",
    cac: Mapping[str, float] | None = None,
    settings: MovementSettings = DEFAULT_SETTINGS,
) -> LtvResult:
    """LTV per value of ``by`` (or overall) by the simple formula and by an sBG fit.

    ``period`` chooses monthly or annual renewal periods for the sBG fit (annual suits annual
    contracts); ``annual_discount`` is converted to the period rate. Groups where nobody churned
    get NaN for both LTVs and a caveat (the formulas are undefined there). ``cac`` maps group
    values (e.g. lead sources) to the acquisition cost per new account.
    """
    if not 0 <= gross_margin <= 1:
        raise IcploopError("gross margin must be within 0..1")
    as_of_m = index_of(as_of)
    size = 12 if period == "year" else 1
    d_period = (1 + annual_discount) ** (size / 12) - 1
    dims = [by] if by else []
    counts = duration_counts(tables, as_of, dims, settings)
    pos = paying_months(tables.mrr_monthly, as_of, settings)
    now = pos.filter(pos.m == as_of_m)
    if dims:
        now = now.join(account_dimensions(tables, dims), "account_id")
    arpa_t = (now.group_by(dims) if dims else now).aggregate(
        n_accounts=now.account_id.count(), cents=now.cents.sum()
    )
    arpa = arpa_t.to_pandas()
    key = (lambda f: f[by].astype(str)) if by else (lambda f: pd.Series("all", index=f.index))
    arpa["group"] = key(arpa)
    counts["group"] = key(counts)
    rows, caveats = [], []
    if counts.empty:
        caveats.append(
            f"no account paid before {as_of:%B %Y}: lifetimes are measured from an account's "
            "first paying month to the as-of date, so there is nothing to measure yet"
        )
    for group, part in counts.groupby("group"):
        a = arpa[arpa.group == group]
        n_now = int(a.n_accounts.sum())
        arpa_m = float(a.cents.sum()) / 100 / n_now if n_now else float("nan")
        events = int(part.n[part.event.astype(bool)].sum())
        exposure = float((part.duration * part.n).sum())
        churn = events / exposure if exposure else float("nan")
        simple = simple_ltv(arpa_m, gross_margin, churn) if n_now and exposure else None
        row: dict[str, object] = {
            "group": group,
            "n_accounts": n_now,
            "arpa": arpa_m,
            "churn_rate": churn,
            "ltv_simple": np.nan if simple is None else simple,
            "alpha": np.nan,
            "beta": np.nan,
            "del_periods": np.nan,
            "ltv_sbg": np.nan,
        }
        cohorts = survivor_cohorts(part, as_of_m, size)
        if events and cohorts and any(c[-1] < c[0] for c in cohorts):
            model = ShiftedBetaGeometric().fit(cohorts)
            dl = model.discounted_expected_lifetime(d_period)
            row.update(alpha=model.alpha_, beta=model.beta_, del_periods=dl)
            row["ltv_sbg"] = arpa_m * size * gross_margin * dl
        else:
            caveats.append(f"{group}: no churn observed; LTV is undefined")
        if cac is not None:
            c = cac.get(str(group))
            row["cac"] = np.nan if c is None else c
            row["ltv_to_cac"] = np.nan if not c else float(row["ltv_sbg"]) / c  # type: ignore[arg-type]
            pb = None if c is None else cac_payback(c, arpa_m, gross_margin)
            row["payback_months"] = np.nan if pb is None else pb
        rows.append(row)
    return LtvResult(
        frame=pd.DataFrame(rows),
        as_of=as_of,
        by=by,
        period=period,
        annual_discount=annual_discount,
        gross_margin=gross_margin,
        caveats=tuple(caveats),
    )

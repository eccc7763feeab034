"""Time to churn: durations per account, Kaplan-Meier by segment, log-rank test, first-year churn.

Durations are whole months from the first paying month to the first churn month (the first month
at zero after paying; a lapse netted by ``net_returns_within_days`` is not a churn). Accounts still
paying at ``as_of`` are right-censored at ``as_of - first month``. Accounts whose first month is
the as-of month have no exposure yet and are left out. The engine returns counts per
(group, duration, event); lifelines runs on those counts as frequency weights, which gives the same
estimates as one row per account.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test

from icploop.ingest.paying import DEFAULT_SETTINGS, MovementSettings, index_of, paying_months
from icploop.metrics.calendar import month_start
from icploop.metrics.facts import as_of_view, stored_facts
from icploop.metrics.movements import movements
from icploop.metrics.tables import CanonicalTables, account_dimensions

MIN_EVENTS = 5


def durations(
    tables: CanonicalTables, as_of: dt.date, settings: MovementSettings = DEFAULT_SETTINGS
) -> ir.Table:
    """Per account: ``account_id``, ``first_m`` (month index), ``duration`` (months), ``event``.

    ``event`` is true when the account churned by ``as_of``; otherwise ``duration`` is the
    censoring time ``as_of - first month``. Only accounts with ``duration >= 1`` are returned.
    """
    as_of_m = index_of(as_of)
    pos = paying_months(tables.mrr_monthly, as_of, settings)
    stored = stored_facts(tables, settings)
    if stored is not None:
        # each account's first month and the months its paying ends: a small GROUP BY, no sort
        p = as_of_view(stored, as_of_m)
        p = p.mutate(end=((p.nm.isnull() & (p.m < as_of_m)) | (p.nm > p.m + 1)).fill_null(False))
        p = p.filter(p.end | (p.m == p.first_m))
        j = p.group_by("account_id").agg(
            first_m=p.first_m.min(), churn_m=ibis.ifelse(p.end, p.m + 1, None).min()
        )
    elif settings.net_returns_within_days is None:
        # the first churn is the month after the first paying month not followed by the next
        # month: one window (next paying month) and one GROUP BY, instead of building every
        # movement row with two joins and then keeping only the churns
        nm = pos.m.lead().over(ibis.window(group_by=pos.account_id, order_by=pos.m))
        p = pos.mutate(nm=nm)
        ends = (p.nm.isnull() & (p.m < as_of_m)) | (p.nm > p.m + 1)
        j = p.group_by("account_id").agg(
            first_m=p.m.min(), churn_m=ibis.ifelse(ends.fill_null(False), p.m + 1, None).min()
        )
    else:
        first = pos.group_by("account_id").agg(first_m=pos.m.min())
        mv = movements(tables.mrr_monthly, as_of, settings)
        churned = mv.filter(mv.churn > 0).group_by("account_id").agg(churn_m=mv.m.min())
        j = first.left_join(churned, "account_id")
    out = j.select(
        "account_id",
        "first_m",
        duration=ibis.coalesce(j.churn_m, as_of_m) - j.first_m,
        event=j.churn_m.notnull(),
    )
    return out.filter(out.duration >= 1)


def duration_counts(
    tables: CanonicalTables,
    as_of: dt.date,
    by: Sequence[str] = (),
    settings: MovementSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """Counts per (dimensions, ``first_m``, ``duration``, ``event``): column ``n`` (accounts)."""
    d = durations(tables, as_of, settings)
    if by:
        d = d.join(account_dimensions(tables, by), "account_id")
    keys = [*by, "first_m", "duration", "event"]
    frame = d.group_by(keys).agg(n=d.account_id.count()).to_pandas()
    return frame.sort_values(keys).reset_index(drop=True)


def first_year_churn(
    tables: CanonicalTables, as_of: dt.date, settings: MovementSettings = DEFAULT_SETTINGS
) -> ir.Table:
    """Per account with a full 12 months of exposure (first month + 12 <= as_of month).

    Columns: ``account_id``, ``first_month`` (date), ``churned_first_year`` (churned with a
    duration of at most 12 months: an annual contract not renewed after its first year counts).
    Accounts younger than 12 months are left out rather than counted as retained.
    """
    d = durations(tables, as_of, settings)
    d = d.filter(d.first_m + 12 <= index_of(as_of))
    return d.select(
        "account_id",
        first_month=month_start(d.first_m),
        churned_first_year=d.event & (d.duration <= 12),
    )


@dataclass(frozen=True)
class SurvivalCurves:
    """Kaplan-Meier curves per group, with Greenwood-based (lifelines) confidence bands.

    ``curves``: ``group``, ``months``, ``survival``, ``ci_lower``, ``ci_upper``, ``at_risk``,
    ``events``. ``summary``: ``group``, ``n_accounts``, ``events``, ``s_at`` (S at
    ``at_months``), ``s_at_lower``, ``s_at_upper``, ``median_months`` (inf when S never falls to
    0.5). ``logrank``: test statistic, degrees of freedom and p-value across groups (None with
    one group).
    """

    curves: pd.DataFrame
    summary: pd.DataFrame
    logrank: dict[str, float] | None
    at_months: int
    by: str | None
    caveats: tuple[str, ...] = field(default=())


def _group_labels(frame: pd.DataFrame, by: str | None) -> pd.Series:
    return frame[by].astype(str) if by else pd.Series("all accounts", index=frame.index)


def kaplan_meier(
    tables: CanonicalTables,
    as_of: dt.date,
    by: str | None = None,
    *,
    at_months: int = 12,
    alpha: float = 0.05,
    settings: MovementSettings = DEFAULT_SETTINGS,
    min_group: int = 30,
) -> SurvivalCurves:
    """Kaplan-Meier survival per value of one dimension ``by`` (or overall), with a log-rank test.

    ``alpha`` sets the band level (0.05 = 95%). S(``at_months``) is the probability of still
    paying ``at_months`` months after the first paying month; it is NaN for a group whose
    longest observation is shorter. Groups with fewer than ``min_group`` accounts or
    ``MIN_EVENTS`` churns are listed in ``caveats``.
    """
    counts = duration_counts(tables, as_of, [by] if by else [], settings)
    counts = counts.assign(group=_group_labels(counts, by))
    curves, rows, caveats = [], [], []
    for group, part in counts.groupby("group", sort=True):
        kmf = KaplanMeierFitter(alpha=alpha)
        kmf.fit(part.duration, part.event, weights=part.n, label=str(group))
        table = kmf.event_table
        sf = kmf.survival_function_.iloc[:, 0]
        ci = kmf.confidence_interval_
        curves.append(
            pd.DataFrame(
                {
                    "group": group,
                    "months": sf.index.astype("int64"),
                    "survival": sf.to_numpy(),
                    "ci_lower": ci.iloc[:, 0].to_numpy(),
                    "ci_upper": ci.iloc[:, 1].to_numpy(),
                    "at_risk": table.at_risk.reindex(sf.index).to_numpy(),
                    "events": table.observed.reindex(sf.index).to_numpy(),
                }
            )
        )
        n, events = int(part.n.sum()), int(part.n[part.event].sum())
        observed = at_months <= part.duration.max()
        s_at = float(kmf.predict(at_months)) if observed else float("nan")
        lo, hi = (
            (float(v) for v in ci[ci.index <= at_months].iloc[-1])
            if observed
            else (float("nan"),) * 2
        )
        rows.append(
            {
                "group": group,
                "n_accounts": n,
                "events": events,
                "s_at": s_at,
                "s_at_lower": lo,
                "s_at_upper": hi,
                "median_months": float(kmf.median_survival_time_),
            }
        )
        if n < min_group or events < MIN_EVENTS:
            caveats.append(f"{group}: {n} accounts and {events} churns; the curve is uncertain")
    logrank = None
    if counts.group.nunique() > 1:
        res = multivariate_logrank_test(
            counts.duration, counts.group, counts.event, weights=counts.n
        )
        logrank = {
            "test_statistic": float(res.test_statistic),
            "degrees_of_freedom": float(res.degrees_of_freedom),
            "p_value": float(res.p_value),
        }
    return SurvivalCurves(
        curves=pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(),
        summary=pd.DataFrame(rows),
        logrank=logrank,
        at_months=at_months,
        by=by,
        caveats=tuple(caveats),
    )

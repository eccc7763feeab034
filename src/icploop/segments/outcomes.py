"""Outcomes per account: who stayed, grew and adopted, from the retention engine.

One row per customer (an account that ever paid), with its attributes at close and its outcomes
as of a date. Censoring is respected: an outcome that needs 12 months of history is missing (not
"retained") for younger accounts. Definitions are in ``docs/statistics.md``.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd

from icploop.errors import IcploopError
from icploop.ingest.attributes import (
    AttributeCatalog,
    account_attribute_columns,
    first_deals,
    frame_catalog,
    role_overrides,
    with_account_attributes,
    with_extra_attributes,
)
from icploop.ingest.paying import DEFAULT_SETTINGS, MovementSettings, index_of, paying_months
from icploop.metrics.activation import first_value, never_activated
from icploop.metrics.calendar import month_start
from icploop.metrics.survival import durations
from icploop.metrics.tables import CanonicalTables

#: days without revenue or use after which a started account counts as never activated
ACTIVATION_DAYS = 60
#: time to first value is followed for this many days (later, or never, counts as this many)
VALUE_DAYS = 180


def account_outcomes(
    tables: CanonicalTables,
    as_of: dt.date,
    usage: ir.Table | None = None,
    deal_use_cases: ir.Table | None = None,
    settings: MovementSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """One row per customer account with attributes and outcomes as of ``as_of``.

    Outcomes (money in the reporting currency, monthly amounts):

    - ``first_year_churn``: 1 if MRR reached 0 within 12 months of the first paid month, 0 if
      not, missing when the account has less than 12 months of history (censored).
    - ``churn_6m``: the same within 6 months (missing under 6 months of history).
    - ``start_mrr`` (first paid month), ``nrr_12m`` (MRR 12 months later / start MRR; 0 after
      churn; missing under 12 months).
    - ``ltv``: revenue realised to date (sum of monthly MRR): honest but age-dependent, so
      compare it within cohorts or through ``ltv_per_month`` (revenue per paid month).
    - ``churned_mrr``: the MRR lost when the account churned (0 while it pays).
    - ``adoption``: share of the use cases committed on won deals that saw use in days 0-90;
      ``stalled``: usage in days 60-90 fell under half of days 0-30 (or stopped), both missing
      without usage data.
    """
    as_of_m = index_of(as_of)
    pos = paying_months(tables.mrr_monthly, as_of, settings)
    d = durations(tables, as_of, settings)
    first = pos.group_by("account_id").agg(
        first_m=pos.m.min(), revenue=pos.cents.sum(), paid_months=pos.m.count()
    )
    at = pos.join(first, "account_id")
    month0 = at.cents.sum(where=at.m == at.first_m)
    month12 = at.cents.sum(where=at.m == at.first_m + 12)
    per = at.group_by("account_id").agg(
        first_m=at.first_m.min(),
        revenue=at.revenue.max(),
        paid_months=at.paid_months.max(),
        start=month0,
        at12=month12,
    )
    churn = d.select("account_id", "duration", "event")
    last = pos.join(churn.filter(churn.event), "account_id")
    last = last.join(first.select("account_id", f_m="first_m"), "account_id")
    lost = (
        last.filter(last.m == last.f_m + last.duration - 1)
        .group_by("account_id")
        .agg(churned_cents=last.cents.sum())
    )
    out = per.left_join(churn, "account_id").left_join(lost, "account_id")
    age = as_of_m - out.first_m
    event = out.event.fill_null(False)
    duration = out.duration
    frame = out.select(
        account_id=out.account_id,
        first_month=month_start(out.first_m),
        first_year_churn=ibis.ifelse(
            age >= 12, (event & (duration <= 12)).cast("int8"), ibis.null("int8")
        ),
        churn_6m=ibis.ifelse(age >= 6, (event & (duration <= 6)).cast("int8"), ibis.null("int8")),
        start_mrr=out.start.cast("float64") / 100,
        nrr_12m=ibis.ifelse(
            age >= 12, out.at12.fill_null(0).cast("float64") / out.start, ibis.null("float64")
        ),
        ltv=out.revenue.cast("float64") / 100,
        months_observed=age,
        paid_months=out.paid_months,
        churned=event,
        churned_mrr=out.churned_cents.fill_null(0).cast("float64") / 100,
    ).to_pandas()
    # a nullable int8 arrives as int8 (no account censored), float64 (some) or object (all):
    # 1.0, 0.0 or NaN in every case, so sums, means and fills behave alike on any history
    censored = ["first_year_churn", "churn_6m"]
    frame[censored] = frame[censored].astype("float64")
    frame["ltv_per_month"] = frame["ltv"] / frame["paid_months"].clip(lower=1)
    frame = with_account_attributes(frame, tables)
    if usage is not None and tables.deals is not None:
        frame = frame.merge(
            _adoption(tables.deals, usage, deal_use_cases, as_of), on="account_id", how="left"
        )
    frame["days_observed"] = _days_since_start(frame, as_of)
    return frame.sort_values("account_id").reset_index(drop=True)


def _days_since_start(frame: pd.DataFrame, as_of: dt.date) -> pd.Series:
    """Days from each account's start (first won deal's close, else first paid month) to
    ``as_of``: the exposure an outcome with a horizon needs."""
    start = pd.to_datetime(frame["close_date"] if "close_date" in frame else frame["first_month"])
    return (pd.Timestamp(as_of) - start).dt.days


def activation_outcomes(
    tables: CanonicalTables,
    as_of: dt.date,
    usage: ir.Table | None = None,
    days: int = ACTIVATION_DAYS,
    value_days: int = VALUE_DAYS,
) -> pd.DataFrame:
    """One row per account that started by ``as_of`` (``icploop.metrics.activation``), with its
    attributes and how soon it got value:

    - ``start_date``, ``first_value_date``, ``days_to_value`` as ``first_value`` gives them;
    - ``never_activated``: 1 when no revenue or use came within ``days`` days of the start.
    - ``time_to_value``: ``days_to_value`` capped at ``value_days`` (never counts as the cap).
    - ``days_observed``: days from the start to ``as_of``. Both outcomes are as seen so far:
      a search counts only accounts observed for the whole horizon.

    Raises ``IcploopError`` without a won deal.
    """
    starts = first_value(tables, as_of, usage)
    start = pd.to_datetime(starts["start_date"])
    waited = starts["days_to_value"]
    frame = pd.DataFrame(
        {
            "account_id": starts["account_id"],
            "first_month": start,
            "start_date": starts["start_date"],
            "first_value_date": starts["first_value_date"],
            "days_to_value": waited,
            "never_activated": never_activated(waited, days),
            "time_to_value": waited.fillna(value_days).clip(upper=value_days),
            "days_observed": (pd.Timestamp(as_of) - start).dt.days,
        }
    )
    frame = with_account_attributes(frame, tables).drop(columns=["first_month"])
    return frame.sort_values("account_id").reset_index(drop=True)


def deal_outcomes(tables: CanonicalTables) -> pd.DataFrame:
    """One row per decided (won or lost) deal: ``won`` (0/1), the deal's ``outcome``, ``discount``
    and ``deal_amount`` (its amount, reporting currency), with its account's attributes and
    extra attributes (as in the account frame). Raises ``IcploopError`` without the deals or accounts table."""
    if tables.deals is None or tables.accounts is None:
        raise IcploopError("win rates need the deals and accounts tables", "load them first")
    deals = tables.deals.filter(tables.deals.outcome.isin(["won", "lost"]))
    cols = account_attribute_columns(tables.accounts)
    measures = {
        **({"discount": deals.discount} if "discount" in deals.columns else {}),
        **({"deal_amount": deals.amount.cast("float64")} if "amount" in deals.columns else {}),
    }
    frame = tables.accounts.select("account_id", *cols).join(
        deals.select("account_id", "outcome", **measures), "account_id"
    )
    frame = with_extra_attributes(frame.to_pandas(), tables)
    frame["won"] = (frame["outcome"] == "won").astype(int)
    return frame


def attribute_catalog(
    tables: CanonicalTables, frame: pd.DataFrame, labels: tuple[str, ...] = ()
) -> AttributeCatalog:
    """The roles of ``frame``'s columns (an account or deal frame of ``tables``): the schema's,
    the mapping's ``role:`` stored with the tables, else inferred; ``labels`` are outcomes."""
    return frame_catalog(frame, role_overrides(tables.attribute_roles), labels)


def _adoption(
    deals: ir.Table, usage: ir.Table, deal_use_cases: ir.Table | None, as_of: dt.date
) -> pd.DataFrame:
    closes = first_deals(deals).select("account_id", "close_date")
    u = usage.filter(usage.date <= as_of).join(closes, "account_id")
    day = u.date.delta(u.close_date, unit="day")
    u = u.mutate(day=day).filter(lambda r: (r.day >= 0) & (r.day < 90))
    trend = (
        u.group_by("account_id")
        .agg(
            early=u.events.sum(where=u.day < 30).cast("float64"),
            late=u.events.sum(where=u.day >= 60).cast("float64"),
        )
        .to_pandas()
    )
    early, late = trend["early"].fillna(0), trend["late"].fillna(0)
    trend["stalled"] = (late < 0.5 * early) | (late == 0)
    result = trend[["account_id", "stalled"]]
    if deal_use_cases is not None:
        won = deals.filter(deals.outcome == "won").select("deal_id")
        committed = deal_use_cases.join(won, "deal_id").select("account_id", "use_case").distinct()
        used = u.select("account_id", "use_case").distinct().mutate(used=ibis.literal(1))
        both = committed.left_join(used, ["account_id", "use_case"])
        share = (
            both.group_by(both.account_id).agg(adoption=both.used.fill_null(0).mean()).to_pandas()
        )
        result = result.merge(share, on="account_id", how="outer")
    return result

"""Paying account-months, the facts the load stores and every metric reads.

How MRR is measured (the discount policy), which account-months pay (MRR > 0), and each paying
month's neighbours (the previous and next paying month, the MRR twelve months on, the first
month). They stand at the level of the canonical model: the load (``icploop.ingest.derive``)
stores them as ``account_months`` next to ``mrr_monthly``, and the metrics
(``icploop.metrics.movements``, ``icploop.metrics.facts``) read them or compute the same columns
from this one definition, so the stored table and the metrics can never disagree.

Months are integer indexes ``year * 12 + (month - 1)``: defined here (``month_index``,
``index_of``) and named with the rest of the month arithmetic in ``icploop.metrics.calendar``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir

from icploop.errors import IcploopError

DiscountPolicy = Literal["none", "forever_only", "all_recurring"]
DISCOUNT_POLICIES: tuple[str, ...] = ("none", "forever_only", "all_recurring")


def month_index(value: ir.DateValue | ir.TimestampValue) -> ir.IntegerValue:
    """The month index (``year * 12 + month - 1``) of a date or timestamp column."""
    return value.year().cast("int64") * 12 + value.month().cast("int64") - 1


def index_of(day: dt.date) -> int:
    """The month index of a Python date (any day of the month maps to that month)."""
    return day.year * 12 + day.month - 1


@dataclass(frozen=True)
class MovementSettings:
    """How MRR is measured and how brief lapses are treated.

    ``discount_policy``: which discounts reduce MRR. ``forever_only`` (default): forever discounts
    do, limited-time ones do not (MRR = mrr + discount_limited); ``all_recurring``: both do
    (MRR = mrr); ``none``: neither (MRR = mrr + discount_forever + discount_limited).
    ``net_returns_within_days``: when set, a churn followed by a return within that many days
    (first day of the first zero month to first day of the return month) is shown as contraction
    to zero and expansion back, not as churn and reactivation; ``None`` (default) keeps raw rows.
    """

    discount_policy: DiscountPolicy = "forever_only"
    net_returns_within_days: int | None = None

    def __post_init__(self) -> None:
        if self.discount_policy not in DISCOUNT_POLICIES:
            raise IcploopError(
                f"unknown discount_policy {self.discount_policy!r}",
                f"use one of {', '.join(DISCOUNT_POLICIES)}",
            )
        if self.net_returns_within_days is not None and self.net_returns_within_days < 0:
            raise IcploopError("net_returns_within_days must be 0 or more")


DEFAULT_SETTINGS = MovementSettings()


def policy_mrr(mrr_monthly: ir.Table, policy: DiscountPolicy) -> ir.FloatingValue:
    """MRR in the reporting currency under a discount policy (currency units)."""
    t = mrr_monthly
    forever = t.discount_forever.fill_null(0) if "discount_forever" in t.columns else 0
    limited = t.discount_limited.fill_null(0) if "discount_limited" in t.columns else 0
    value = t.mrr.fill_null(0).cast("float64")
    if policy == "none":
        return value + forever + limited
    if policy == "forever_only":
        return value + limited
    return value


def paying_months(
    mrr_monthly: ir.Table, as_of: dt.date | None, settings: MovementSettings = DEFAULT_SETTINGS
) -> ir.Table:
    """Account-months with MRR > 0 up to the as-of month (every month when ``as_of`` is None).

    Columns: ``account_id``, ``m`` (month index), ``cents`` (int64 MRR in minor units under the
    discount policy), ``rate`` (effective rate mrr / mrr_local, null when either is 0 or
    missing), ``currency``. Rows at 0 (a $0 plan, a 100% discount) count as not paying: churn.
    """
    t = mrr_monthly
    cents = (policy_mrr(t, settings.discount_policy) * 100).round().cast("int64")
    local = t.mrr_local.cast("float64")
    rate = ibis.ifelse((local > 0) & (t.mrr > 0), t.mrr.cast("float64") / local, ibis.null())
    out = t.select(
        "account_id",
        m=month_index(t.month),
        cents=cents,
        rate=rate.cast("float64"),
        currency=t.currency.cast("string"),
    )
    if as_of is None:
        return out.filter(out.cents > 0)
    return out.filter((out.cents > 0) & (out.m <= index_of(as_of)))


ACCOUNT_MONTHS = "account_months"

ACCOUNT_MONTH_COLUMNS: dict[str, str] = {
    "account_id": "the account",
    "m": "month index (year * 12 + month - 1) of a month with MRR > 0",
    "cents": "MRR in minor units, forever discounts taken off (the default discount policy)",
    "rate": "mrr / mrr_local of the month (null when either is 0)",
    "currency": "the account's currency in the month",
    "pm": "the previous paying month (null for the first)",
    "pc": "cents in the previous paying month",
    "prate": "rate in the previous paying month",
    "pccy": "currency in the previous paying month",
    "nm": "the next paying month in the data (null for the last)",
    "c12": "cents in month m + 12 (null when the account does not pay then)",
    "first_m": "the account's first paying month",
    "run_start": "the first month of the unbroken run of paying months that m belongs to",
}


def with_neighbours(pos: ir.Table, first_month: bool = False) -> ir.Table:
    """Paying months (from :func:`paying_months`) with the previous
    and next paying month and MRR twelve months on (and, with ``first_month``, the account's
    first month ``first_m``), by one window over each account's months."""
    w = ibis.window(group_by=pos.account_id, order_by=pos.m)
    ahead12 = ibis.window(group_by=pos.account_id, order_by=pos.m, range=(12, 12))
    return pos.mutate(
        pm=pos.m.lag().over(w),
        pc=pos.cents.lag().over(w),
        prate=pos.rate.lag().over(w),
        pccy=pos.currency.lag().over(w),
        nm=pos.m.lead().over(w),
        c12=pos.cents.first().over(ahead12),
        **({"first_m": pos.m.first().over(w)} if first_month else {}),
    )


def account_months(mrr_monthly: ir.Table) -> ir.Table:
    """The table the loader stores as ``account_months`` (one row per paying account-month)."""
    p = with_neighbours(paying_months(mrr_monthly, None, DEFAULT_SETTINGS), first_month=True)
    starts = (p.pm.isnull() | (p.pm != p.m - 1)).fill_null(True)
    # the latest run start so far: a running maximum over the account's months in order
    so_far = ibis.window(group_by=p.account_id, order_by=p.m, preceding=None, following=0)
    p = p.mutate(run_start=ibis.ifelse(starts, p.m, ibis.null("int64")).max().over(so_far))
    return p.select(*ACCOUNT_MONTH_COLUMNS)

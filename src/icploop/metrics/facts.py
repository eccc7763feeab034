"""Each account's paying months with their neighbours: computed once per load, read by every metric.

Most metrics need, for each paying account-month, the paying month before it, the next one, the
MRR twelve months on and the account's first month. Finding them takes a window over every
account's months (a sort of all MRR rows by account), which is most of the cost of a metric. The
loader derives this table once per load, next to ``mrr_monthly``; the metrics read it when it is
there and the default movement settings apply, and compute the same columns themselves otherwise.

Columns are computed over ALL months in the data; a metric as of an earlier month treats a next
month after its as-of month as no next month, and never reads ``c12`` of a month whose twelfth
month lies after the as-of month, so every number equals the one computed from the rows up to
the as-of month alone.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from icploop.metrics.movements import DEFAULT_SETTINGS, MovementSettings, paying_months
from icploop.metrics.tables import CanonicalTables

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
    """Paying months (from :func:`~icploop.metrics.movements.paying_months`) with the previous
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


def as_of_view(facts: ir.Table, as_of_m: int) -> ir.Table:
    """The stored facts seen from month ``as_of_m``: later months dropped, a next month after
    ``as_of_m`` read as none (the account's story ends at the as-of month)."""
    rows = facts.filter(facts.m <= as_of_m)
    return rows.mutate(
        nm=ibis.ifelse(rows.nm > as_of_m, ibis.null("int64"), rows.nm),
        c12=ibis.ifelse(rows.m + 12 > as_of_m, ibis.null("int64"), rows.c12),
    )


def stored_facts(tables: CanonicalTables, settings: MovementSettings) -> ir.Table | None:
    """The loader's ``account_months`` when they answer for ``settings`` (the default ones)."""
    if tables.account_months is None or settings != DEFAULT_SETTINGS:
        return None
    return tables.account_months

"""When each account started and when it first got value: the clock of activation outcomes.

An account starts at its first won deal's close, or, without one, when it is first seen paying
or using the product (value on day 0). Its first value is its first revenue (the first day of
its first month with MRR > 0, floored at the start) or its first use (a usage row), whichever
is earlier. Why the close starts the clock: a deal that closed and never started (a common first
failure of a bad-fit deal) has no paid month, so no outcome built from revenue alone sees it.
"""

from __future__ import annotations

import datetime as dt

import ibis.expr.types as ir
import pandas as pd

from icploop.errors import IcploopError
from icploop.metrics.tables import CanonicalTables


def first_value(
    tables: CanonicalTables, as_of: dt.date, usage: ir.Table | None = None
) -> pd.DataFrame:
    """One row per account that started by ``as_of``: ``account_id``, ``start_date``,
    ``first_value_date`` (None when no revenue or use came by ``as_of``) and ``days_to_value``
    (whole days, 0 or more; NaN without value). Only data up to ``as_of`` is read.

    Raises ``IcploopError`` without a won deal: the clock starts at the close, so the outcome
    says nothing about accounts only ever seen paying.
    """
    won = None
    if tables.deals is not None:
        deals = tables.deals
        won = deals.filter((deals.outcome == "won") & (deals.close_date <= as_of))
        won = won.group_by("account_id").agg(start=won.close_date.min()).to_pandas()
    if won is None or won.empty:
        raise IcploopError(
            "activation needs won deals: the clock starts when a deal closes",
            "load the deals table with its won deals and close dates",
        )
    mrr = tables.mrr_monthly
    paid = mrr.filter((mrr.mrr > 0) & (mrr.month <= as_of))
    firsts = [paid.group_by("account_id").agg(first=paid.month.min()).to_pandas()]
    if usage is not None:
        used = usage.filter(usage.date <= as_of)
        firsts.append(used.group_by("account_id").agg(first=used.date.min()).to_pandas())
    first = pd.concat(firsts).groupby("account_id", as_index=False)["first"].min()
    frame = first.merge(won, on="account_id", how="outer")
    value = pd.to_datetime(frame["first"])
    start = pd.to_datetime(frame["start"]).fillna(value)
    return pd.DataFrame(
        {
            "account_id": frame["account_id"],
            "start_date": start.dt.date,
            "first_value_date": value.dt.date,
            "days_to_value": (value - start).dt.days.clip(lower=0),
        }
    )


def never_activated(days_to_value: pd.Series, days: int) -> pd.Series:
    """1 where no value came within ``days`` days of the start (or none at all), else 0."""
    return (days_to_value.isna() | (days_to_value > days)).astype("int8")

"""Month arithmetic on integer month indexes, as Ibis expressions and in Python.

Months are handled as integers ``year * 12 + (month - 1)`` inside every query: joins on "the same
account twelve months earlier" become integer equalities, which every backend plans as cheap hash
joins, and no dialect-specific interval arithmetic is needed. Dates come back only at the edges.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Literal

import ibis
import ibis.expr.types as ir

from icploop.ingest.paying import index_of

Period = Literal["month", "quarter", "year"]

PERIOD_MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}


def days_between(later: ir.DateValue, earlier: ir.DateValue) -> ir.IntegerValue:
    """Whole days from ``earlier`` to ``later`` (negative when ``later`` is earlier).

    Date minus date, cast to an integer: DuckDB and PostgreSQL both give the day count as plain
    integer arithmetic, about half the cost of ``DATE_DIFF`` over a hundred million usage rows.
    """
    return (later - earlier).cast("int64")


def month_start(index: ir.IntegerValue) -> ir.DateValue:
    """The first day of the month with the given month index, as a date expression."""
    return ibis.date(index // 12, index % 12 + 1, 1)


def date_of(index: int) -> dt.date:
    """The first day of the month with the given month index."""
    return dt.date(index // 12, index % 12 + 1, 1)


def period_label(index: int, period: Period) -> str:
    """A period index (the month index // the period's months) as people read it: ``2024-03``, ``2024Q1`` or
    ``2024``."""
    if period == "year":
        return str(index)
    if period == "quarter":
        return f"{index // 4}Q{index % 4 + 1}"
    return f"{index // 12}-{index % 12 + 1:02d}"


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (earlier when negative), clipped to the month's end
    (31 January + 1 = 28 or 29 February; 31 May - 3 = 28 or 29 February): the one month shift
    of every Python date in icploop."""
    index = index_of(day) + months
    year, month = index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))

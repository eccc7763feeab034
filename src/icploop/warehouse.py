"""The analytics warehouse as every surface reads it: which tables are loaded, where the data
ends, and the default as-of date.

One owner for the questions each command, page and pack used to settle on its own: an optional
table is looked up here (never by catching the engine's error), and a missing ``--as-of`` becomes
:attr:`DataEnd.as_of <icploop.metrics.data_end.DataEnd>`, the last day of the last complete month
of data (the rule is in :mod:`icploop.metrics.data_end`). Deadlines of the workflow (due steps,
the watch list) are calendar dates and use :func:`today_or`.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property

import ibis.expr.types as ir
from ibis.backends import BaseBackend

from icploop.errors import IcploopError
from icploop.metrics.data_end import ACTIVITY_DATES, DataEnd, activity_dates, data_end
from icploop.metrics.tables import CanonicalTables


class Warehouse:
    """An open analytics backend and what it holds (the table list is read once)."""

    def __init__(self, backend: BaseBackend) -> None:
        self.backend = backend

    @cached_property
    def names(self) -> frozenset[str]:
        """The tables loaded in the warehouse."""
        return frozenset(self.backend.list_tables())

    def has(self, name: str) -> bool:
        """Whether table ``name`` is loaded."""
        return name in self.names

    def optional(self, name: str) -> ir.Table | None:
        """Table ``name``, or None when it is not loaded."""
        return self.backend.table(name) if self.has(name) else None

    def require(self, name: str, purpose: str) -> ir.Table:
        """Table ``name``; an :class:`IcploopError` saying ``purpose`` needs it when absent."""
        table = self.optional(name)
        if table is None:
            raise IcploopError(f"{purpose} needs the {name} table", f"load {name} first")
        return table

    @cached_property
    def tables(self) -> CanonicalTables:
        """The canonical tables (an :class:`IcploopError` when nothing is loaded)."""
        return CanonicalTables.from_backend(self.backend)

    @cached_property
    def data_end(self) -> DataEnd:
        """Where the data ends and the default as-of date (an :class:`IcploopError` when no MRR
        is loaded)."""
        if not self.has("mrr_monthly"):
            raise IcploopError("the warehouse has no MRR yet", "load data first: icploop load PATH")
        dated = {name: t for name, _ in ACTIVITY_DATES if (t := self.optional(name)) is not None}
        return data_end(
            self.backend.table("mrr_monthly"),
            activity_dates(dated),
            self.optional("subscriptions"),
        )

    def as_of(self, given: dt.date | None) -> dt.date:
        """``given``, else the default as-of date (the end of the last complete data month)."""
        return given if given is not None else self.data_end.as_of


#: the as-of dates a command or request may name: the engines' timestamps end in 2262
AS_OF_RANGE = (dt.date(1900, 1, 1), dt.date(2199, 12, 31))


def today_or(given: dt.date | None) -> dt.date:
    """``given``, else today: for deadlines, which run on the calendar rather than the data
    (the clock is read here, at the edge, never in analytics)."""
    return given if given is not None else dt.date.today()

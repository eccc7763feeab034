"""Where the data ends, and the one default as-of date of every command, page and pack.

The default as-of date is the last day of the last *complete* month of data. The latest month in
``mrr_monthly`` is taken as complete unless one of two signs says the export was cut inside it:

- the latest day the workspace records any activity (a subscription period starting, a usage
  row, a ticket, a note, a contact change, a deal won or lost) falls before the month's last
  week: an export taken mid-month; or
- the month has fewer than :data:`PARTIAL_SHARE` of the paying accounts of the month before
  (with at least :data:`MIN_ACCOUNTS` of them): renewals after the cut are not recorded yet. A
  real month loses far fewer (a fifth of all logos in one month is 93% a year). Accounts whose
  subscription is recorded as ending inside the month are losses the export saw, not rows it
  is missing, and count as paying for this test (a snapshot that ends its churners in its last
  month, as the IBM Telco export's mapping does, is not cut short).

A partial month is left out (the default as-of date is the end of the month before) and named in
a caveat that every surface shows. The only month of data is never left out, only named. Dates
that are scheduled rather than recorded (a period's end, an open deal's expected close) do not
count as activity; MRR months after the month of the latest activity are contract periods still
to come and are left out the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from icploop.errors import IcploopError
from icploop.ingest.paying import index_of, month_index
from icploop.metrics.calendar import date_of

#: A month with fewer than this share of the previous month's paying accounts is partial.
PARTIAL_SHARE = 0.8
#: The paying-account test needs at least this many accounts in the month before.
MIN_ACCOUNTS = 20
#: Activity on one of a month's last this-many days counts as reaching the month's end (a weekly
#: usage row is dated on its Monday).
LAST_WEEK_DAYS = 7


@dataclass(frozen=True)
class DataEnd:
    """Where the workspace's data ends.

    ``last_month``: first day of the latest month of MRR data (months after the latest recorded
    activity left out); ``last_activity``: the latest day any activity is recorded (None when no
    dated activity table is loaded); ``as_of``: the default as-of date, the last day of the last
    complete month; ``partial_month``: first day of the month left out as partial, or None;
    ``caveats``: what a reader must know about the data's end, in plain words.
    """

    last_month: dt.date
    last_activity: dt.date | None
    as_of: dt.date
    partial_month: dt.date | None
    caveats: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON (dates as ISO text, None stays None)."""
        return {
            "last_month": self.last_month.isoformat(),
            "last_activity": self.last_activity.isoformat() if self.last_activity else None,
            "as_of": self.as_of.isoformat(),
            "partial_month": self.partial_month.isoformat() if self.partial_month else None,
            "caveats": list(self.caveats),
        }


def month_end(index: int) -> dt.date:
    """The last day of the month with the given month index."""
    return date_of(index + 1) - dt.timedelta(days=1)


def _label(index: int) -> str:
    return f"{date_of(index):%B %Y}"


def _as_date(value: object) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise TypeError(f"not a date: {value!r}")


def data_end(
    mrr_monthly: ir.Table,
    activity: Sequence[ir.Column] = (),
    subscriptions: ir.Table | None = None,
) -> DataEnd:
    """The data's end and the default as-of date (see the module's rule).

    ``mrr_monthly`` is the canonical table; ``activity`` holds date columns of recorded events
    (each may come from a different table of the same backend); ``subscriptions`` (optional)
    tells recorded cancellations from missing rows. Raises :class:`IcploopError` when
    ``mrr_monthly`` has no rows.
    """
    t = mrr_monthly
    span = t.aggregate(first=t.month.min(), latest=t.month.max()).to_pyarrow().to_pylist()[0]
    latest, first = _as_date(span["latest"]), _as_date(span["first"])
    if latest is None or first is None:
        raise IcploopError(
            "no MRR is loaded: mrr_monthly is empty (it is made from subscriptions' recurring "
            "periods)",
            "load the billing periods: icploop load PATH/subscriptions.csv (or a mapped export)",
        )
    last_m, first_m = index_of(latest), index_of(first)
    last_activity = _latest(activity)
    caveats: list[str] = []
    if last_activity is not None and index_of(last_activity) < last_m:
        ahead = last_m
        last_m = max(index_of(last_activity), first_m)
        caveats.append(
            f"MRR runs to {_label(ahead)}, past the latest recorded activity "
            f"({last_activity.isoformat()}); the months after {_label(last_m)} are contract "
            "periods still to come and are left out."
        )
    partial = _why_partial(t, last_m, last_activity, subscriptions)
    if partial is None:
        return DataEnd(date_of(last_m), last_activity, month_end(last_m), None, tuple(caveats))
    if first_m >= last_m:
        caveats.append(f"{_label(last_m)}, the only month of data, looks partial: {partial}.")
        return DataEnd(date_of(last_m), last_activity, month_end(last_m), None, tuple(caveats))
    as_of = month_end(last_m - 1)
    caveats.append(
        f"{_label(last_m)} is left out as a partial month ({partial}); "
        f"figures run to {as_of.isoformat()}."
    )
    return DataEnd(date_of(last_m), last_activity, as_of, date_of(last_m), tuple(caveats))


def _latest(columns: Sequence[ir.Column]) -> dt.date | None:
    """The latest date among ``columns`` (one query), None when none has a date."""
    if not columns:
        return None
    parts = [c.as_table().aggregate(d=c.max().cast("date")) for c in columns]
    found = ibis.union(*parts).d.max().to_pyarrow().as_py()
    return _as_date(found)


def _why_partial(
    mrr_monthly: ir.Table,
    last_m: int,
    last_activity: dt.date | None,
    subscriptions: ir.Table | None = None,
) -> str | None:
    """Why month ``last_m`` looks cut short, or None when it looks complete."""
    end = month_end(last_m)
    if (
        last_activity is not None
        and index_of(last_activity) == last_m
        and (end - last_activity).days >= LAST_WEEK_DAYS
    ):
        return f"the latest recorded activity is on {last_activity.isoformat()}"
    t = mrr_monthly
    m = month_index(t.month)
    counts = (
        t.filter((t.mrr > 0) & m.isin([last_m - 1, last_m]))
        .group_by(m=m)
        .aggregate(n=t.account_id.nunique())
        .to_pyarrow()
        .to_pylist()
    )
    paying = {int(r["m"]): int(r["n"]) for r in counts}
    before, now = paying.get(last_m - 1, 0), paying.get(last_m, 0)
    if before < MIN_ACCOUNTS or now >= PARTIAL_SHARE * before:
        return None
    ended = 0 if subscriptions is None else _ended_in(mrr_monthly, subscriptions, last_m)
    if now + ended >= PARTIAL_SHARE * before:
        return None
    recorded = f" and {ended:,} recorded as ending" if ended else ""
    return (
        f"{now:,} paying accounts{recorded} against {before:,} in {_label(last_m - 1)}, "
        "fewer than a real month loses"
    )
    return None


def _ended_in(mrr_monthly: ir.Table, subscriptions: ir.Table, last_m: int) -> int:
    """How many accounts paying in the month before ``last_m`` and not in it have a subscription
    period recorded as ending inside month ``last_m``: cancellations the export recorded."""
    t = mrr_monthly
    m = month_index(t.month)
    paying = t.filter(t.mrr > 0)
    before = paying.filter(m == last_m - 1).select("account_id").distinct()
    now = paying.filter(m == last_m).select("account_id").distinct()
    s = subscriptions
    ended = (
        s.filter(s.period_end.between(date_of(last_m), month_end(last_m)))
        .select("account_id")
        .distinct()
    )
    lost = before.difference(now)
    return int(lost.intersect(ended).count().to_pyarrow().as_py())


def activity_dates(tables: dict[str, ir.Table]) -> list[ir.Column]:
    """The recorded-activity date columns among ``tables`` (canonical name -> table): what
    :func:`data_end` reads. Scheduled dates (period ends, open deals' close dates) are not
    activity."""
    columns: list[ir.Column] = []
    for name, column in ACTIVITY_DATES:
        table = tables.get(name)
        if table is None or column not in table.columns:
            continue
        if name == "deals" and "outcome" in table.columns:
            table = table.filter(table.outcome.isin(["won", "lost"]))
        columns.append(table[column])
    return columns


#: (table, date column) pairs whose dates record something that happened.
ACTIVITY_DATES: tuple[tuple[str, str], ...] = (
    ("subscriptions", "period_start"),
    ("usage", "date"),
    ("tickets", "created_date"),
    ("notes", "date"),
    ("contacts", "valid_from"),
    ("deals", "close_date"),
)

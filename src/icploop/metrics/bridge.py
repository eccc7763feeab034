"""The MRR bridge: per period (and group), MRR at the start, each movement, MRR at the end.

The bridge is the per-account movements of :mod:`icploop.metrics.movements` summed per calendar
period in integer minor units, so every row reconciles exactly:

    mrr_end = mrr_start + new + reactivation + expansion - contraction - churn + fx

and the MRR at the end of one period is the MRR at the start of the next. A quarter's bridge is
the sum of its months' bridges (a change inside the quarter that is undone before its end shows
as both movements, as ChartMogul and Baremetrics show it). See ``docs/metrics.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import ibis
import pandas as pd

from icploop.errors import IcploopError
from icploop.ingest.paying import DEFAULT_SETTINGS, MovementSettings, index_of
from icploop.metrics.calendar import PERIOD_MONTHS, Period, date_of, period_label
from icploop.metrics.movements import MOVEMENT_COLUMNS, movements
from icploop.metrics.tables import CanonicalTables, account_dimensions

BRIDGE_PERIODS: tuple[str, ...] = ("month", "quarter")
MONEY_COLUMNS: tuple[str, ...] = ("mrr_start", *MOVEMENT_COLUMNS, "mrr_end", "net_change")


@dataclass(frozen=True)
class BridgeResult:
    """The MRR bridge per period and group.

    ``frame`` columns: ``period`` (label ``2024-03`` or ``2024Q1``), ``period_start`` and
    ``period_end`` (first days of the period's first and last month, the last capped at the
    as-of month), ``partial`` (the as-of period, not yet over), the ``by`` dimensions,
    ``mrr_start`` (MRR in the month before the period), ``new``, ``reactivation``,
    ``expansion``, ``contraction``, ``churn`` (all >= 0), ``fx`` (signed), ``mrr_end`` (MRR in
    the period's last month) and ``net_change`` = mrr_end - mrr_start, in currency units (sums
    of whole cents, so the identity holds to the cent). Every group is listed in every period.
    """

    frame: pd.DataFrame
    as_of: dt.date
    period: Period
    by: tuple[str, ...]
    settings: MovementSettings
    caveats: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON: dates as ISO text, money rounded to the cent."""
        rows = []
        for r in self.frame.to_dict(orient="records"):
            row: dict[str, object] = {
                "period": r["period"],
                "period_start": r["period_start"].isoformat(),
                "period_end": r["period_end"].isoformat(),
                "partial": bool(r["partial"]),
            }
            row.update({d: str(r[d]) for d in self.by})
            row.update({c: round(float(r[c]), 2) for c in MONEY_COLUMNS})
            rows.append(row)
        return {
            "as_of": self.as_of.isoformat(),
            "period": self.period,
            "by": list(self.by),
            "discount_policy": self.settings.discount_policy,
            "rows": rows,
            "caveats": list(self.caveats),
        }


def start_of_last(as_of: dt.date, period: Period, periods: int) -> dt.date:
    """The first day of the earliest of the last ``periods`` periods up to ``as_of``."""
    size = PERIOD_MONTHS[period]
    return date_of((index_of(as_of) // size - periods + 1) * size)


def mrr_bridge(
    tables: CanonicalTables,
    as_of: dt.date,
    *,
    period: Period = "month",
    by: Sequence[str] = (),
    start: dt.date | None = None,
    settings: MovementSettings = DEFAULT_SETTINGS,
) -> BridgeResult:
    """The MRR bridge per ``period`` (month or quarter) from the period of ``start`` to ``as_of``.

    ``by`` names account dimensions (see :func:`~icploop.metrics.tables.account_dimensions`);
    the groups' rows of a period add up to the total's. ``start`` defaults to the first MRR
    month. Raises :class:`IcploopError` for another period or an unknown dimension.
    """
    if period not in BRIDGE_PERIODS:
        raise IcploopError(f"unknown period {period!r}", "use month or quarter")
    dims = list(by)
    size = PERIOD_MONTHS[period]
    as_of_m = index_of(as_of)
    mrr = tables.mrr_monthly
    if start is None:
        first = mrr.aggregate(m=mrr.month.min()).to_pyarrow().column("m")[0].as_py()
        start = first or as_of
    first_p = min(index_of(start), as_of_m) // size
    mv = movements(mrr, as_of, settings, from_month=date_of(first_p * size))
    if dims:
        mv = mv.join(account_dimensions(tables, dims), "account_id")
    mv = mv.mutate(pidx=mv.m // size)
    last_m = ibis.least(mv.pidx * size + size - 1, as_of_m)
    sums = {c: mv[c].sum() for c in MOVEMENT_COLUMNS}
    agg = mv.group_by(["pidx", *dims]).agg(
        mrr_start=ibis.ifelse(mv.m == mv.pidx * size, mv.mrr_start, 0).sum(),
        mrr_end=ibis.ifelse(mv.m == last_m, mv.mrr_end, 0).sum(),
        **sums,
    )
    got = agg.to_pandas()
    frame = _grid(got, dims, first_p, as_of_m // size)
    return BridgeResult(
        frame=_finish(frame, dims, period, size, as_of_m),
        as_of=as_of,
        period=period,
        by=tuple(dims),
        settings=settings,
        caveats=_caveats(frame, period, size, as_of_m),
    )


def _grid(got: pd.DataFrame, dims: list[str], first_p: int, last_p: int) -> pd.DataFrame:
    """Every period x every group seen, with zeros where a group had no rows in a period."""
    cents = ["mrr_start", *MOVEMENT_COLUMNS, "mrr_end"]
    periods = pd.Index(range(first_p, last_p + 1), name="pidx")
    if dims:
        groups = got[dims].drop_duplicates().sort_values(dims)
        keys = pd.MultiIndex.from_tuples(
            [(p, *g) for p in periods for g in groups.itertuples(index=False)],
            names=["pidx", *dims],
        )
        full = got.set_index(["pidx", *dims])[cents].reindex(keys)
    else:
        full = got.set_index("pidx")[cents].reindex(periods)
    for col in cents:  # all-null sums come back as objects: make them whole cents
        full[col] = pd.to_numeric(full[col]).fillna(0).astype("int64")
    return full.reset_index()


def _finish(
    frame: pd.DataFrame, dims: list[str], period: Period, size: int, as_of_m: int
) -> pd.DataFrame:
    frame = frame.sort_values(["pidx", *dims]).reset_index(drop=True)
    frame["net_change"] = frame.mrr_end - frame.mrr_start
    for col in MONEY_COLUMNS:
        frame[col] = frame[col].astype("float64") / 100
    pidx = [int(p) for p in frame.pidx]
    frame["period"] = [period_label(p, period) for p in pidx]
    frame["period_start"] = [date_of(p * size) for p in pidx]
    frame["period_end"] = [date_of(min(p * size + size - 1, as_of_m)) for p in pidx]
    frame["partial"] = [p * size + size - 1 > as_of_m for p in pidx]
    return frame[["period", "period_start", "period_end", "partial", *dims, *MONEY_COLUMNS]]


def _caveats(frame: pd.DataFrame, period: Period, size: int, as_of_m: int) -> tuple[str, ...]:
    out = []
    if frame.empty or not frame[["mrr_start", "mrr_end"]].to_numpy().any():
        out.append("no paying accounts up to the as-of month")
    last_p = as_of_m // size
    if last_p * size + size - 1 > as_of_m:
        out.append(
            f"{period_label(last_p, period)} is not over: its bridge ends at "
            f"{date_of(as_of_m):%B %Y}, the as-of month"
        )
    return tuple(out)

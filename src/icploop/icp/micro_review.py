"""The monthly micro-review trigger: cohort NRR fell more than 2 points in a quarter.

Between quarterly reviews the loop proposes a monthly micro-review when net revenue retention
drops sharply. NRR here is the cohort NRR of ``icploop.metrics.retention`` at each quarter end:
MRR now of the accounts paying 12 months earlier over their MRR then (a ratio: 1.04 is 104%).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from icploop.ingest.paying import index_of
from icploop.metrics.retention import retention
from icploop.metrics.tables import CanonicalTables

DEFAULT_THRESHOLD_POINTS = 2.0

SERIES_COLUMNS = ("period", "period_end", "n_accounts", "nrr", "change_points", "dropped")


@dataclass(frozen=True)
class NrrDrops:
    """Quarter-over-quarter cohort NRR and the quarters where it dropped.

    ``series`` has one row per complete quarter: ``period`` (``2024Q1``), ``period_end`` (first
    day of the quarter's last month), ``n_accounts`` (the cohort base), ``nrr`` (ratio, NaN
    without a base), ``change_points`` (NRR minus the previous quarter's, in percentage points:
    -3.0 is a 3-point fall; NaN for the first quarter or next to a NaN) and ``dropped`` (the fall
    exceeds ``threshold_points``). ``due`` is True when the latest complete quarter dropped: a
    monthly micro-review should be proposed now.
    """

    series: pd.DataFrame
    as_of: dt.date
    threshold_points: float
    due: bool
    drops: tuple[str, ...] = field(default=())
    caveats: tuple[str, ...] = field(default=())

    @property
    def last_period(self) -> str | None:
        """The latest complete quarter in the series, if any."""
        return None if self.series.empty else str(self.series.iloc[-1].period)


def nrr_drops(
    tables: CanonicalTables,
    as_of: dt.date,
    threshold_points: float = DEFAULT_THRESHOLD_POINTS,
) -> NrrDrops:
    """Cohort NRR at each quarter end up to ``as_of`` and the quarters where it fell by more
    than ``threshold_points`` percentage points against the quarter before.

    Only complete quarters count: when ``as_of`` falls before a quarter's last month, that
    quarter's NRR is a mid-quarter reading and comparing it with a quarter end would mix two
    things, so it is left out (and said in the caveats). Quarters without a 12-month-old cohort
    have no NRR and cannot drop.
    """
    if threshold_points < 0:
        raise ValueError("threshold_points is a size of fall: use a positive number")
    frame = retention(tables, as_of, period="quarter").frame
    caveats: list[str] = []
    as_of_m = index_of(as_of)
    if not frame.empty and as_of_m % 3 != 2:
        caveats.append(
            f"{frame.iloc[-1].period} is not complete on {as_of}: it is left out of the series"
        )
        frame = frame.iloc[:-1]
    series = frame[["period", "period_end", "n_accounts", "nrr"]].reset_index(drop=True)
    series["change_points"] = (series["nrr"].diff() * 100).astype("float64")
    # a small tolerance keeps a fall of exactly the threshold (e.g. 2.0000000001 after the
    # float division) from counting: "more than" is meant in whole reported points
    series["dropped"] = (series["change_points"] < -(threshold_points + 1e-9)).fillna(False)
    series["dropped"] = series["dropped"].astype(bool)
    drops = tuple(str(p) for p in series.loc[series["dropped"], "period"])
    due = bool(not series.empty and series["dropped"].iloc[-1])
    if series["nrr"].notna().sum() < 2:
        caveats.append("fewer than two quarters with a cohort NRR: no change can be measured")
    elif not series.empty and pd.isna(series["change_points"].iloc[-1]):
        caveats.append(f"{series.iloc[-1].period} has no NRR change to compare")
    return NrrDrops(
        series=series,
        as_of=as_of,
        threshold_points=threshold_points,
        due=due,
        drops=drops,
        caveats=tuple(caveats),
    )

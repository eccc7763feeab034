"""The demo company's calendar: its history window and month/week arithmetic on numpy dates.

Dates are ``datetime64[D]`` arrays throughout; a "month index" counts calendar months from the
first month of history (0 = 2021-10). Service periods are anchored on a day of the month no later
than the 28th so that "the same day N months later" always exists.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

START = np.datetime64("2021-10-01", "D")
AS_OF = np.datetime64("2026-10-31", "D")
START_MONTH = np.datetime64("2021-10", "M")
N_MONTHS = int((np.datetime64("2026-10", "M") - START_MONTH).astype(int)) + 1  # 61, Oct 2026 = 60
# weeks start on Monday; the first Monday on or before the start of history
FIRST_WEEK = START - ((START - np.datetime64("1970-01-05", "D")).astype(int) % 7)
N_WEEKS = int((AS_OF - FIRST_WEEK).astype(int)) // 7 + 1

Days = NDArray[np.datetime64]
Ints = NDArray[np.int64]


def month_start(m: NDArray[Any] | int) -> Days:
    """First day of month index ``m``."""
    return (START_MONTH + np.asarray(m, dtype=np.int64)).astype("datetime64[D]")


def month_of(d: Days) -> Ints:
    """Month index of each date."""
    return (d.astype("datetime64[M]") - START_MONTH).astype(np.int64)


def anchored(m: NDArray[Any], day: NDArray[Any]) -> Days:
    """The date on ``day`` (1-28) of month index ``m``."""
    return month_start(m) + (np.asarray(day, dtype=np.int64) - 1).astype("timedelta64[D]")


def week_of(d: Days) -> Ints:
    """Week index (weeks from FIRST_WEEK) of each date."""
    return (d - FIRST_WEEK).astype(np.int64) // 7


def week_start(w: NDArray[Any]) -> Days:
    """Monday of week index ``w``."""
    return FIRST_WEEK + (np.asarray(w, dtype=np.int64) * 7).astype("timedelta64[D]")


def quarter_end_days_left(d: Days) -> Ints:
    """Days from each date to the last day of its calendar quarter (0 on the last day)."""
    months = d.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    q_last_month = months - months % 3 + 3  # first month of the next quarter
    next_q: Days = q_last_month.astype("datetime64[M]").astype("datetime64[D]")
    return (next_q - d).astype(np.int64) - 1

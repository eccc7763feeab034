"""The one month shift of Python dates, and period labels."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from icploop.ingest.paying import index_of
from icploop.metrics.calendar import add_months, period_label


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2025, 5, 31), -3, dt.date(2025, 2, 28)),
        (dt.date(2025, 1, 15), -1, dt.date(2024, 12, 15)),
        (dt.date(2025, 11, 30), 3, dt.date(2026, 2, 28)),
        (dt.date(2026, 3, 31), -25, dt.date(2024, 2, 29)),
        (dt.date(2026, 3, 31), 0, dt.date(2026, 3, 31)),
    ],
)
def test_a_month_shift_keeps_the_day_clipped_to_the_month_end(
    day: dt.date, months: int, expected: dt.date
) -> None:
    assert add_months(day, months) == expected


def test_the_shift_agrees_with_pandas_month_offsets_over_every_day_of_four_years() -> None:
    days = pd.date_range("2023-01-01", "2026-12-31").date
    for months in (-25, -12, -3, -1, 1, 3, 12):
        ours = [add_months(d, months) for d in days]
        theirs = [(pd.Timestamp(d) + pd.DateOffset(months=months)).date() for d in days]
        assert ours == theirs


def test_period_labels() -> None:
    m = index_of(dt.date(2024, 3, 9))
    assert period_label(m, "month") == "2024-03"
    assert period_label(m // 3, "quarter") == "2024Q1"
    assert period_label(m // 12, "year") == "2024"

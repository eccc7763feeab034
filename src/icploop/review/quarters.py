"""Quarters as the review counts them: ``2026Q3``, its first and last day, the latest full one."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from icploop.errors import IcploopError

_PATTERN = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter (fiscal years that start in January)."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """``2026Q3`` (also ``2026-Q3``, lower case); an IcploopError otherwise."""
        match = _PATTERN.match(text.strip())
        if match is None:
            raise IcploopError(f"{text!r} is not a quarter", "write it like 2026Q3")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: dt.date) -> Quarter:
        """The quarter a date falls in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def start(self) -> dt.date:
        """First day of the quarter."""
        return dt.date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> dt.date:
        """Last day of the quarter: the review's as-of date."""
        return self.shift(1).start - dt.timedelta(days=1)

    def shift(self, quarters: int) -> Quarter:
        """The quarter ``quarters`` later (negative: earlier)."""
        index = self.year * 4 + self.number - 1 + quarters
        return Quarter(index // 4, index % 4 + 1)

    def __str__(self) -> str:
        return self.label


def latest_full_quarter(last_month: dt.date) -> Quarter:
    """The latest quarter whose last month is at or before ``last_month`` (the latest month with
    data): with data through October 2026 that is 2026Q3; through September 2026, also 2026Q3."""
    quarter = Quarter.of(last_month)
    return quarter if last_month.month % 3 == 0 else quarter.shift(-1)

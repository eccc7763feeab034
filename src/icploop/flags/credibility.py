"""Flagger credibility: how many flags each CSM raised and how often later outcomes bore them out.

A flag is borne out when its account churned or contracted within 12 months after the flag was
sent. Outcomes come in as data (account id -> date of the first churn or contraction on or after
the flag, computed from the warehouse by the caller), so this module reads only the app store.
A flag sent less than 12 months before ``as_of`` with no outcome yet is pending, not wrong.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from icploop.store.models import Flag

WINDOW_MONTHS = 12


@dataclass(frozen=True)
class FlaggedAccount:
    """One sent flag, as credibility needs it."""

    flagger: str
    account_id: str
    flagged_on: dt.date


@dataclass(frozen=True)
class FlaggerCredibility:
    """One CSM's record: ``borne_out_share`` is over decided flags only (None if none decided)."""

    flagger: str
    flags: int
    borne_out: int
    not_borne_out: int
    pending: int

    @property
    def decided(self) -> int:
        """Flags whose 12-month window closed, or that an outcome already bore out."""
        return self.borne_out + self.not_borne_out

    @property
    def borne_out_share(self) -> float | None:
        """Share of decided flags borne out by churn or contraction."""
        return self.borne_out / self.decided if self.decided else None


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, clipped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def verdict(
    flagged_on: dt.date,
    outcome: dt.date | None,
    as_of: dt.date,
    months: int = WINDOW_MONTHS,
    known_until: dt.date | None = None,
) -> str:
    """``borne_out``, ``not_borne_out`` or ``pending`` for one flag.

    An outcome known at ``as_of`` and inside the window bears the flag out even before the
    window closes; an outcome before the flag does not count (the flag did not predict it).
    ``known_until`` is the end of the revenue data: a window reaching past it stays pending.
    """
    window_end = add_months(flagged_on, months)
    horizon = min(as_of, known_until) if known_until else as_of
    if outcome is not None and flagged_on <= outcome <= min(window_end, horizon):
        return "borne_out"
    return "not_borne_out" if window_end <= horizon else "pending"


def score_flaggers(
    flags: Iterable[FlaggedAccount],
    outcomes: Mapping[str, dt.date],
    as_of: dt.date,
    months: int = WINDOW_MONTHS,
    known_until: dt.date | None = None,
) -> list[FlaggerCredibility]:
    """Credibility per flagger, sorted by flagger, from flags and account outcomes."""
    counts: dict[str, dict[str, int]] = {}
    for flag in flags:
        if flag.flagged_on > as_of:
            continue  # not raised yet at as_of: keeps the numbers reproducible in time
        tally = counts.setdefault(flag.flagger, {"borne_out": 0, "not_borne_out": 0, "pending": 0})
        outcome = outcomes.get(flag.account_id)
        tally[verdict(flag.flagged_on, outcome, as_of, months, known_until)] += 1
    return [
        FlaggerCredibility(flagger=name, flags=sum(t.values()), **t)
        for name, t in sorted(counts.items())
    ]


def flagger_credibility(
    session: Session,
    outcomes: Mapping[str, dt.date],
    as_of: dt.date,
    known_until: dt.date | None = None,
) -> list[FlaggerCredibility]:
    """Credibility per CSM (``Flag.created_by``) over every sent flag in the store."""
    rows = session.execute(
        select(Flag.created_by, Flag.account_id, Flag.sent_at).where(
            Flag.status == "sent", Flag.sent_at.is_not(None)
        )
    )
    flags = [
        FlaggedAccount(flagger, account_id, sent_at.date())
        for flagger, account_id, sent_at in rows
        if sent_at is not None
    ]
    return score_flaggers(flags, outcomes, as_of, known_until=known_until)

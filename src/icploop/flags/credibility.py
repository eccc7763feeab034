"""Flagger credibility: how many claims each CSM made and how often later outcomes bore them out.

A claim is a flag someone raised (by hand, or a tagging run's for its computed tags) or a CSM's
override of a computed tag across the bad-fit line: overriding to ``bad_fit`` says "this account
will decline", overriding away from it says "it will not". Each claim is dated at its data (the
flag's data date, the day 90 of the overridden deal), not when it was recorded, so a backfill
run's flags about 2024 are judged on what followed in 2024. A "will decline" claim is borne out
when the account churned or contracted within 12 months after it; a "will not" claim when it did
not. Outcomes come in as data (account id -> date of the first churn or contraction on or after
the claim, computed from the warehouse by the caller), so this module reads only the app store.
A claim whose 12 months the data does not cover yet, with no outcome, is pending, not wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from icploop.fit.config import TAG_AFTER_DAYS
from icploop.metrics.calendar import add_months
from icploop.store.models import FitTag, Flag

WINDOW_MONTHS = 12


@dataclass(frozen=True)
class FlaggedAccount:
    """One claim, as credibility needs it: ``declines`` False for an override that took an
    account out of bad fit (a claim that it will not decline)."""

    flagger: str
    account_id: str
    flagged_on: dt.date
    declines: bool = True
    override: bool = False


@dataclass(frozen=True)
class FlaggerCredibility:
    """One CSM's record: ``borne_out_share`` is over decided flags only (None if none decided)."""

    flagger: str
    flags: int
    borne_out: int
    not_borne_out: int
    pending: int
    overrides: int = 0
    """Of the claims, overrides of a computed tag (the rest are flags)."""

    @property
    def decided(self) -> int:
        """Flags whose 12-month window closed, or that an outcome already bore out."""
        return self.borne_out + self.not_borne_out

    @property
    def borne_out_share(self) -> float | None:
        """Share of decided flags borne out by churn or contraction."""
        return self.borne_out / self.decided if self.decided else None


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
    overrides: dict[str, int] = {}
    for flag in flags:
        if flag.flagged_on > as_of:
            continue  # not raised yet at as_of: keeps the numbers reproducible in time
        tally = counts.setdefault(flag.flagger, {"borne_out": 0, "not_borne_out": 0, "pending": 0})
        outcome = outcomes.get(flag.account_id)
        found = verdict(flag.flagged_on, outcome, as_of, months, known_until)
        if not flag.declines and found != "pending":  # "it will not decline": the other way
            found = "not_borne_out" if found == "borne_out" else "borne_out"
        tally[found] += 1
        overrides[flag.flagger] = overrides.get(flag.flagger, 0) + flag.override
    return [
        FlaggerCredibility(flagger=name, flags=sum(t.values()), overrides=overrides[name], **t)
        for name, t in sorted(counts.items())
    ]


def claims(session: Session, tag_after_days: int = TAG_AFTER_DAYS) -> list[FlaggedAccount]:
    """Every claim in the store: each sent or recorded flag, at its data date (else the day it
    was sent), and each override of a tag across the bad-fit line, at the deal's day 90."""
    rows = session.execute(
        select(Flag.created_by, Flag.account_id, Flag.data_date, Flag.sent_at).where(
            Flag.status.in_(("sent", "recorded"))
        )
    )
    found: list[FlaggedAccount] = []
    for flagger, account_id, data_date, sent_at in rows:
        day = data_date or (sent_at.date() if sent_at is not None else None)
        if day is not None:  # a recorded flag from before data dates, never sent: undatable
            found.append(FlaggedAccount(flagger, account_id, day))
    before = aliased(FitTag)
    changes = session.execute(
        select(FitTag.created_by, FitTag.account_id, FitTag.tag, before.tag,
               FitTag.close_date, FitTag.as_of)
        .join(before, FitTag.supersedes_id == before.id)
        .where(FitTag.method.in_(("override", "quick_check")))
    )  # fmt: skip
    day90 = dt.timedelta(days=tag_after_days)
    for who, account_id, tag, old, close, as_of in changes:
        if (tag == "bad_fit") == (old == "bad_fit"):
            continue  # a move between near and strong claims nothing about a decline
        on = min(close + day90, as_of) if close is not None else as_of
        found.append(FlaggedAccount(who, account_id, on, declines=tag == "bad_fit", override=True))
    return found


def flagger_credibility(
    session: Session,
    outcomes: Mapping[str, dt.date],
    as_of: dt.date,
    known_until: dt.date | None = None,
    tag_after_days: int = TAG_AFTER_DAYS,
) -> list[FlaggerCredibility]:
    """Credibility per flagger over every claim in the store (:func:`claims`; an override
    is dated at the tag day of the workspace's fit configuration, ``tag_after_days``)."""
    claimed = claims(session, tag_after_days)
    return score_flaggers(claimed, outcomes, as_of, known_until=known_until)

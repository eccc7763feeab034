"""Fit tags in the app store: recorded once per account, never overwritten, always explained.

A tagging run records a computed tag for every due account that has none (so re-running changes
nothing). A CSM's override of a signal, or the three-question quick check, records a new tag
that supersedes the previous one; the previous tag and every computed value stay in the history.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from icploop.errors import IcploopError
from icploop.ingest.schema import FIT_TAGS
from icploop.store.audit import audit
from icploop.store.database import utcnow
from icploop.store.models import AuditEvent, FitSignal, FitTag, WatchItem

SIGNAL_VALUES = ("strong", "near", "bad")

# Each signal (in the order of icploop.fit.config.SIGNALS) and the numbers behind it, kept with
# it (column names of icploop.fit.tagging.compute_fit).
EVIDENCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "core_use_case_active": ("use_case", "core_active_weeks_recent", "recent_window_days"),
    "champion_stability": (
        "champions",
        "stayed_same_role",
        "stayed_other_role",
        "departed",
        "champion_in_place_30d",
        "champion_in_place_90d",
        "champion_in_place_180d",
    ),
    "icp_segment_match": ("criteria", "criteria_met", "criteria_missed"),
    "adoption_trajectory": ("events_0_30", "events_30_60", "events_60_90", "adoption_ratio"),
    "ae_committed_use_cases_active": ("committed", "committed_active", "committed_inactive"),
}


@dataclass
class RunSummary:
    """What a tagging run did: new tags by tag, accounts skipped because already tagged."""

    tagged: dict[str, int] = field(default_factory=dict)
    already_tagged: int = 0
    new_tag_ids: list[int] = field(default_factory=list)
    watch_added: int = 0


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _plain(value.item())
    if isinstance(value, list | tuple) or type(value).__name__ == "ndarray":
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def record_run(
    session: Session,
    fit: pd.DataFrame,
    as_of: dt.date,
    rubric: dict[str, Any],
    watch_days: int,
    actor: str = "fit-run",
) -> RunSummary:
    """Record a computed tag for each row of ``fit`` whose account has no tag yet.

    ``fit`` is the frame of ``icploop.fit.tagging.compute_fit``. Near-fit accounts also go on the
    watch list, due ``watch_days`` after close. Idempotent: a second run with the same input adds
    nothing.
    """
    summary = RunSummary()
    tagged = set(session.scalars(select(FitTag.account_id).distinct()))
    now = utcnow()
    new_tags: list[FitTag] = []
    watch: list[WatchItem] = []
    for row in fit.to_dict("records"):
        account = str(row["account_id"])
        if account in tagged:
            summary.already_tagged += 1
            continue
        close = row.get("close_date")
        tag = FitTag(
            account_id=account,
            tag=row["tag"],
            computed_tag=row["tag"],
            method="computed",
            account_type=_plain(row.get("account_type")),
            close_date=pd.Timestamp(close).date() if close is not None else None,
            as_of=as_of,
            current=True,
            rubric=rubric,
            created_by=actor,
            created_at=now,
            signals=[
                FitSignal(
                    name=name,
                    computed_value=_plain(row.get(name)),
                    value=_plain(row.get(name)),
                    evidence={c: _plain(row.get(c)) for c in EVIDENCE_COLUMNS[name]},
                )
                for name in EVIDENCE_COLUMNS
            ],
        )
        new_tags.append(tag)
        summary.tagged[tag.tag] = summary.tagged.get(tag.tag, 0) + 1
        if tag.tag == "near_fit" and tag.close_date is not None:
            watch.append(
                WatchItem(
                    account_id=account,
                    fit_tag=tag,
                    due_date=tag.close_date + dt.timedelta(days=watch_days),
                    added_at=now,
                )
            )
            summary.watch_added += 1
    # one flush for the whole run: the store batches the inserts
    session.add_all([*new_tags, *watch])
    session.flush()
    summary.new_tag_ids.extend(tag.id for tag in new_tags)
    if summary.new_tag_ids:
        audit(
            session,
            actor=actor,
            action="fit.run",
            object_type="fit_run",
            object_id=as_of.isoformat(),
            details={"tagged": summary.tagged},
        )
    return summary


def current_tag(session: Session, account_id: str) -> FitTag:
    """The tag in force for an account; an IcploopError when it has none."""
    tag = session.scalars(
        select(FitTag)
        .where(FitTag.account_id == account_id, FitTag.current.is_(True))
        .options(selectinload(FitTag.signals))
    ).one_or_none()
    if tag is None:
        raise IcploopError(
            f"account {account_id!r} has no fit tag yet",
            "run `icploop fit run` (accounts are tagged 90 days after close)",
        )
    return tag


def tag_record(tag: FitTag) -> dict[str, object]:
    """A tag with its signals as plain data (the shape of ``icploop fit show --json``)."""
    return {
        "id": tag.id,
        "account_id": tag.account_id,
        "tag": tag.tag,
        "computed_tag": tag.computed_tag,
        "method": tag.method,
        "account_type": tag.account_type,
        "close_date": tag.close_date,
        "as_of": tag.as_of,
        "current": tag.current,
        "created_by": tag.created_by,
        "created_at": tag.created_at,
        "reason": tag.reason,
        "signals": [
            {
                "name": s.name,
                "computed": s.computed_value,
                "value": s.value,
                "evidence": s.evidence,
                "overridden_by": s.overridden_by,
                "override_reason": s.override_reason,
            }
            for s in tag.signals
        ],
    }


def history(session: Session, account_id: str) -> list[FitTag]:
    """Every tag the account ever had, oldest first, with signals."""
    return list(
        session.scalars(
            select(FitTag)
            .where(FitTag.account_id == account_id)
            .options(selectinload(FitTag.signals))
            .order_by(FitTag.id)
        )
    )


def list_current(session: Session, tag: str | None = None) -> list[FitTag]:
    """Tags in force, optionally only one kind (``strong_fit``, ``near_fit``, ``bad_fit``)."""
    query = select(FitTag).where(FitTag.current.is_(True)).order_by(FitTag.account_id)
    if tag is not None:
        if tag not in FIT_TAGS:
            raise IcploopError(f"unknown fit tag {tag!r}", f"use one of {', '.join(FIT_TAGS)}")
        query = query.where(FitTag.tag == tag)
    return list(session.scalars(query))


def current_tags_of(session: Session, account_ids: list[str]) -> dict[str, str]:
    """The tag in force of each of these accounts that has one."""
    query = select(FitTag.account_id, FitTag.tag).where(
        FitTag.current.is_(True), FitTag.account_id.in_(account_ids)
    )
    return {str(account_id): str(tag) for account_id, tag in session.execute(query).all()}


def _supersede(session: Session, old: FitTag, method: str, actor: str, reason: str) -> FitTag:
    old.current = False
    new = FitTag(
        account_id=old.account_id,
        tag=old.tag,
        computed_tag=old.computed_tag,
        method=method,
        account_type=old.account_type,
        close_date=old.close_date,
        as_of=old.as_of,
        current=True,
        supersedes_id=old.id,
        rubric=old.rubric,
        created_by=actor,
        reason=reason,
        created_at=utcnow(),
        signals=[
            FitSignal(
                name=s.name,
                computed_value=s.computed_value,
                value=s.value,
                evidence=dict(s.evidence),
                overridden_by=s.overridden_by,
                overridden_at=s.overridden_at,
                override_reason=s.override_reason,
            )
            for s in old.signals
        ],
    )
    session.add(new)
    return new


def record_override(
    session: Session,
    account_id: str,
    signal: str,
    value: str,
    reason: str,
    actor: str,
    retag: Callable[[dict[str, str | None]], str],
) -> FitTag:
    """Record a CSM's confirmation or override of one signal: a new tag with the signal's new
    value and the tag ``retag`` gives for the signals' values (the fit rubric's rule, applied by
    :func:`icploop.flags.overrides.override_signal`); the computed value and the previous tag
    are kept."""
    if value not in SIGNAL_VALUES:
        raise IcploopError(f"unknown signal value {value!r}", "use strong, near or bad")
    if not reason.strip():
        raise IcploopError("an override needs a reason", "say in a sentence why the data is wrong")
    old = current_tag(session, account_id)
    new = _supersede(session, old, "override", actor, reason)
    for s in new.signals:
        if s.name == signal:
            s.value, s.overridden_by, s.overridden_at = value, actor, utcnow()
            s.override_reason = reason
    new.tag = retag({s.name: s.value for s in new.signals})
    session.flush()
    audit(
        session,
        actor=actor,
        action="fit.override",
        object_type="fit_tag",
        object_id=new.id,
        details={
            "account_id": account_id,
            "signal": signal,
            "value": value,
            "reason": reason,
            "tag": new.tag,
        },
    )
    return new


def quick_check(
    session: Session,
    account_id: str,
    primary_use_case_in_use: bool,
    champion_in_same_role: bool,
    competitor_or_regret: bool,
    actor: str,
) -> FitTag:
    """The three-question check a CSM answers in minutes, recorded as a superseding tag.

    Rule: a competitor mentioned or regret about switching, or both other answers negative, is
    ``bad_fit``; both positive and no competitor is ``strong_fit``; anything else ``near_fit``.
    """
    old = current_tag(session, account_id)
    negatives = (not primary_use_case_in_use) + (not champion_in_same_role)
    if competitor_or_regret or negatives == 2:
        tag = "bad_fit"
    elif negatives == 0:
        tag = "strong_fit"
    else:
        tag = "near_fit"
    answers = {
        "primary_use_case_in_use": primary_use_case_in_use,
        "champion_in_same_role": champion_in_same_role,
        "competitor_or_regret": competitor_or_regret,
    }
    new = _supersede(session, old, "quick_check", actor, f"quick check: {answers}")
    new.tag = tag
    session.flush()
    audit(
        session,
        actor=actor,
        action="fit.quick_check",
        object_type="fit_tag",
        object_id=new.id,
        details={"account_id": account_id, "tag": tag, **answers},
    )
    return new


def _watching(as_of: dt.date, due_only: bool) -> Any:
    query = select(WatchItem).where(WatchItem.reviewed_at.is_(None))
    if not due_only:
        return query
    awake = or_(WatchItem.snoozed_until.is_(None), WatchItem.snoozed_until <= as_of)
    return query.where(WatchItem.due_date <= as_of, awake)


def watch_list(
    session: Session, as_of: dt.date, due_only: bool = True, limit: int | None = None
) -> list[WatchItem]:
    """Near-fit accounts awaiting their 180-day review (only those due by ``as_of`` and not
    snoozed past it by default), earliest due first; at most ``limit`` of them."""
    query = _watching(as_of, due_only).order_by(WatchItem.due_date, WatchItem.account_id)
    return list(session.scalars(query.limit(limit)))


def watch_count(session: Session, as_of: dt.date, due_only: bool = True) -> int:
    """How many accounts :func:`watch_list` would list without a limit."""
    query = _watching(as_of, due_only).with_only_columns(func.count())
    return int(session.scalar(query) or 0)


def tag_counts(session: Session) -> dict[str, int]:
    """Accounts per fit tag in force (counted in the store, not in Python)."""
    rows = session.execute(
        select(FitTag.tag, func.count()).where(FitTag.current.is_(True)).group_by(FitTag.tag)
    )
    return {str(tag): int(n) for tag, n in rows}


WATCH_OBJECT = "watch_item"


def open_watch_item(session: Session, account_id: str) -> WatchItem:
    """The account's watch-list entry awaiting review."""
    item = session.scalars(
        select(WatchItem)
        .where(WatchItem.account_id == account_id, WatchItem.reviewed_at.is_(None))
        .order_by(WatchItem.id.desc())
        .limit(1)
    ).first()
    if item is None:
        raise IcploopError(
            f"account {account_id} has no watch-list entry awaiting review",
            "list the watch list (icploop watch list --all) to find one",
        )
    return item


def review_watch(
    session: Session, account_id: str, outcome: str, actor: str, now: dt.datetime
) -> WatchItem:
    """Mark the account's watch-list entry reviewed, with what the review found."""
    if not outcome.strip():
        raise IcploopError("a review needs its outcome", "say in a sentence what the review found")
    item = open_watch_item(session, account_id)
    item.reviewed_at, item.reviewed_by, item.outcome = now, actor, outcome.strip()
    audit(session, actor=actor, action="watch.reviewed", object_type=WATCH_OBJECT,
          object_id=item.id, at=now,
          details={"account_id": account_id, "outcome": item.outcome})  # fmt: skip
    session.flush()
    return item


def snooze_watch(
    session: Session,
    account_id: str,
    until: dt.date,
    reason: str,
    actor: str,
    now: dt.datetime,
) -> WatchItem:
    """Keep the account's watch-list entry off the due list until ``until`` (a later day)."""
    if until <= now.date():
        raise IcploopError(f"cannot snooze until {until}: that is not after today",
                           "give a later day")  # fmt: skip
    if not reason.strip():
        raise IcploopError("a snooze needs its reason", "say in a sentence why it can wait")
    item = open_watch_item(session, account_id)
    before, item.snoozed_until = item.snoozed_until, until
    audit(session, actor=actor, action="watch.snoozed", object_type=WATCH_OBJECT,
          object_id=item.id, at=now,
          details={"account_id": account_id, "until": until.isoformat(), "reason": reason.strip(),
                   "before": before.isoformat() if before else None})  # fmt: skip
    session.flush()
    return item


def watch_history(session: Session, account_id: str) -> list[AuditEvent]:
    """Every review and snooze of the account's watch-list entries, oldest first."""
    ids = [str(i) for i in session.scalars(
        select(WatchItem.id).where(WatchItem.account_id == account_id))]  # fmt: skip
    query = select(AuditEvent).where(
        AuditEvent.object_type == WATCH_OBJECT, AuditEvent.object_id.in_(ids)
    )
    return list(session.scalars(query.order_by(AuditEvent.at, AuditEvent.id)))


def current_tags_frame(session: Session) -> pd.DataFrame:
    """The fit tags in force in the app store: ``account_id``, ``tag``, ``close_date``."""
    rows = session.execute(
        select(FitTag.account_id, FitTag.tag, FitTag.close_date).where(FitTag.current.is_(True))
    ).all()
    return pd.DataFrame(
        [tuple(r) for r in rows], columns=["account_id", "tag", "close_date"]
    ).astype({"account_id": object, "tag": object})

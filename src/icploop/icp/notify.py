"""Notify overdue ICP implementation steps through a flag channel, once per step.

The flag outbox (``deliveries``) is keyed by a flag, so overdue steps do not go through it: this
module hands the message to a channel object directly and records ``notified_at`` on the step,
which is what makes the notice go out once. A failed send leaves ``notified_at`` empty, so the
next run tries again.

``icploop.icp`` and ``icploop.flags`` are independent layers (see the import contracts), so the
channel is taken by its shape, :class:`Notifier`: ``icploop.flags.channels`` WebhookChannel and
EmailChannel fit it, and the caller (CLI, scheduler) picks one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from icploop.icp.signoff import TEAM_LEADS, signers
from icploop.icp.versions import OVERRIDE_NOTICE, STEPS, overdue_steps
from icploop.store.audit import audit
from icploop.store.models import AuditEvent, ImplementationStep, Person

DEFAULT_WEBHOOK_RECIPIENT = "#icp-signals"
ACTOR = "icp-notify"


class Notifier(Protocol):
    """A flag channel: ``name`` (``webhook``, ``email``) and ``send(recipient, payload)``,
    which raises when the message could not be delivered."""

    name: str

    def send(self, recipient: str, payload: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class NotifyResult:
    """What a run did: steps notified now (``v3:circulate``) and the failures with their reason."""

    notified: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    skipped: tuple[str, ...] = field(default=())  # overdue but nobody to send to


def step_message(step: ImplementationStep, as_of: dt.date) -> dict[str, Any]:
    """The payload for one overdue step: ``subject`` and ``text`` (headline, then details)."""
    rule = next(r for r in STEPS if r.step == step.step)
    number = step.version.number
    late = (as_of - step.due_date).days
    text = (
        f"ICP version {number}: {rule.label.lower()} is overdue\n"
        f"Due {step.due_date}, {late} day{'s' if late != 1 else ''} late; owner: "
        f"{' or '.join(rule.owner_roles)}. Record it with `icploop icp step {number} {step.step}`."
    )
    return {"subject": f"Overdue: ICP v{number} {step.step}", "text": text}


def _owners(session: Session, step: ImplementationStep) -> list[Person]:
    """Active people of the step's owner roles who have an email address."""
    rule = next(r for r in STEPS if r.step == step.step)
    query = select(Person).where(Person.role.in_(rule.owner_roles), Person.active.is_(True))
    return [p for p in session.scalars(query.order_by(Person.person_id)) if p.email]


def notify_overdue(
    session: Session,
    channel: Notifier,
    as_of: dt.date,
    now: dt.datetime,
    *,
    recipient: str = DEFAULT_WEBHOOK_RECIPIENT,
) -> NotifyResult:
    """Send one notice per overdue step not yet notified, and stamp ``notified_at = now``.

    A webhook gets one message per step, addressed to ``recipient`` (the channel name; the URL
    decides where it lands). Email goes to every active person of the step's owner roles with an
    address; a step whose owners have none is skipped (and stays un-notified). If any send of a
    step fails the step stays un-notified and is retried on the next run; with email this can
    repeat the notice to the owners already reached, which is preferred to losing it.
    The caller commits the session.
    """
    notified: list[str] = []
    failed: list[tuple[str, str]] = []
    skipped: list[str] = []
    for step in overdue_steps(session, as_of):
        if step.notified_at is not None:
            continue
        key = f"v{step.version.number}:{step.step}"
        payload = step_message(step, as_of)
        if channel.name == "email":
            owners = _owners(session, step)
            targets = [(p.person_id, {**payload, "email": p.email}) for p in owners]
        else:
            targets = [(recipient, payload)]
        if not targets:
            skipped.append(key)
            continue
        try:
            for who, body in targets:
                channel.send(who, body)
        # channels raise their own ChannelError, which this layer may not import; any failure
        # means the same thing here: not notified, try again next run
        except Exception as exc:
            failed.append((key, str(exc)))
            continue
        step.notified_at = now
        audit(
            session,
            actor=ACTOR,
            action="icp.step_overdue_notified",
            object_type="icp_version",
            object_id=step.version.number,
            at=now,
            details={"step": step.step, "channel": channel.name, "due": step.due_date.isoformat()},
        )
        notified.append(key)
    session.flush()
    return NotifyResult(notified=tuple(notified), failed=tuple(failed), skipped=tuple(skipped))


def override_message(number: int, team: str, reason: str, latest: str | None) -> dict[str, Any]:
    """The notice to a team whose approval a published version went without."""
    said = "objected" if latest == "object" else "had not approved"
    text = (
        f"ICP version {number} was published without {team}'s approval\n"
        f"Your team {said}. The reason given: {reason}. Read it with `icploop icp show {number}`;"
        " objections can be raised on the next draft."
    )
    return {"subject": f"ICP v{number} published without {team}'s approval", "text": text}


def _leads(session: Session, team: str) -> list[Person]:
    """Active people who lead ``team`` or were named to sign for it, with an email address."""
    named = {s.person_id for s in signers(session, team)}
    query = select(Person).where(Person.active.is_(True)).order_by(Person.person_id)
    return [
        p
        for p in session.scalars(query)
        if p.email and (p.role in TEAM_LEADS[team] or p.person_id in named)
    ]


def notify_overrides(
    session: Session,
    channel: Notifier,
    now: dt.datetime,
    *,
    recipient: str = DEFAULT_WEBHOOK_RECIPIENT,
) -> NotifyResult:
    """Deliver every ``icp.override_notice`` not yet delivered: one message per team that did
    not approve a version published with an override, by email to the team's leads and named
    signers, or once to the webhook ``recipient``. Delivered notices are audited
    (``icp.override_notified``) and not sent again; a failed one is tried on the next run.
    The caller commits the session."""
    done = {
        (e.object_id, e.details.get("team"))
        for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "icp.override_notified")
        )
    }
    notified: list[str] = []
    failed: list[tuple[str, str]] = []
    skipped: list[str] = []
    notices = select(AuditEvent).where(AuditEvent.action == OVERRIDE_NOTICE)
    for event in session.scalars(notices.order_by(AuditEvent.id)):
        team = str(event.details.get("team"))
        if (event.object_id, team) in done:
            continue
        key = f"v{event.object_id}:{team}"
        payload = override_message(int(event.object_id), team,
                                   str(event.details.get("reason") or ""),
                                   event.details.get("latest"))  # fmt: skip
        if channel.name == "email":
            targets = [(p.person_id, {**payload, "email": p.email}) for p in _leads(session, team)]
        else:
            targets = [(recipient, payload)]
        if not targets:
            skipped.append(key)
            continue
        try:
            for who, body in targets:
                channel.send(who, body)
        except Exception as exc:  # any channel's failure: not notified, try again next run
            failed.append((key, str(exc)))
            continue
        audit(session, actor=ACTOR, action="icp.override_notified", object_type="icp_version",
              object_id=event.object_id, at=now,
              details={"team": team, "channel": channel.name})  # fmt: skip
        done.add((event.object_id, team))
        notified.append(key)
    session.flush()
    return NotifyResult(notified=tuple(notified), failed=tuple(failed), skipped=tuple(skipped))

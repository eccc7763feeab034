"""The outbox: delivering enqueued flag messages, with retries, back-off and no duplicates.

A delivery is claimed before it is sent: one ``UPDATE ... WHERE status = 'pending'`` that moves it
to ``sending`` and is committed, so of two concurrent runs only the one whose update changed a row
sends. The send's outcome (delivered, or a failed attempt with its back-off) is committed right
after. If a run dies between sending and recording, the row stays ``sending`` and whether the
message went out is unknown. Every message therefore carries a stable idempotency key
(``payload["idempotency_key"]``, the same on every attempt of one delivery): the webhook sends it
as the ``Idempotency-Key`` header, email as the ``Message-ID``, the CRM-note CSV as ``note_id``
(and skips a note already in the file), so a receiver can drop a repeat. Once its claim has
expired, such a row is listed by ``stuck_deliveries`` and put back in the queue by
``reclaim_expired`` (what ``icploop flags deliver`` and ``flags stuck --reclaim`` call first).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from icploop.errors import IcploopError
from icploop.flags.channels.base import Channel
from icploop.store.audit import audit
from icploop.store.models import Delivery

BASE_DELAY = dt.timedelta(minutes=1)
MAX_DELAY = dt.timedelta(hours=6)
CLAIM_LEASE = dt.timedelta(minutes=15)
OUTBOX_ACTOR = "outbox"


def backoff(attempts: int) -> dt.timedelta:
    """Wait after the ``attempts``-th failure: 1 min, 2, 4, ... capped at 6 hours."""
    if attempts < 1:
        return dt.timedelta(0)
    # cap the exponent first: 2**attempts alone overflows timedelta after ~40 attempts
    return min(BASE_DELAY * 2 ** min(attempts - 1, 20), MAX_DELAY)


@dataclass
class DeliveryRun:
    """What one ``deliver_due`` run did, by delivery id."""

    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # no channel configured for them here


IDEMPOTENCY_KEY = "idempotency_key"


def new_key() -> str:
    """A fresh idempotency key, unique across workspaces (a random UUID)."""
    return f"icploop-{uuid.uuid4().hex}"


def idempotency_key(delivery: Delivery) -> str:
    """The delivery's idempotency key, given one first if it was queued before keys existed
    (stored with the delivery, so every later attempt sends the same)."""
    key = delivery.payload.get(IDEMPOTENCY_KEY)
    if not key:
        key = new_key()
        delivery.payload = {**delivery.payload, IDEMPOTENCY_KEY: key}
    return str(key)


def claim(session: Session, delivery_id: int, now: dt.datetime) -> bool:
    """Move one due pending delivery to ``sending``; False if another run got it first."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status == "pending",
            Delivery.next_attempt_at <= now,
        )
        .values(status="sending", next_attempt_at=now + CLAIM_LEASE)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _due(session: Session, now: dt.datetime, names: list[str]) -> list[int]:
    query = (
        select(Delivery.id)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .where(Delivery.channel.in_(names))
        .order_by(Delivery.next_attempt_at, Delivery.id)
    )
    return list(session.scalars(query))


def deliver_due(
    session: Session,
    channels: Mapping[str, Channel],
    now: dt.datetime,
    max_attempts: int = 8,
) -> DeliveryRun:
    """Send every pending delivery due at ``now`` through its channel and record the outcome.

    Commits on ``session`` (the claim before each send, the outcome after it), so pass a session
    that is not inside a ``session.begin()`` block. Deliveries whose channel is not in
    ``channels`` are left pending for a run that has it. After ``max_attempts`` failures a
    delivery becomes ``failed`` and shows in ``stuck_deliveries``.
    """
    run = DeliveryRun()
    skipped = select(Delivery.id).where(
        Delivery.status == "pending",
        Delivery.next_attempt_at <= now,
        Delivery.channel.not_in(list(channels)),
    )
    run.skipped = list(session.scalars(skipped))
    session.commit()
    for delivery_id in _due(session, now, list(channels)):
        if not claim(session, delivery_id, now):
            continue
        delivery = session.get(Delivery, delivery_id, populate_existing=True)
        assert delivery is not None  # claimed rows are never deleted
        if not delivery.payload.get(IDEMPOTENCY_KEY):
            idempotency_key(delivery)
            session.commit()  # the key is stored before anything is sent with it
        error: str | None = None
        try:
            channels[delivery.channel].send(delivery.recipient, delivery.payload)
        except Exception as exc:  # any failure must release the claim, or the row is stuck
            error = f"{type(exc).__name__}: {exc}"[:2000]
        delivery.attempts += 1
        if error is None:
            delivery.status = "delivered"
            delivery.delivered_at = now
            delivery.last_error = None
            run.delivered.append(delivery_id)
        elif delivery.attempts >= max_attempts:
            delivery.status = "failed"
            delivery.last_error = error
            run.failed.append(delivery_id)
            audit(
                session,
                actor=OUTBOX_ACTOR,
                action="delivery.failed",
                object_type="delivery",
                object_id=delivery_id,
                at=now,
                details={"attempts": delivery.attempts, "last_error": error},
            )
        else:
            delivery.status = "pending"
            delivery.next_attempt_at = now + backoff(delivery.attempts)
            delivery.last_error = error
            run.retrying.append(delivery_id)
        session.commit()
    return run


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands timestamps back without their zone; the store writes UTC only
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def stuck_deliveries(session: Session, now: dt.datetime) -> list[Delivery]:
    """Deliveries that need attention at ``now``: failed for good, or a claim that expired
    without an outcome (a run died mid-send; :func:`reclaim_expired` puts those back)."""
    stuck = or_(
        Delivery.status == "failed",
        (Delivery.status == "sending") & (Delivery.next_attempt_at <= now),
    )
    return list(session.scalars(select(Delivery).where(stuck).order_by(Delivery.id)))


def reclaim_expired(session: Session, now: dt.datetime, actor: str = OUTBOX_ACTOR) -> list[int]:
    """Put every delivery whose claim expired without an outcome back in the queue, due now;
    their ids. The next run resends them with the same idempotency key, so a receiver that
    already got the message drops the repeat. Each is audited; commits on ``session``.

    A claim that has not expired is left alone (its run may still be sending), and of two
    concurrent calls only one takes each row.
    """
    expired = select(Delivery.id).where(
        Delivery.status == "sending", Delivery.next_attempt_at <= now
    )
    taken: list[int] = []
    for delivery_id in list(session.scalars(expired)):
        result = session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.status == "sending",
                Delivery.next_attempt_at <= now,
            )
            .values(
                status="pending",
                next_attempt_at=now,
                last_error="interrupted mid-send: resent with the same idempotency key",
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            taken.append(delivery_id)
            audit(session, actor=actor, action="delivery.reclaimed", object_type="delivery",
                  object_id=delivery_id, at=now)  # fmt: skip
    session.commit()
    return taken


def requeue(session: Session, delivery_id: int, actor: str, now: dt.datetime) -> Delivery:
    """Put a stuck delivery back in the queue with fresh attempts (a person's decision)."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.status not in ("failed", "sending"):
        raise IcploopError(
            f"delivery {delivery_id} is not stuck", "list stuck deliveries to pick one"
        )
    if delivery.status == "sending" and _utc(delivery.next_attempt_at) > now:
        raise IcploopError(
            f"delivery {delivery_id} is being sent right now",
            f"wait until its claim expires ({CLAIM_LEASE} after it was taken)",
        )
    before = delivery.status
    delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, now
    audit(
        session,
        actor=actor,
        action="delivery.requeued",
        object_type="delivery",
        object_id=delivery_id,
        at=now,
        details={"was": before, "last_error": delivery.last_error},
    )
    session.flush()
    return delivery

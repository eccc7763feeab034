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
import hashlib
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from icploop.errors import IcploopError
from icploop.flags.channels.base import Channel
from icploop.flags.issues import FIT_ISSUES
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
#: the key of the digest a delivery was sent in: a retry resends that batch, not a new mix
DIGEST_KEY = "digest_key"


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
    *,
    digest: Collection[str] = (),
    base_url: str | None = None,
    note: str | None = None,
) -> DeliveryRun:
    """Send every pending delivery due at ``now`` through its channel and record the outcome.

    Commits on ``session`` (the claim before each send, the outcome after it), so pass a session
    that is not inside a ``session.begin()`` block. Deliveries whose channel is not in
    ``channels`` are left pending for a run that has it. After ``max_attempts`` failures a
    delivery becomes ``failed`` and shows in ``stuck_deliveries``.

    A channel named in ``digest`` gets one message per recipient for all its due deliveries
    (:func:`digest_payload`, with ``note`` under the counts); each delivery keeps its own row
    and outcome. With ``base_url``, links in messages are absolute (:func:`absolute_links`).
    """
    run = DeliveryRun()
    skipped = select(Delivery.id).where(
        Delivery.status == "pending",
        Delivery.next_attempt_at <= now,
        Delivery.channel.not_in(list(channels)),
    )
    run.skipped = list(session.scalars(skipped))
    session.commit()
    groups: dict[tuple[str, str, str], list[Delivery]] = {}
    for delivery_id in _due(session, now, list(channels)):
        if not claim(session, delivery_id, now):
            continue
        delivery = session.get(Delivery, delivery_id, populate_existing=True)
        assert delivery is not None  # claimed rows are never deleted
        if not delivery.payload.get(IDEMPOTENCY_KEY):
            idempotency_key(delivery)
            session.commit()  # the key is stored before anything is sent with it
        if delivery.channel in digest:
            # a batch sent before (interrupted, or failed) is sent again as it was, with its key
            batch_key = str(delivery.payload.get(DIGEST_KEY, ""))
            groups.setdefault((delivery.channel, delivery.recipient, batch_key), []).append(
                delivery
            )
            continue
        payload = absolute_links(delivery.payload, base_url)
        error = _send(channels[delivery.channel], delivery.recipient, payload)
        _record(session, delivery, error, now, max_attempts, run)
    for (channel, recipient, _), batch in groups.items():
        payload = digest_payload(session, batch, base_url, note)
        for delivery in batch:  # stored before it is sent, so a retry is the same batch
            delivery.payload = {**delivery.payload, DIGEST_KEY: payload[IDEMPOTENCY_KEY]}
        session.commit()
        error = _send(channels[channel], recipient, payload)
        for delivery in batch:
            _record(session, delivery, error, now, max_attempts, run)
    return run


def _send(channel: Channel, recipient: str, payload: Mapping[str, Any]) -> str | None:
    try:
        channel.send(recipient, payload)
    except Exception as exc:  # any failure must release the claim, or the row is stuck
        return f"{type(exc).__name__}: {exc}"[:2000]
    return None


def _record(
    session: Session,
    delivery: Delivery,
    error: str | None,
    now: dt.datetime,
    max_attempts: int,
    run: DeliveryRun,
) -> None:
    delivery.attempts += 1
    if error is None:
        delivery.status = "delivered"
        delivery.delivered_at = now
        delivery.last_error = None
        run.delivered.append(delivery.id)
    elif delivery.attempts >= max_attempts:
        delivery.status = "failed"
        delivery.last_error = error
        run.failed.append(delivery.id)
        audit(
            session,
            actor=OUTBOX_ACTOR,
            action="delivery.failed",
            object_type="delivery",
            object_id=delivery.id,
            at=now,
            details={"attempts": delivery.attempts, "last_error": error},
        )
    else:
        delivery.status = "pending"
        delivery.next_attempt_at = now + backoff(delivery.attempts)
        delivery.last_error = error
        run.retrying.append(delivery.id)
    session.commit()


def absolute(link: str, base_url: str | None) -> str:
    """A link made absolute from the web app's address; an absolute one (or no base) as is."""
    if base_url is None or "://" in link:
        return link
    return base_url.rstrip("/") + "/" + link.lstrip("/")


def absolute_links(payload: Mapping[str, Any], base_url: str | None) -> dict[str, Any]:
    """The payload with its links, and their mention in the text's ``Links:`` line, absolute."""
    links = {name: str(url) for name, url in (payload.get("links") or {}).items()}
    if base_url is None or not links:
        return dict(payload)
    full = {name: absolute(url, base_url) for name, url in links.items()}
    lines = str(payload.get("text", "")).split("\n")
    for i, line in enumerate(lines):
        if line.startswith("Links: "):
            lines[i] = "Links: " + "; ".join(f"{n}: {u}" for n, u in sorted(full.items()))
    return {**payload, "links": full, "text": "\n".join(lines)}


DIGEST_TOP = 5
INBOX = "/flags"


def digest_payload(
    session: Session, batch: Sequence[Delivery], base_url: str | None, note: str | None
) -> dict[str, Any]:
    """One message for a batch of one recipient's deliveries: how many flags by fit issue, the
    newest few (by their data's date) with their accounts' links, and a link to the inbox.

    Its idempotency key is derived from the deliveries' own keys, so a retry of the same batch
    carries the same key."""
    flags = sorted(
        (d.flag for d in batch),
        key=lambda f: (f.data_date or dt.date.min, f.id),
        reverse=True,
    )
    by_issue: dict[str, int] = {}
    for flag in flags:
        label = FIT_ISSUES.get(flag.fit_issue, flag.fit_issue)
        by_issue[label] = by_issue.get(label, 0) + 1
    counts = ", ".join(f"{label} {n}" for label, n in sorted(by_issue.items()))
    inbox = absolute(INBOX, base_url)
    lines = [f"icploop: {len(flags)} new bad-fit flag(s): {counts}"]
    if note:
        lines.append(note)
    for flag in flags[:DIGEST_TOP]:
        account = absolute((flag.links or {}).get("account", f"/accounts/{flag.account_id}"),
                           base_url)  # fmt: skip
        issue = FIT_ISSUES.get(flag.fit_issue, flag.fit_issue)
        lines.append(f"- {flag.account_id} | {issue} | {flag.evidence} ({account})")
    if len(flags) > DIGEST_TOP:
        lines.append(f"and {len(flags) - DIGEST_TOP} more")
    lines.append(f"Inbox: {inbox}")
    keys = sorted(str(d.payload.get(IDEMPOTENCY_KEY)) for d in batch)
    digest_key = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]
    first = batch[0].payload
    return {
        "subject": f"[icploop] {len(flags)} new bad-fit flag(s)",
        "text": "\n".join(lines),
        "links": {"inbox": inbox},
        "email": first.get("email"),
        "author": OUTBOX_ACTOR,
        "flag_ids": [f.id for f in flags],
        IDEMPOTENCY_KEY: f"icploop-digest-{digest_key}",
    }


@dataclass(frozen=True)
class ChannelStatus:
    """Whether a channel can deliver here, and the deliveries waiting for it."""

    channel: str
    configured: bool
    waiting: int
    why: str | None = None
    """What to set when the channel is not configured."""

    def line(self) -> str:
        """One line for the CLI."""
        if self.configured:
            return f"channel {self.channel}: delivers ({self.waiting} waiting)"
        return (
            f"channel {self.channel}: cannot deliver: {self.why}; {self.waiting} deliveries waiting"
        )


UNCONFIGURED = {
    "webhook": "no webhook URL (set ICPLOOP_WEBHOOK_URL)",
    "email": "no SMTP server (set ICPLOOP_SMTP_HOST)",
    "crm_csv": "no CRM-note file",
}


def channel_status(session: Session, channels: Collection[str]) -> list[ChannelStatus]:
    """Each channel's status: ``channels`` are the configured ones; a channel that is not
    configured is listed when deliveries wait for it (or it is the webhook or email)."""
    waiting = dict(
        session.execute(
            select(Delivery.channel, func.count())
            .where(Delivery.status.in_(("pending", "sending")))
            .group_by(Delivery.channel)
        ).all()
    )
    names = sorted({*channels, *waiting, "webhook", "email"})
    statuses = []
    for name in names:
        why = None if name in channels else UNCONFIGURED.get(name, "not configured")
        statuses.append(ChannelStatus(name, name in channels, int(waiting.get(name, 0)), why))
    return statuses


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


def blocked_channels(session: Session, configured: Collection[str]) -> list[str]:
    """One line for each channel that cannot deliver here (the webhook and email always, any
    other when deliveries wait for it): what to set and how many deliveries wait."""
    return [s.line() for s in channel_status(session, configured) if not s.configured]

"""The audit log: every change to the app store says who, what and when; reading it back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icploop.store.database import utcnow
from icploop.store.models import AuditEvent


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    at: dt.datetime | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event to the session (committed with the change it describes).

    ``at`` defaults to now (UTC); ``details`` must be JSON-friendly (other values become text).
    Every row is bounded whatever it is given: actor and object id are cut to their columns'
    200 characters, texts in the details to :data:`MAX_TEXT` characters and lists to
    :data:`MAX_ITEMS` items, each cut saying how much was left out.
    """
    event = AuditEvent(
        at=at or utcnow(),
        actor=_cut(actor, 200),
        action=action,
        object_type=object_type,
        object_id=_cut(str(object_id), 200),
        details={_cut(str(k), 200): _jsonable(v) for k, v in (details or {}).items()},
    )
    session.add(event)
    return event


def events(
    session: Session, actor: str = "", action: str = "", limit: int = 100, offset: int = 0
) -> list[AuditEvent]:
    """A page of events, newest first; ``actor`` keeps one actor's, ``action`` the actions that
    start with it (taken literally: ``%`` and ``_`` match themselves)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        query = query.where(AuditEvent.action.startswith(action, autoescape=True))
    return list(session.scalars(query.limit(limit).offset(offset)))


def events_about(
    session: Session, action: str, object_type: str, object_ids: list[str]
) -> list[AuditEvent]:
    """The events of one action on some objects of one type, oldest first."""
    if not object_ids:
        return []
    query = select(AuditEvent).where(
        AuditEvent.action == action,
        AuditEvent.object_type == object_type,
        AuditEvent.object_id.in_(object_ids),
    )
    return list(session.scalars(query.order_by(AuditEvent.id)))


MAX_TEXT = 2000
MAX_ITEMS = 100


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    note = f"… ({len(text) - limit} more characters)"
    return text[: max(0, limit - len(note))] + note


def _jsonable(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return _cut(value, MAX_TEXT)
    if isinstance(value, int | float | bool) or value is None:
        return value
    if depth >= 8:
        return _cut(str(value), MAX_TEXT)
    if isinstance(value, dict):
        items = list(value.items())
        out = {_cut(str(k), 200): _jsonable(v, depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            out["…"] = f"{len(items) - MAX_ITEMS} more entries"
        return out
    if isinstance(value, list | tuple):
        kept = [_jsonable(v, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            kept.append(f"… {len(value) - MAX_ITEMS} more items")
        return kept
    return _cut(str(value), MAX_TEXT)

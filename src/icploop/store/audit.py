"""Writing the audit log: every change to the app store says who, what and when."""

from __future__ import annotations

import datetime as dt
from typing import Any

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
    """
    event = AuditEvent(
        at=at or utcnow(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details={k: _jsonable(v) for k, v in (details or {}).items()},
    )
    session.add(event)
    return event


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)

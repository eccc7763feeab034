"""Context an AE adds to a flag about their deal, kept in the audit log beside the flag.

A flag's evidence is frozen once sent (its recipients read it); what the AE knows about the deal
is added beside it, not into it, and every note says who wrote it and when.
"""

from __future__ import annotations

import re

from icploop.errors import IcploopError
from icploop.store import Session
from icploop.store.audit import audit, events_about
from icploop.store.models import AuditEvent, Flag

MAX_CONTEXT_CHARS = 1000
ACTION = "flag.context"


def add_context(session: Session, flag: Flag, text: str, actor: str) -> AuditEvent:
    """Record an AE's context on a flag."""
    cleaned = re.sub(r"\s+", " ", text or "").strip()
    if not cleaned:
        raise IcploopError("the context is empty", "say what you know about the deal")
    if len(cleaned) > MAX_CONTEXT_CHARS:
        raise IcploopError(f"context takes at most {MAX_CONTEXT_CHARS} characters", "shorten it")
    return audit(
        session,
        actor=actor,
        action=ACTION,
        object_type="flag",
        object_id=flag.id,
        details={"text": cleaned, "account_id": flag.account_id},
    )


def contexts(session: Session, flag_ids: list[int]) -> dict[int, list[AuditEvent]]:
    """The context notes of some flags, oldest first."""
    rows = events_about(session, ACTION, "flag", [str(i) for i in flag_ids])
    out: dict[int, list[AuditEvent]] = {}
    for row in rows:
        out.setdefault(int(row.object_id), []).append(row)
    return out

"""Triage of flags: each delivered or recorded flag is ``new`` until someone acknowledges it,
then ``resolved`` (or back to ``new``), with who and when; every move is in the audit log.

A draft is its author's work in progress and has no triage state to move yet.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from icploop.errors import IcploopError
from icploop.store.audit import audit
from icploop.store.models import AuditEvent, Flag

FLAG_STATES = ("new", "acknowledged", "resolved")
STATE_ACTION = "flag.state"


def set_flag_state(
    session: Session, flag_id: int, state: str, actor: str, now: dt.datetime, note: str = ""
) -> Flag:
    """Move a flag to ``state`` (one of :data:`FLAG_STATES`), recording who and when."""
    if state not in FLAG_STATES:
        raise IcploopError(f"unknown flag state {state!r}", f"use one of: {', '.join(FLAG_STATES)}")
    flag = session.get(Flag, flag_id)
    if flag is None:
        raise IcploopError(f"no flag with id {flag_id}", "list the flags to find the right id")
    if flag.status == "draft":
        raise IcploopError(
            f"flag {flag_id} is a draft", "a flag is triaged once it is sent (or recorded)"
        )
    if flag.state == state:
        raise IcploopError(f"flag {flag_id} is already {state}", "nothing to do")
    before = flag.state
    flag.state, flag.state_by, flag.state_at = state, actor, now
    details = {"from": before, "to": state, **({"note": note.strip()} if note.strip() else {})}
    audit(session, actor=actor, action=STATE_ACTION, object_type="flag", object_id=flag.id,
          at=now, details=details)  # fmt: skip
    session.flush()
    return flag


def flag_history(session: Session, flag_id: int) -> list[AuditEvent]:
    """Every recorded change of the flag (creation, sending, state moves), oldest first."""
    query = select(AuditEvent).where(
        AuditEvent.object_type == "flag", AuditEvent.object_id == str(flag_id)
    )
    return list(session.scalars(query.order_by(AuditEvent.at, AuditEvent.id)))

"""API tokens in the app store: their state, and ending them when their person changes.

A token works while it is not revoked, not past ``expires_at``, and its person is active with
the role the token was issued for. Deactivating a person or changing their role ends (revokes)
every token they hold, so reactivating them or giving the old role back does not bring old
tokens back: they ask for new ones.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from icploop.store.audit import audit
from icploop.store.models import ApiToken, Person


def token_state(row: ApiToken, person: Person | None, now: dt.datetime) -> str:
    """``active``, or why the token does not work: ``revoked``, ``expired``, ``person
    inactive`` or ``role changed``."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    if person is None or not person.active:
        return "person inactive"
    if row.role is not None and row.role != person.role:
        return "role changed"
    return "active"


def end_tokens(
    session: Session, person_id: str, reason: str, actor: str, at: dt.datetime
) -> list[int]:
    """Revoke every unrevoked token of ``person_id`` (audited with ``reason``); their ids."""
    rows = session.scalars(
        select(ApiToken).where(ApiToken.person_id == person_id, ApiToken.revoked_at.is_(None))
    ).all()
    for row in rows:
        row.revoked_at = at
        audit(session, actor=actor, action="token.revoked", object_type="api_token",
              object_id=row.id, at=at, details={"person_id": person_id, "reason": reason})  # fmt: skip
    return [row.id for row in rows]

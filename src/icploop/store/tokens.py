"""API tokens in the app store: finding them, their state, recording their use, and ending them
when their person changes.

A token works while it is not revoked, not past ``expires_at``, and its person is active with
the role the token was issued for. Deactivating a person or changing their role ends (revokes)
every token they hold, so reactivating them or giving the old role back does not bring old
tokens back: they ask for new ones.
"""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import OperationalError
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


def tokens(session: Session, person_id: str | None = None) -> list[ApiToken]:
    """Every token of ``person_id`` (of everyone when None), newest first."""
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if person_id is not None:
        query = query.where(ApiToken.person_id == person_id)
    return list(session.scalars(query))


def by_hash(session: Session, digest: str) -> ApiToken | None:
    """The token whose SHA-256 is ``digest``, whatever its state."""
    return session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).one_or_none()


_touching: set[tuple[str, int]] = set()
_touching_lock = threading.Lock()
TOUCH_WAIT_MS = 200


def record_use(session: Session, token_id: int, now: dt.datetime) -> None:
    """Record a token's use, to the minute, in a short transaction of its own.

    A write per request would serialise every API call on the store's write lock, and a write
    in the request's own transaction would hold that lock to the end of the request: under load
    SQLite then answered "database is locked". So one request at a time records the use of one
    token, waits at most ``TOUCH_WAIT_MS`` for the lock, and gives up when the store is busy
    (the time is bookkeeping: the next request a minute on records it)."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    key = (str(engine.url), token_id)
    with _touching_lock:
        if key in _touching:
            return
        _touching.add(key)
    try:
        with engine.connect() as con:
            sqlite = con.dialect.name == "sqlite"
            if sqlite:
                con.exec_driver_sql(f"PRAGMA busy_timeout = {TOUCH_WAIT_MS}")
            try:
                con.execute(
                    update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
                )
                con.commit()
            except OperationalError:
                con.rollback()
            finally:
                if sqlite:  # the pooled connection goes back with the usual wait
                    con.exec_driver_sql("PRAGMA busy_timeout = 5000")
    finally:
        with _touching_lock:
            _touching.discard(key)

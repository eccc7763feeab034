"""Whether a store session has written, so that one that has only read can end its
transaction early and give its connection back to the pool.

A session is marked when it flushes and when it runs a writing statement (``UPDATE ... WHERE``
or text SQL flush nothing); the mark ends with its transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import TextClause, event
from sqlalchemy.orm import ORMExecuteState, Session

_WROTE = "icploop_wrote"


@event.listens_for(Session, "after_flush")
def _mark_written(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _mark_statement(state: ORMExecuteState) -> None:
    statement = state.statement
    if (
        state.is_insert
        or state.is_update
        or state.is_delete
        or (
            isinstance(statement, TextClause)
            and not str(statement).lstrip().upper().startswith("SELECT")
        )
    ):
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
def _clear_written(session: Session) -> None:
    session.info.pop(_WROTE, None)


@event.listens_for(Session, "after_rollback")
def _clear_after_rollback(session: Session) -> None:
    session.info.pop(_WROTE, None)


def end_if_only_read(session: Session) -> bool:
    """End the session's transaction when it has read and not written (its connection goes
    back to the pool; the next query takes one again); whether it did."""
    pending = session.new or session.dirty or session.deleted
    if session.in_transaction() and not pending and not session.info.get(_WROTE):
        session.commit()
        return True
    return False

"""Triage: a sent flag is new until acknowledged, then resolved, each move with who and when."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from icploop.errors import IcploopError
from icploop.flags.records import send_flag
from icploop.flags.routing import RoutingRules
from icploop.flags.triage import flag_history, set_flag_state

from .conftest import NOW
from .test_records import make_flag


def test_a_sent_flag_moves_from_new_to_acknowledged_to_resolved_with_who_and_when(
    session: Session,
) -> None:
    flag = make_flag(session)
    with pytest.raises(IcploopError, match="is a draft"):
        set_flag_state(session, flag.id, "acknowledged", "ae.one", NOW)
    send_flag(session, flag.id, "csm.one", RoutingRules(), NOW)
    assert flag.state == "new" and flag.state_by is None
    later = NOW + dt.timedelta(hours=2)
    set_flag_state(session, flag.id, "acknowledged", "ae.one", later, note="calling them")
    set_flag_state(session, flag.id, "resolved", "revops.lead", later + dt.timedelta(days=1))
    session.commit()
    assert (flag.state, flag.state_by, flag.state_at) == (
        "resolved",
        "revops.lead",
        later + dt.timedelta(days=1),
    )
    moves = [e for e in flag_history(session, flag.id) if e.action == "flag.state"]
    assert [(e.actor, e.details["from"], e.details["to"]) for e in moves] == [
        ("ae.one", "new", "acknowledged"),
        ("revops.lead", "acknowledged", "resolved"),
    ]
    assert moves[0].details["note"] == "calling them"
    with pytest.raises(IcploopError, match="already resolved"):
        set_flag_state(session, flag.id, "resolved", "ae.one", later)
    with pytest.raises(IcploopError, match="unknown flag state 'done'"):
        set_flag_state(session, flag.id, "done", "ae.one", later)

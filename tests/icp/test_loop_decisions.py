"""The loop's decisions on who speaks for a team and who may publish over it: a team's approval
is given by its lead or by a person the lead names (a member's objection is answered, not the
team's word); publishing without every approval needs a real reason, an admin when no team
approved at all, and notifies every team that did not approve."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from icploop.errors import IcploopError
from icploop.flags.people import sync_people
from icploop.icp import signoff, versions
from icploop.icp.document import IcpContent
from icploop.icp.notify import notify_overrides
from icploop.rules import Rule
from icploop.store.database import migrate
from icploop.store.models import AuditEvent

NOW = dt.datetime(2026, 10, 2, 15, 0, tzinfo=dt.UTC)
PEOPLE = [
    {"person_id": "ops", "role": "revops", "email": "ops@example.test"},
    {"person_id": "mkt", "role": "marketing", "email": "mkt@example.test"},
    {"person_id": "csl", "role": "cs_manager", "email": "csl@example.test"},
    {"person_id": "csm", "role": "csm", "manager_id": "csl", "email": "csm@example.test"},
    {"person_id": "csm2", "role": "csm", "manager_id": "csl", "email": "csm2@example.test"},
    {"person_id": "slm", "role": "sales_manager", "email": "slm@example.test"},
    {"person_id": "ae", "role": "ae", "manager_id": "slm", "email": "ae@example.test"},
    {"person_id": "adm", "role": "admin"},
]
FLOOR = IcpContent(criteria=(Rule(attribute="seats_at_close", op=">=", value=75),))
REASON = "board deadline on Friday; CS walked through the numbers on Tuesday"


@pytest.fixture
def session(store_engine: Engine):  # type: ignore[no-untyped-def]
    migrate(store_engine)
    with Session(store_engine) as s:
        sync_people(s, PEOPLE)
        yield s


def test_a_member_cannot_approve_for_the_team_until_the_lead_names_them(session: Session) -> None:
    draft = versions.create_draft(session, FLOOR, "ops", NOW)
    with pytest.raises(IcploopError, match="csm may not approve for cs: a team's approval is"):
        signoff.approve(session, draft.number, "csm", NOW)
    with pytest.raises(IcploopError, match="may not name signers for cs"):
        signoff.name_signer(session, "cs", "csm2", "csm", NOW)
    with pytest.raises(IcploopError, match="not an active member of cs"):
        signoff.name_signer(session, "cs", "ae", "csl", NOW)
    signoff.name_signer(session, "cs", "csm", "csl", NOW)
    assert signoff.approve(session, draft.number, "csm", NOW).standing == "named"
    assert signoff.readiness(draft).latest["cs"] == "approve"
    signoff.unname_signer(session, "cs", "csm", "csl", NOW)
    assert [s.person_id for s in signoff.signers(session, "cs")] == []
    with pytest.raises(IcploopError, match="may not approve"):
        signoff.approve(session, draft.number, "csm", NOW)
    named = session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "team")).all()
    assert named == ["icp.signer_named", "icp.signer_unnamed"]


def test_a_members_objection_is_answered_but_only_the_leads_word_is_the_teams(
    session: Session,
) -> None:
    draft = versions.create_draft(session, FLOOR, "ops", NOW)
    signoff.approve(session, draft.number, "slm", NOW)
    member = signoff.object_to(session, draft.number, "ae", NOW, "seats_at_close >= 75",
                               "my renewals under 75 seats look fine")  # fmt: skip
    state = signoff.readiness(draft)
    assert member.standing == "member" and state.latest["sales"] == "approve"
    assert member.id in state.open_objections  # still an open question RevOps answers
    signoff.object_to(session, draft.number, "slm", NOW, "seats_at_close >= 75", "on reflection")
    assert signoff.readiness(draft).latest["sales"] == "object"  # the lead's latest word


class Outbox:
    """A channel that keeps what it was given."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[tuple[str, Mapping[str, Any]]] = []

    def send(self, recipient: str, payload: Mapping[str, Any]) -> None:
        self.sent.append((recipient, payload))


def test_an_override_needs_a_reason_an_admin_when_nobody_approved_and_notifies_the_teams(
    session: Session,
) -> None:
    draft = versions.create_draft(session, FLOOR, "ops", NOW)
    with pytest.raises(IcploopError, match="only an admin may publish it over every team's head"):
        versions.publish(session, draft.number, "ops", NOW, override=REASON)
    signoff.approve(session, draft.number, "ops", NOW)
    signoff.object_to(session, draft.number, "slm", NOW, "seats_at_close >= 75", "not yet")
    with pytest.raises(IcploopError, match="at least 20 characters"):
        versions.publish(session, draft.number, "ops", NOW, override="deadline")
    versions.publish(session, draft.number, "ops", NOW, override=REASON)
    email = Outbox("email")
    result = notify_overrides(session, email, NOW)
    assert sorted(result.notified) == ["v1:cs", "v1:marketing", "v1:sales"]
    by_person = {who: body for who, body in email.sent}
    assert set(by_person) == {"csl", "slm", "mkt"}  # the leads of the teams that did not approve
    assert by_person["slm"]["subject"] == "ICP v1 published without sales's approval"
    assert "Your team objected" in by_person["slm"]["text"] and REASON in by_person["slm"]["text"]
    assert "had not approved" in by_person["csl"]["text"]
    assert notify_overrides(session, email, NOW).notified == ()  # each team is told once

    nobody = versions.create_draft(session, FLOOR, "ops", NOW)
    record = versions.publish(session, nobody.number, "adm", NOW, override=REASON)
    assert record.status == "published"
    webhook = Outbox("webhook")
    assert len(notify_overrides(session, webhook, NOW).notified) == 4
    assert {who for who, _ in webhook.sent} == {"#icp-signals"}

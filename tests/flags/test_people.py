"""People come from the org table; admin-created people stay; every change is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from icploop.errors import IcploopError
from icploop.flags.people import sync_people
from icploop.store.models import AuditEvent, Person

from .conftest import NOW, ORG


def test_syncing_the_org_table_creates_everyone_with_their_role_and_manager(
    session: Session,
) -> None:
    people = {p.person_id: p for p in session.scalars(select(Person))}
    assert set(people) == {row["person_id"] for row in ORG}
    assert people["csm.one"].manager_id == "cs.lead"
    assert people["revops.lead"].role == "revops"
    assert all(p.source == "org" and p.active for p in people.values())
    created = session.scalars(select(AuditEvent).where(AuditEvent.action == "person.created"))
    assert len(list(created)) == len(ORG)


def test_syncing_the_same_rows_again_changes_nothing(session: Session) -> None:
    report = sync_people(session, ORG, now=NOW)
    assert (report.created, report.updated, report.deactivated) == ([], [], [])
    assert report.unchanged == len(ORG)


def test_a_changed_row_is_updated_and_a_departed_person_is_deactivated_not_deleted(
    session: Session,
) -> None:
    session.add(Person(person_id="admin.made", role="revops", source="admin", created_at=NOW))
    rows = [dict(r) for r in ORG if r["person_id"] != "csm.two"]
    next(r for r in rows if r["person_id"] == "csm.one")["manager_id"] = None
    report = sync_people(session, rows, now=NOW)
    session.commit()
    assert report.updated == ["csm.one"]
    assert report.deactivated == ["csm.two"]
    assert session.get(Person, "csm.two").active is False  # type: ignore[union-attr]
    assert session.get(Person, "admin.made").active is True  # type: ignore[union-attr]
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "person.updated")).one()
    assert (event.actor, event.object_id) == ("org-sync", "csm.one")
    assert event.details == {"manager_id": ["cs.lead", None]}


def test_an_org_row_with_an_unknown_role_is_refused_and_nothing_changes(session: Session) -> None:
    rows = [*ORG, {"person_id": "x.new", "role": "wizard"}]
    with pytest.raises(IcploopError, match="wizard"):
        sync_people(session, rows, now=NOW)
    assert session.get(Person, "x.new") is None

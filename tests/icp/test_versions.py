"""ICP versions in the store: drafts, publication, implementation steps and their owners."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from icploop.errors import IcploopError
from icploop.flags.people import sync_people
from icploop.icp import versions
from icploop.icp.document import IcpContent
from icploop.icp.in_force import rules_in_force
from icploop.rules import Rule
from icploop.store.database import migrate
from icploop.store.models import AuditEvent
from tests.conftest import approve_by_every_team

# Friday 2026-10-02: five business days later is Friday 2026-10-09
PUBLISHED = dt.datetime(2026, 10, 2, 15, 0, tzinfo=dt.UTC)
PEOPLE = [
    {"person_id": "ops", "role": "revops"},
    {"person_id": "mkt", "role": "marketing"},
    {"person_id": "csm", "role": "csm", "manager_id": "csl"},
    {"person_id": "csl", "role": "cs_manager"},
    {"person_id": "ae", "role": "ae", "manager_id": "slm"},
    {"person_id": "slm", "role": "sales_manager"},
]
FLOOR = IcpContent(criteria=(Rule(attribute="seats_at_close", op=">=", value=75),))


@pytest.fixture
def session(store_engine: Engine):  # type: ignore[no-untyped-def]
    migrate(store_engine)
    with Session(store_engine) as s:
        sync_people(s, PEOPLE)
        yield s


def test_publishing_starts_the_implementation_clock(session: Session) -> None:
    draft = versions.create_draft(session, FLOOR, "ops", PUBLISHED)
    approve_by_every_team(session, draft.number)
    record = versions.publish(session, draft.number, "ops", PUBLISHED)
    due = {s.step: s.due_date for s in record.steps}
    assert due == {
        "circulate": dt.date(2026, 10, 9),
        "marketing_timeline": dt.date(2026, 10, 16),
        "cs_acknowledge": dt.date(2026, 10, 16),
    }
    assert record.status == "published" and record.published_by == "ops"


def test_a_new_publication_supersedes_the_one_in_force(session: Session) -> None:
    first = versions.create_draft(session, IcpContent(), "ops", PUBLISHED)
    approve_by_every_team(session, first.number)
    versions.publish(session, first.number, "ops", PUBLISHED)
    second = versions.create_draft(session, FLOOR, "ops", PUBLISHED)
    later = PUBLISHED + dt.timedelta(days=90)
    approve_by_every_team(session, second.number)
    versions.publish(session, second.number, "ops", later)
    statuses = {v.number: v.status for v in versions.list_versions(session)}
    assert statuses == {1: "superseded", 2: "published"}
    assert rules_in_force(session, dt.date(2026, 11, 1)).version == 1
    assert versions.version_diff(session, 1, 2) == {
        "criteria": {"added": ["seats_at_close >= 75"], "removed": []}
    }


def test_only_the_owner_role_records_a_step(session: Session) -> None:
    draft = versions.create_draft(session, FLOOR, "ops", PUBLISHED)
    approve_by_every_team(session, draft.number)
    record = versions.publish(session, draft.number, "ops", PUBLISHED)
    with pytest.raises(IcploopError, match="may not marketing confirms"):
        versions.record_step(session, record.number, "marketing_timeline", "ae", PUBLISHED)
    done = versions.record_step(
        session, record.number, "marketing_timeline", "mkt", PUBLISHED, "scoring live on 1 Nov"
    )
    assert (done.done_by, done.note) == ("mkt", "scoring live on 1 Nov")
    with pytest.raises(IcploopError, match="already recorded"):
        versions.record_step(session, record.number, "marketing_timeline", "mkt", PUBLISHED)
    versions.record_step(session, record.number, "cs_acknowledge", "csm", PUBLISHED)


def test_only_revops_publishes_and_drafts_stay_drafts_until_then(session: Session) -> None:
    draft = versions.create_draft(session, FLOOR, "ops", PUBLISHED)
    with pytest.raises(IcploopError, match="may not publish"):
        versions.publish(session, draft.number, "csm", PUBLISHED)
    with pytest.raises(IcploopError, match="not a known"):
        versions.publish(session, draft.number, "stranger", PUBLISHED)
    assert versions.timeline(session) == []


def test_steps_past_due_are_overdue_until_done(session: Session) -> None:
    draft = versions.create_draft(session, FLOOR, "ops", PUBLISHED)
    approve_by_every_team(session, draft.number)
    record = versions.publish(session, draft.number, "ops", PUBLISHED)
    assert versions.overdue_steps(session, dt.date(2026, 10, 9)) == []
    late = versions.overdue_steps(session, dt.date(2026, 10, 10))
    assert [s.step for s in late] == ["circulate"]
    versions.record_step(session, record.number, "circulate", "ops", PUBLISHED)
    assert [s.step for s in versions.overdue_steps(session, dt.date(2026, 10, 20))] == [
        "marketing_timeline",
        "cs_acknowledge",
    ]


def test_versions_round_trip_through_yaml_and_every_change_is_audited(session: Session) -> None:
    draft = versions.create_draft(session, FLOOR, "ops", PUBLISHED)
    text = versions.export_yaml(session, draft.number)
    copy = versions.import_yaml(session, text, "icp.yaml", "ops", PUBLISHED)
    assert versions.version_diff(session, draft.number, copy.number) == {}
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "icp_version")
    )
    assert list(actions) == ["icp.draft", "icp.draft"]


def test_a_version_passes_objections_answers_and_approvals_before_it_is_published(
    session: Session,
) -> None:
    from icploop.icp import signoff

    draft = versions.create_draft(session, FLOOR, "ops", PUBLISHED)
    assert signoff.readiness(draft).missing == ("revops", "cs", "sales", "marketing")
    signoff.approve(session, draft.number, "ops", PUBLISHED)
    signoff.approve(session, draft.number, "mkt", PUBLISHED)
    objection = signoff.object_to(session, draft.number, "ae", PUBLISHED, "seats_at_close >= 75",
                                  "our SMB deals under 75 seats renew; show the churn by segment")  # fmt: skip
    with pytest.raises(IcploopError, match="says nothing like"):
        signoff.object_to(session, draft.number, "csl", PUBLISHED, "seats >= 75", "typo")
    with pytest.raises(IcploopError, match="needs the approval of cs, sales"):
        versions.publish(session, draft.number, "ops", PUBLISHED)
    with pytest.raises(IcploopError, match="may not answer"):
        signoff.answer(session, objection.id, "ae", PUBLISHED, "no")
    signoff.answer(session, objection.id, "ops", PUBLISHED, "SMB under 75 seats: 31% churn, n=412")
    # the AE speaks for Sales once the sales manager names them; the CS manager speaks for CS
    signoff.name_signer(session, "sales", "ae", "slm", PUBLISHED)
    signoff.approve(session, draft.number, "ae", PUBLISHED, "convinced by the segment numbers")
    signoff.approve(session, draft.number, "csl", PUBLISHED)
    assert signoff.readiness(draft).ready
    record = versions.publish(session, draft.number, "ops", PUBLISHED)
    assert record.status == "published" and record.publish_override is None
    with pytest.raises(IcploopError, match="only drafts are signed off"):
        signoff.approve(session, draft.number, "mkt", PUBLISHED)
    actions = list(session.scalars(select(AuditEvent.action)))
    assert {"icp.approve", "icp.object", "icp.answer", "icp.publish"} <= set(actions)


def test_revops_may_publish_without_every_approval_only_with_a_recorded_reason(
    session: Session,
) -> None:
    from icploop.icp import signoff

    draft = versions.create_draft(session, FLOOR, "ops", PUBLISHED)
    signoff.approve(session, draft.number, "ops", PUBLISHED)
    with pytest.raises(IcploopError, match="--override"):
        versions.publish(session, draft.number, "ops", PUBLISHED, override="  ")
    with pytest.raises(IcploopError, match="a reason of at least 20 characters"):
        versions.publish(session, draft.number, "ops", PUBLISHED, override="x")
    record = versions.publish(session, draft.number, "ops", PUBLISHED,
                              override="board deadline; Sales sign-off due Monday")  # fmt: skip
    assert record.publish_override == "board deadline; Sales sign-off due Monday"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "icp.publish")).one()
    assert event.details["missing"] == ["cs", "sales", "marketing"]
    assert event.details["override"] == record.publish_override

"""The store's repositories, on SQLite and PostgreSQL: what the surfaces read through them."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from icploop.flags.inbox import account_flags, flag_list, may_see_flag
from icploop.store.audit import audit, events, events_about
from icploop.store.database import migrate, utcnow
from icploop.store.models import Flag, Person
from icploop.store.people import by_login, first_active, save_login, team


def _person(person_id: str, role: str, email: str | None = None, **kw: object) -> Person:
    return Person(person_id=person_id, email=email, role=role, created_at=utcnow(), **kw)


def _flag(account: str, csm: str, status: str = "sent", state: str = "new") -> Flag:
    return Flag(account_id=account, fit_issue="icp_mismatch", evidence="Seats 12 < floor 75.",
                csm=csm, ae="ae.a", created_by=csm, created_at=utcnow(), status=status,
                state=state)  # fmt: skip


def test_a_login_is_an_email_in_any_case_else_an_id(store_engine: Engine) -> None:
    migrate(store_engine)
    with Session(store_engine) as session, session.begin():
        session.add_all([_person("p1", "csm", "Ann@Example.com"), _person("bob", "ae")])
    with Session(store_engine) as session:
        found = by_login(session, "ann@EXAMPLE.com")
        assert found is not None and found.person_id == "p1"
        by_id = by_login(session, "bob")
        assert by_id is not None and by_id.person_id == "bob"
        assert by_login(session, "ann@example.com' OR '1'='1") is None


def test_saving_a_login_creates_a_person_once_then_updates_them(store_engine: Engine) -> None:
    migrate(store_engine)
    with Session(store_engine) as session, session.begin():
        session.add(_person("p1", "csm", "Ann@Example.com", active=False, name="Ann"))
    with Session(store_engine) as session, session.begin():
        created, previous = save_login(session, "new@example.com", "ae", utcnow(), name="New")
        assert previous is None and created.person_id == "new@example.com"
        # an existing person, found by their email in any case, keeps their id and name
        updated, previous = save_login(session, "ann@example.com", "revops", utcnow(),
                                       password_hash="h")  # fmt: skip
        assert previous == "csm" and updated.person_id == "p1"
    with Session(store_engine) as session:
        ann = session.get(Person, "p1")
        assert ann is not None
        assert (ann.role, ann.active, ann.name, ann.password_hash) == ("revops", True, "Ann", "h")
        new = session.get(Person, "new@example.com")
        assert new is not None and (new.role, new.name, new.password_hash) == ("ae", "New", None)


def test_a_team_is_the_manager_and_their_reports_and_a_role_has_a_first_active_holder(
    store_engine: Engine,
) -> None:
    migrate(store_engine)
    with Session(store_engine) as session, session.begin():
        session.add_all([
            _person("m", "cs_manager"), _person("c2", "csm", manager_id="m"),
            _person("c1", "csm", manager_id="m", active=False), _person("c3", "csm"),
        ])  # fmt: skip
    with Session(store_engine) as session:
        assert sorted(team(session, "m")) == ["c1", "c2", "m"]
        first = first_active(session, "csm")
        assert first is not None and first.person_id == "c2"
        assert first_active(session, "revops") is None


def test_audit_events_filter_by_actor_and_a_literal_action_prefix(store_engine: Engine) -> None:
    migrate(store_engine)
    with Session(store_engine) as session, session.begin():
        for actor, action, obj in [("a", "flag.sent", 1), ("b", "flag.context", 1),
                                   ("a", "flagXsent", 2), ("a", "user.created", 3)]:  # fmt: skip
            audit(session, actor=actor, action=action, object_type="flag", object_id=obj)
    with Session(store_engine) as session:
        assert [e.action for e in events(session, actor="a")] == [
            "user.created", "flagXsent", "flag.sent",
        ]  # fmt: skip
        assert [e.action for e in events(session, action="flag.")] == ["flag.context", "flag.sent"]
        assert events(session, action="flag_") == []  # "_" is not a wildcard
        assert [e.action for e in events(session, limit=2, offset=1)] == [
            "flagXsent",
            "flag.context",
        ]
        about = events_about(session, "flag.context", "flag", ["1", "2"])
        assert [(e.actor, e.object_id) for e in about] == [("b", "1")]
        assert events_about(session, "flag.context", "flag", []) == []


def test_the_flag_lists_keep_drafts_to_their_authors_and_order_by_triage(
    store_engine: Engine,
) -> None:
    migrate(store_engine)
    with Session(store_engine) as session, session.begin():
        session.add_all([_person("revops", "revops"), _person("c1", "csm")])
        session.add_all([
            _flag("A1", "c1", state="resolved"), _flag("A2", "c1", status="draft"),
            _flag("A1", "c2", state="new"), _flag("A1", "c1", state="acknowledged"),
        ])  # fmt: skip
    with Session(store_engine) as session:
        revops, csm = session.get(Person, "revops"), session.get(Person, "c1")
        assert revops is not None and csm is not None
        assert [f.id for f in flag_list(session)] == [4, 3, 2, 1]
        assert [f.id for f in flag_list(session, revops)] == [4, 3, 1]
        assert [f.id for f in flag_list(session, status="draft")] == [2]
        assert [f.id for f in flag_list(session, state="new")] == [3]  # drafts have no triage
        assert [f.id for f in flag_list(session, csm, by_triage=True)] == [2, 4, 1]
        assert [f.id for f in flag_list(session, revops, limit=1, offset=1)] == [3]
        draft = session.get(Flag, 2)
        assert draft is not None
        assert may_see_flag(session, csm, draft) and not may_see_flag(session, revops, draft)
        assert [f.id for f in account_flags(session, revops, "A1")] == [1, 3, 4]
        assert [f.id for f in account_flags(session, csm, "A1")] == [1, 4]

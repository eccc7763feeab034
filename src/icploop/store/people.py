"""People in the app store: who logs in by an email, who reports to whom, who holds a role."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from icploop.store.models import Person


def by_login(session: Session, login: str) -> Person | None:
    """The person whose email is ``login`` (in any case), else the one whose id it is."""
    query = select(Person).where(func.lower(Person.email) == login.lower())
    return session.scalars(query).first() or session.get(Person, login)


def team(session: Session, manager_id: str) -> list[str]:
    """The people who report to ``manager_id``, and the manager."""
    reports = session.scalars(select(Person.person_id).where(Person.manager_id == manager_id))
    return [manager_id, *reports]


def first_active(session: Session, role: str) -> Person | None:
    """The active person with ``role`` whose id sorts first (None when nobody has it)."""
    query = select(Person).where(Person.role == role, Person.active.is_(True))
    return session.scalars(query.order_by(Person.person_id).limit(1)).first()


def save_login(
    session: Session,
    email: str,
    role: str,
    now: dt.datetime,
    *,
    name: str | None = None,
    password_hash: str | None = None,
) -> tuple[Person, str | None]:
    """Create or update the person who logs in as ``email`` (an existing person keeps their id):
    active, with ``role``, and ``name`` and ``password_hash`` when given. Returns the person and
    the role they had before (None when created now)."""
    person = by_login(session, email)
    previous = person.role if person is not None else None
    if person is None:
        person = Person(person_id=email, email=email, role=role, active=True, source="admin",
                        created_at=now)  # fmt: skip
        session.add(person)
    person.role, person.active = role, True
    if name:
        person.name = name
    if password_hash:
        person.password_hash = password_hash
    session.flush()
    return person, previous

"""People and roles from the warehouse ``org`` table, beside those an admin created."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icploop.errors import IcploopError
from icploop.ingest.schema import ROLES
from icploop.store.audit import audit
from icploop.store.database import utcnow
from icploop.store.models import Person
from icploop.store.tokens import end_tokens

SYNCED_FIELDS = ("name", "email", "role", "manager_id")


@dataclass
class SyncReport:
    """What one sync changed, by person id."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    unchanged: int = 0


def _clean(value: Any) -> str | None:
    # warehouse rows carry NULLs as None or NaN (pandas); both mean "not given"
    if value is None or value != value:
        return None
    text = str(value).strip()
    return text or None


def _parse(org_rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, str | None]]:
    rows: dict[str, dict[str, str | None]] = {}
    problems: list[str] = []
    for number, raw in enumerate(org_rows, start=1):
        person_id = _clean(raw.get("person_id"))
        role = _clean(raw.get("role"))
        if person_id is None:
            problems.append(f"row {number}: no person_id")
            continue
        if role not in ROLES:
            problems.append(f"row {number} ({person_id}): role {role!r} not one of {ROLES}")
            continue
        if person_id in rows:
            problems.append(f"row {number}: person_id {person_id!r} appears twice")
            continue
        rows[person_id] = {name: _clean(raw.get(name)) for name in SYNCED_FIELDS}
    if problems:
        raise IcploopError(
            "the org table cannot be synced: " + "; ".join(problems),
            "fix the org rows (one row per person, a role from the list) and load them again",
        )
    return rows


def sync_people(
    session: Session,
    org_rows: Iterable[Mapping[str, Any]],
    *,
    actor: str = "org-sync",
    now: dt.datetime | None = None,
) -> SyncReport:
    """Upsert people from the ``org`` table rows (person_id, name, email, role, manager_id).

    The org table is the source of truth for the people it lists: they are created, updated and
    reactivated from it, and org-sourced people no longer listed are deactivated (kept, because
    old flags and tags still name them). People an admin created and the org table does not list
    are left as they are. Each change is audit-logged. Nothing is stored if a row is invalid.
    """
    at = now or utcnow()
    rows = _parse(org_rows)
    existing = {p.person_id: p for p in session.scalars(select(Person))}
    report = SyncReport()
    for person_id, values in rows.items():
        person = existing.get(person_id)
        if person is None:
            session.add(
                Person(person_id=person_id, active=True, source="org", created_at=at, **values)
            )
            audit(
                session,
                actor=actor,
                action="person.created",
                object_type="person",
                object_id=person_id,
                at=at,
                details=dict(values),
            )
            report.created.append(person_id)
            continue
        changes = {
            name: [getattr(person, name), value]
            for name, value in values.items()
            if getattr(person, name) != value
        }
        if not person.active:
            changes["active"] = [False, True]
        if person.source != "org":
            # once the org table lists someone, it owns their record
            changes["source"] = [person.source, "org"]
        if not changes:
            report.unchanged += 1
            continue
        for name, (_, value) in changes.items():
            setattr(person, name, value)
        if "role" in changes:
            end_tokens(session, person_id, "role changed", actor, at)
        audit(
            session,
            actor=actor,
            action="person.updated",
            object_type="person",
            object_id=person_id,
            at=at,
            details=changes,
        )
        report.updated.append(person_id)
    for person_id, person in existing.items():
        if person_id not in rows and person.source == "org" and person.active:
            person.active = False
            end_tokens(session, person_id, "deactivated", actor, at)
            audit(
                session,
                actor=actor,
                action="person.deactivated",
                object_type="person",
                object_id=person_id,
                at=at,
                details={"reason": "no longer in the org table"},
            )
            report.deactivated.append(person_id)
    session.flush()
    return report

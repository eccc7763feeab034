"""A migrated store with a small revenue team, and a clock the tests control."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from icploop.flags.people import sync_people
from icploop.store.database import migrate

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)

# placeholder people: role-named ids, example.org addresses
ORG: list[dict[str, Any]] = [
    {
        "person_id": "ae.one",
        "name": "AE One",
        "email": "ae.one@example.org",
        "role": "ae",
        "manager_id": "sales.lead",
    },
    {
        "person_id": "sales.lead",
        "name": "Sales Lead",
        "email": "sales.lead@example.org",
        "role": "sales_manager",
        "manager_id": None,
    },
    {
        "person_id": "csm.one",
        "name": "CSM One",
        "email": "csm.one@example.org",
        "role": "csm",
        "manager_id": "cs.lead",
    },
    {
        "person_id": "csm.two",
        "name": "CSM Two",
        "email": "csm.two@example.org",
        "role": "csm",
        "manager_id": None,
    },
    {
        "person_id": "cs.lead",
        "name": "CS Lead",
        "email": "cs.lead@example.org",
        "role": "cs_manager",
        "manager_id": None,
    },
    {
        "person_id": "revops.lead",
        "name": "RevOps Lead",
        "email": "revops.lead@example.org",
        "role": "revops",
        "manager_id": None,
    },
]


@pytest.fixture
def session(store_engine: Engine) -> Iterator[Session]:
    """A session on a freshly migrated store (SQLite and PostgreSQL) holding the ORG people."""
    migrate(store_engine)
    with Session(store_engine) as session:
        sync_people(session, ORG, now=NOW)
        session.commit()
        yield session

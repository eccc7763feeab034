"""Review fixtures: packs built once per session on the demo company and on a null company."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from icploop.engine import connect
from icploop.review.pack import build_pack, resolve_quarter
from icploop.store.database import make_engine, migrate, utcnow
from icploop.store.models import Person

PEOPLE = {
    "revops.lead@example.test": "revops",
    "csm.one@example.test": "csm",
    "marketing.lead@example.test": "marketing",
}


def open_workspace(warehouse: Path, folder: Path) -> tuple[Any, sessionmaker[Session]]:
    """A copy of ``warehouse`` and a fresh app store with one RevOps lead and one CSM."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "analytics.duckdb"
    shutil.copy(warehouse, copy)
    engine = make_engine(f"sqlite:///{folder}/app.db")
    migrate(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        for person_id, role in PEOPLE.items():
            session.add(Person(person_id=person_id, role=role, created_at=utcnow()))
    return connect(f"duckdb://{copy}"), factory


@pytest.fixture(scope="session")
def demo_pack(
    demo_5000: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The pack of the 5,000-customer demo company's latest full quarter."""
    backend, factory = open_workspace(demo_5000["warehouse"], tmp_path_factory.mktemp("demo-pack"))
    with factory() as session:
        return build_pack(backend, session, resolve_quarter(backend, None))


@pytest.fixture(scope="session")
def null_pack(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The pack of a 5,000-customer null company (same generator, no planted effects)."""
    from icploop.demo.generator import generate_company
    from icploop.ingest.load import load_paths

    folder = tmp_path_factory.mktemp("null-5000")
    generate_company(folder / "data", accounts=5000, seed=7, null=True)
    backend = connect(f"duckdb://{folder / 'analytics.duckdb'}")
    load_paths(backend, [folder / "data"])
    backend.disconnect()
    backend, factory = open_workspace(folder / "analytics.duckdb", folder / "ws")
    with factory() as session:
        return build_pack(backend, session, resolve_quarter(backend, None))


@pytest.fixture
def small_workspace(demo_warehouse: Path, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """The 1,500-account demo company in a fresh workspace of its own."""
    backend, factory = open_workspace(demo_warehouse, tmp_path / "ws")
    yield backend, factory
    backend.disconnect()

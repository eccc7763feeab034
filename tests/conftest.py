"""Shared fixtures: the app-store backends every store test runs on."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from icploop.store.database import make_engine

POSTGRES_URL_VAR = "ICPLOOP_TEST_POSTGRES_URL"


def postgres_url_or_skip() -> str:
    """The test PostgreSQL server's URL, or skip saying how to provide one."""
    url = os.environ.get(POSTGRES_URL_VAR)
    if not url:
        pytest.skip(
            f"PostgreSQL tests need {POSTGRES_URL_VAR} (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    return url


@contextlib.contextmanager
def postgres_copies(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Each named table (pandas or Arrow) created on the test PostgreSQL server under a fresh
    prefix, as Ibis tables of that server; dropped afterwards. Skips without the server's URL."""
    import ibis

    url = postgres_url_or_skip()
    pg = ibis.connect("postgres://" + url.split("://", 1)[1])
    prefix = f"icploop_test_{uuid.uuid4().hex[:10]}_"
    try:
        yield {name: pg.create_table(f"{prefix}{name}", table) for name, table in data.items()}
    finally:
        for name in data:
            pg.drop_table(f"{prefix}{name}", force=True)
        pg.disconnect()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """An empty app-store database: a SQLite file, or a fresh schema on the PostgreSQL server."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('store')}/app.db")
        yield engine
        engine.dispose()
        return
    url = postgres_url_or_skip()
    schema = f"icploop_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as con:
        con.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as con:
            con.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


DEMO_TEST_ACCOUNTS = 1500


@pytest.fixture(scope="session")
def demo_company(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A small demo company, generated once per test session: its folder and truth."""
    from icploop.demo.generator import generate_company

    folder = tmp_path_factory.mktemp("demo-company")
    truth = generate_company(folder, accounts=DEMO_TEST_ACCOUNTS, seed=11)
    return {"folder": folder, "truth": truth}


@pytest.fixture(scope="session")
def demo_warehouse(demo_company: dict[str, object], tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The small demo company loaded into a DuckDB file; tests copy it before changing it."""
    from pathlib import Path

    from icploop.engine import connect
    from icploop.ingest.load import load_paths

    path = tmp_path_factory.mktemp("demo-warehouse") / "analytics.duckdb"
    backend = connect(f"duckdb://{path}")
    load_paths(backend, [Path(str(demo_company["folder"]))])
    backend.disconnect()
    return path


@pytest.fixture(scope="session")
def demo_5000(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The default demo company (5,000 customers, seed 7) loaded once per session, with its
    truth: big enough that every planted effect is reliably significant."""
    from pathlib import Path

    from icploop.demo.generator import generate_company
    from icploop.engine import connect
    from icploop.ingest.load import load_paths

    folder = tmp_path_factory.mktemp("demo-5000")
    truth = generate_company(folder / "data", accounts=5000, seed=7)
    path = Path(folder) / "analytics.duckdb"
    backend = connect(f"duckdb://{path}")
    load_paths(backend, [folder / "data"])
    backend.disconnect()
    return {"warehouse": path, "truth": truth}


CHROMIUM_VAR = "ICPLOOP_CHROMIUM"
# flags that keep Chromium from reaching out on its own (updates, sync, field trials)
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Debian's Chromium driven by Playwright (never a downloaded browser).

    The executable comes from ``ICPLOOP_CHROMIUM`` or ``chromium`` on the PATH. Without one the
    browser tests skip saying so, except under CI, where ``.ci/run`` installs it and a missing
    browser is a failure."""
    import shutil

    executable = os.environ.get(CHROMIUM_VAR) or shutil.which("chromium")
    if not executable:
        message = f"browser tests need Debian's chromium on the PATH or in {CHROMIUM_VAR}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def approve_by_every_team(session, number: int, now=None) -> None:  # type: ignore[no-untyped-def]
    """Record the approval of every sign-off team for draft ``number`` (a signer per team is
    added to the store when it has none), for tests whose subject comes after sign-off."""
    from icploop.icp.signoff import TEAMS, approve
    from icploop.store.database import utcnow
    from icploop.store.models import Person

    for team, roles in TEAMS.items():
        person_id = f"signer.{team}@example.test"
        if session.get(Person, person_id) is None:
            session.add(Person(person_id=person_id, role=roles[0], created_at=utcnow()))
            session.flush()
        approve(session, number, person_id, now or utcnow())


@pytest.fixture(scope="session")
def demo_variant(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The small demo company with its two variants on (customers on Dynamics CRM who never
    start; an onboarding_plan column recorded only for the last 180 days of closes), loaded."""
    from pathlib import Path

    from icploop.demo.generator import generate_company
    from icploop.engine import connect
    from icploop.ingest.load import load_paths

    folder = tmp_path_factory.mktemp("demo-variant")
    truth = generate_company(
        folder / "data",
        accounts=DEMO_TEST_ACCOUNTS,
        seed=11,
        never_activated=True,
        recent_attribute=True,
    )
    path = Path(folder) / "analytics.duckdb"
    backend = connect(f"duckdb://{path}")
    load_paths(backend, [folder / "data"])
    backend.disconnect()
    return {"warehouse": path, "truth": truth, "folder": folder / "data"}

"""A web app over a copy of the small demo company: people from its org table with passwords,
an API token per role, and the 90-day tags of a tagging run."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from icploop.config import Settings
from icploop.engine import connect
from icploop.fit.config import FitConfig
from icploop.flags.routing import RoutingRules
from icploop.flags.run import run_tagging
from icploop.ingest.schema import ROLES
from icploop.store.database import make_engine, migrate
from icploop.store.models import FitTag, Person
from icploop.web.app import create_app
from icploop.web.auth import create_token, hash_password

AS_OF = dt.date(2026, 10, 31)
PASSWORD = "a-long-test-passphrase"


@dataclass
class WebWorld:
    """The app, its store, one person and one API token per role, and a CSM's tagged account."""

    app: FastAPI
    store: sessionmaker[Session]
    workspace: Path
    people: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    csm_account: str = ""

    def client(self) -> TestClient:
        return TestClient(self.app, raise_server_exceptions=False)

    def login(self, role: str) -> tuple[TestClient, str]:
        """A client logged in as the person of ``role``, and its CSRF token."""
        client = self.client()
        csrf = csrf_of(client.get("/login").text)
        response = client.post(
            "/login",
            data={"email": self.people[role], "password": PASSWORD, "csrf_token": csrf},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return client, csrf_of(client.get("/").text)

    def bearer(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@pytest.fixture(scope="module")
def web(
    demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: None
) -> Iterator[WebWorld]:
    """The demo workspace served by the app (tags from a run as of 2026-10-31)."""
    workspace = tmp_path_factory.mktemp("web-workspace")
    shutil.copy(demo_warehouse, workspace / "analytics.duckdb")
    engine = make_engine(f"sqlite:///{workspace}/app.db")
    migrate(engine)
    store = sessionmaker(engine, expire_on_commit=False)
    backend = connect(f"duckdb://{workspace / 'analytics.duckdb'}")
    run_tagging(backend, store, AS_OF, FitConfig(), RoutingRules(), send=False)
    owners = backend.table("accounts").select("account_id", "csm").to_pandas()
    backend.disconnect()
    world = WebWorld(app=FastAPI(), store=store, workspace=workspace)
    with store() as session, session.begin():
        people = list(session.scalars(select(Person).order_by(Person.person_id)))
        tagged = set(session.scalars(select(FitTag.account_id).where(FitTag.current.is_(True))))
        csms = owners[owners.account_id.isin(tagged)]
        first = csms.sort_values("account_id").iloc[0]
        world.csm_account, csm = str(first.account_id), str(first.csm)
        hashed = hash_password(PASSWORD)
        for role in ROLES:
            chosen = csm if role == "csm" else next(p.person_id for p in people if p.role == role)
            person = session.get(Person, chosen)
            assert person is not None and person.role == role
            person.password_hash = hashed
            world.people[role] = person.email or person.person_id
            world.tokens[role] = create_token(session, person.person_id, "tests", "tests")
    world.app = create_app(Settings(workspace=workspace))
    yield world
    engine.dispose()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[None]:
    """Keep a secret key in the environment from leaking into the tests' workspaces."""
    mp = pytest.MonkeyPatch()
    mp.delenv("ICPLOOP_SECRET_KEY", raising=False)
    mp.delenv("ICPLOOP_COOKIE_SECURE", raising=False)
    yield
    mp.undo()


def run_async(coroutine: Any) -> Any:
    """Run a coroutine on an event loop of its own thread (a test before may have left a loop
    marked running in this one, where asyncio.run refuses)."""
    import threading

    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # handed to the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]

"""One workspace seen through every surface: the CLI's ``--json``, the REST API and the pack.

Two workspaces: the small demo company as generated, and the same company exported mid-month
(every record after 2026-10-12 left out), whose last month of data is partial.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from icploop.cli.main import app as cli_app
from icploop.config import Settings
from icploop.engine import connect
from icploop.fit.config import workspace_fit_config
from icploop.generations import open_analytics
from icploop.review.pack import build_pack, resolve_quarter
from icploop.store.database import make_engine, migrate, utcnow
from icploop.store.models import Person
from icploop.web.app import create_app
from icploop.web.auth import create_token, hash_password

ADMIN = "admin@example.test"
PASSWORD = "a-long-test-passphrase"
#: the day the mid-month export was taken
CUT = "2026-10-12"


@dataclass
class Surfaces:
    """A workspace with an app store, an API token and the three ways of asking it."""

    workspace: Path
    store: sessionmaker[Session]
    client: TestClient
    token: str

    def cli(self, *args: str) -> Any:
        """``icploop ARGS --workspace W --json``, parsed (stderr apart)."""
        result = CliRunner().invoke(cli_app, [*args, "--workspace", str(self.workspace), "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def cli_stderr(self, *args: str) -> str:
        result = CliRunner().invoke(cli_app, [*args, "--workspace", str(self.workspace), "--json"])
        assert result.exit_code == 0, result.output
        return result.stderr

    def api(self, path: str, body: Any = None) -> Any:
        """GET (or POST ``body``) ``/api/v1/PATH`` as an admin, parsed."""
        headers = {"Authorization": f"Bearer {self.token}"}
        url = f"/api/v1/{path}"
        response = (
            self.client.get(url, headers=headers)
            if body is None
            else self.client.post(url, headers=headers, json=body)
        )
        assert response.status_code == 200, response.text
        return response.json()

    def logged_in(self) -> TestClient:
        """The web client, logged in as the admin (a password is set for it)."""
        with self.store() as session, session.begin():
            person = session.get(Person, ADMIN)
            assert person is not None
            person.password_hash = hash_password(PASSWORD)
        page = self.client.get("/login").text
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert found, "the login page has no CSRF token"
        login = self.client.post(
            "/login",
            data={"email": ADMIN, "password": PASSWORD, "csrf_token": found.group(1)},
            follow_redirects=False,
        )
        assert login.status_code == 303, login.text
        return self.client

    def pack(self, quarter: str | None = None) -> dict[str, Any]:
        """The review pack of ``quarter`` (default: the latest full one), not stored, built with
        the workspace's fit configuration as ``icploop review build`` builds it."""
        backend = open_analytics(Settings(workspace=self.workspace))  # read-only, as the app
        try:
            with self.store() as session:
                return build_pack(
                    backend,
                    session,
                    resolve_quarter(backend, quarter),
                    fit_config=workspace_fit_config(self.workspace),
                )
        finally:
            backend.disconnect()


def _serve(warehouse: Path, workspace: Path) -> Iterator[Surfaces]:
    workspace.mkdir(parents=True, exist_ok=True)
    shutil.copy(warehouse, workspace / "analytics.duckdb")
    engine = make_engine(f"sqlite:///{workspace}/app.db")
    migrate(engine)
    store = sessionmaker(engine, expire_on_commit=False)
    with store() as session, session.begin():
        session.add(Person(person_id=ADMIN, email=ADMIN, role="admin", created_at=utcnow()))
        session.flush()
        token = create_token(session, ADMIN, "tests", ADMIN)
    mp = pytest.MonkeyPatch()
    mp.delenv("ICPLOOP_SECRET_KEY", raising=False)
    mp.delenv("ICPLOOP_ANALYTICS_URL", raising=False)
    mp.delenv("ICPLOOP_STORE_URL", raising=False)
    client = TestClient(create_app(Settings(workspace=workspace)), raise_server_exceptions=False)
    try:
        yield Surfaces(workspace, store, client, token)
    finally:
        client.close()
        engine.dispose()
        mp.undo()


#: per source file: the columns whose dates place a row in time (rows after the cut are left
#: out) and those that are blanked when they fall after it (not known on the day of the export)
CUT_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "subscriptions.csv": (("period_start",), ("cancel_requested_date",)),
    "usage.csv": (("date",), ()),
    "tickets.csv": (("created_date",), ("resolved_date",)),
    "notes.csv": (("date",), ()),
    "contacts.csv": (("valid_from",), ("valid_to",)),
    "deals.csv": (("created_date",), ()),
    "costs.csv": (("month",), ()),
}


def export_cut(source: Path, target: Path, cut: str) -> None:
    """The company's files as an export taken on ``cut`` would hold them: later records left out,
    later end dates blank, deals decided after the cut still open."""
    target.mkdir(parents=True, exist_ok=True)
    for path in source.glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        placed, blanked = CUT_RULES.get(path.name, ((), ()))
        for column in placed:
            frame = frame[frame[column] <= cut]
        for column in blanked:
            frame.loc[frame[column] > cut, column] = ""
        if path.name == "deals.csv":
            later = frame["close_date"] > cut
            frame.loc[later, "outcome"] = "open"
            frame.loc[later, "lost_reason"] = ""
        frame.to_csv(target / path.name, index=False)


@pytest.fixture(scope="module")
def whole(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Surfaces]:
    """The small demo company, data through 2026-10-31."""
    yield from _serve(demo_warehouse, tmp_path_factory.mktemp("surfaces-whole"))


@pytest.fixture(scope="session")
def mid_month_warehouse(
    demo_company: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The small demo company exported on 2026-10-12, loaded."""
    from icploop.ingest.load import load_paths

    folder = tmp_path_factory.mktemp("mid-month")
    export_cut(Path(str(demo_company["folder"])), folder / "data", CUT)
    path = folder / "analytics.duckdb"
    backend = connect(f"duckdb://{path}")
    load_paths(backend, [folder / "data"])
    backend.disconnect()
    return path


@pytest.fixture(scope="module")
def mid_month(
    mid_month_warehouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Surfaces]:
    """The mid-month export served through every surface."""
    yield from _serve(mid_month_warehouse, tmp_path_factory.mktemp("surfaces-mid-month"))

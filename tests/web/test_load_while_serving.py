"""One workspace, many readers, one writer: the web app keeps answering while a load runs in
another process, each answer from one generation (the state before the load or after it, never
a mix), and drops its cached analyses once the load is in; the command line reads while the app
serves; a second writer waits or refuses in one line."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from icploop.config import Settings
from icploop.generations import current, duckdb_file, open_reader, writing
from icploop.ingest.load import load_paths
from icploop.metrics.headline import headline
from icploop.metrics.tables import CanonicalTables
from icploop.store.database import open_store, utcnow
from icploop.store.models import Person
from icploop.web.app import create_app
from icploop.web.auth import create_token
from icploop.writer_lock import writer_lock
from tests.months import cut_company

SEPTEMBER = dt.date(2026, 9, 30)
CORRECTION = 1000.0  # added to one September subscription's MRR, corrected by the October export


@dataclass
class Served:
    workspace: Path
    october: Path
    token: str

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ICPLOOP_")}
        env["ICPLOOP_WORKSPACE"] = str(self.workspace)
        return env


def icploop(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """``icploop ARGS`` in a process of its own."""
    code = "import sys; from icploop.cli.main import app; app(sys.argv[1:], prog_name='icploop')"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def served(demo_company: dict[str, object], tmp_path: Path) -> Served:
    """A workspace holding the demo company as exported at the end of September (one
    subscription's MRR since corrected), a RevOps person with an API token, and the October
    export to load next."""
    october = Path(str(demo_company["folder"]))
    september = cut_company(october, tmp_path / "september", SEPTEMBER)
    subscriptions = pd.read_csv(september / "subscriptions.csv", dtype=str, keep_default_na=False)
    ongoing = subscriptions.index[subscriptions["period_end"] == ""][0]
    subscriptions.loc[ongoing, "mrr"] = str(float(subscriptions.loc[ongoing, "mrr"]) + CORRECTION)
    subscriptions.to_csv(september / "subscriptions.csv", index=False)
    workspace = tmp_path / "ws"
    settings = Settings(workspace=workspace)
    with writing(settings, "test") as backend:
        load_paths(backend, [september])
    store = open_store(settings)
    with store() as session, session.begin():
        session.add(Person(person_id="revops@example.test", role="revops", created_at=utcnow()))
        session.flush()
        token = create_token(session, "revops@example.test", "tests", "tests")
    return Served(workspace, october, token)


def headline_at(link: Path, as_of: dt.date) -> dict[str, Any]:
    backend, _ = open_reader(link)
    try:
        result = headline(CanonicalTables.from_backend(backend), as_of).to_dict()
    finally:
        backend.disconnect()
    return result


@pytest.mark.slow
def test_a_load_while_the_app_answers_a_stream_of_requests(served: Served) -> None:
    app = create_app(Settings(workspace=served.workspace))
    headers = {"Authorization": f"Bearer {served.token}"}
    answers: list[tuple[int, Any, bool]] = []
    loading = threading.Event()
    done = threading.Event()

    def stream() -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            while not done.is_set():
                reply = client.get("/api/v1/metrics/headline", headers=headers)
                answers.append((reply.status_code, reply.json(), loading.is_set()))

    with TestClient(app) as client:
        before = client.get("/api/v1/metrics/headline", headers=headers).json()
    reader = threading.Thread(target=stream)
    reader.start()
    loading.set()
    load = icploop("load", str(served.october), env=served.env())
    _, err = load.communicate(timeout=600)
    assert load.returncode == 0, err
    with TestClient(app) as client:
        after = client.get("/api/v1/metrics/headline", headers=headers).json()
    done.set()
    reader.join(60)

    link = duckdb_file(Settings(workspace=served.workspace))
    assert link is not None
    # what a mix would answer: the date of the state before, the figures of the state after
    mixed = {k: v for k, v in headline_at(link, SEPTEMBER).items() if k in before}
    assert before["as_of"] == "2026-09-01" and after["as_of"] == "2026-10-01"
    assert mixed["mrr"] != pytest.approx(before["mrr"])  # so a mix could be told apart
    assert after == {
        k: v for k, v in headline_at(link, dt.date(2026, 10, 31)).items() if k in after
    }
    during = [answer for status, answer, started in answers if started]
    assert len(during) >= 5, "the stream should keep answering while the load runs"
    assert {status for status, _, _ in answers} == {200}
    for answer in during:
        assert answer in (before, after)
    # the last answers are the new state: the app's cached analyses were dropped
    assert answers[-1][1] == after


def test_each_request_reads_one_generation_even_when_a_load_lands_midway(
    served: Served,
) -> None:
    """Deterministic: a load swaps in a new generation between two reads of one request."""
    settings = Settings(workspace=served.workspace)
    link = duckdb_file(settings)
    assert link is not None
    september_before = headline_at(link, SEPTEMBER)["mrr"]
    state = create_app(settings).state.web
    with state.pinned():
        as_of = state.as_of()
        with writing(settings, "test") as backend:
            load_paths(backend, [served.october])
        mrr = state.analytics(lambda b: headline(CanonicalTables.from_backend(b), as_of).mrr)
    assert as_of == SEPTEMBER
    assert mrr == pytest.approx(september_before)
    assert headline_at(link, SEPTEMBER)["mrr"] != pytest.approx(september_before)
    assert state.as_of() == dt.date(2026, 10, 31)  # the next request reads the new generation


def test_the_command_line_reads_while_the_app_serves(served: Served) -> None:
    app = create_app(Settings(workspace=served.workspace))
    with TestClient(app) as client:
        reply = client.get("/api/v1/data-end", headers={"Authorization": f"Bearer {served.token}"})
        assert reply.status_code == 200  # the app now holds the warehouse open
        status = icploop("status", "--json", env=served.env())
        out, err = status.communicate(timeout=300)
    assert status.returncode == 0, err
    assert '"as_of": "2026-09-30"' in out


def test_a_second_load_refuses_in_one_line_while_one_writes(served: Served) -> None:
    link = duckdb_file(Settings(workspace=served.workspace))
    assert link is not None
    before = current(link)
    with writer_lock(served.workspace, "icploop load"):
        second = icploop("load", str(served.october), "--wait", "0", env=served.env())
        _, err = second.communicate(timeout=300)
    assert second.returncode == 1
    lines = err.strip().splitlines()
    assert lines[0].startswith(
        f"error: the workspace {served.workspace} is being written by icploop load (process "
    )
    assert len(lines) == 2 and lines[1].startswith("hint: try again when it has finished")
    assert current(link) == before


@pytest.mark.slow
def test_two_loads_at_once_both_land_one_after_the_other(served: Served) -> None:
    link = duckdb_file(Settings(workspace=served.workspace))
    assert link is not None
    first = icploop("load", str(served.october), env=served.env())
    second = icploop("load", str(served.october), env=served.env())
    for load in (first, second):
        _, err = load.communicate(timeout=600)
        assert load.returncode == 0, err
    backend, generation = open_reader(link)
    loads = backend.raw_sql("SELECT count(DISTINCT load_id) FROM _icploop_loads").fetchall()
    backend.disconnect()
    assert loads[0][0] == 3 and generation is not None and generation.name.endswith(".g3.duckdb")

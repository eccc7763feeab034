"""Back-pressure: no store connection is held while a request waits for the warehouse; a
saturated warehouse, a full job queue or too many requests at once are answered 503 with
Retry-After instead of timing out; a busy store never turns a token's bookkeeping into a 500.
Nothing here measures time: waits are made certain by holding the resource the request needs."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select, text

from icploop.store.models import ApiToken
from icploop.web.auth import token_hash
from icploop.web.pressure import Gate, _sessions, register_session
from icploop.web.state import WebState

from .conftest import WebWorld, run_async


def _state(web: WebWorld) -> WebState:
    state: WebState = web.app.state.web
    return state


@contextmanager
def warehouse_held(state: WebState) -> Iterator[None]:
    """Another request holding the warehouse for as long as the block runs."""
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        state.analytics(lambda _backend: (taken.set(), done.wait()))

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait()
    try:
        yield
    finally:
        done.set()
        holder.join()


def test_a_request_gives_its_store_connection_back_before_using_the_warehouse(
    web: WebWorld,
) -> None:
    state = _state(web)
    pool = state.store.kw["bind"].pool
    token = _sessions.set([])
    try:
        with state.store() as session:
            register_session(session)
            session.scalars(select(ApiToken.id)).all()  # a read: the session holds a connection
            assert pool.checkedout() == 1
            assert state.analytics(lambda _backend: pool.checkedout()) == 0
            session.scalars(select(ApiToken.id)).all()  # and takes one again when it needs it
            assert pool.checkedout() == 1
            session.execute(text("UPDATE api_tokens SET name = name WHERE id = -1"))
            session.flush()
            # a session that has written keeps its transaction: its changes commit with it
            assert state.analytics(lambda _backend: pool.checkedout()) == 1
            session.rollback()
    finally:
        _sessions.reset(token)


def test_a_saturated_warehouse_is_a_503_with_retry_after_not_a_timeout(web: WebWorld) -> None:
    state = _state(web)
    state._wait = 0.05  # a short wait, so that the test does not sit through the default
    client = web.client()
    page_client, _ = web.login("revops")
    try:
        with warehouse_held(state):
            api = client.get("/api/v1/accounts?page=1", headers=web.bearer("revops"))
            page = page_client.get("/accounts")
            # a cached analysis is served without waiting for the warehouse
            state.latest().cache[("probe",)] = "cached"
            assert state.cached(("probe",), lambda _b: "computed") == "cached"
    finally:
        state._wait = web_wait(state)
    assert api.status_code == 503 and api.headers["retry-after"] == "2"
    assert api.json()["error"]["message"] == "the warehouse stayed busy for 0.05 seconds"
    assert page.status_code == 503 and page.headers["retry-after"] == "2"
    assert client.get("/api/v1/accounts?page=1", headers=web.bearer("revops")).status_code == 200


def web_wait(state: WebState) -> float:
    return state.settings.web_wait_seconds


def test_a_full_job_queue_answers_scoring_with_503(web: WebWorld) -> None:
    state = _state(web)
    release = threading.Event()
    jobs = [
        state.jobs.submit("test", "tests", lambda _p: release.wait())
        for _ in range(state.jobs.max_queued)
    ]
    try:
        response = web.client().post(
            "/api/v1/score", json={"records": [{"account_id": web.csm_account}]},
            headers=web.bearer("revops"),
        )  # fmt: skip
    finally:
        release.set()
        for job in jobs:
            assert job.future is not None
            job.future.result()
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert "heavy requests are queued already" in response.json()["error"]["message"]


def test_the_gate_answers_503_beyond_its_capacity_and_lets_the_next_one_in() -> None:
    release = asyncio.Event()
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    gate = Gate(app, max_active=1, wait=0.01)

    async def call(path: str) -> tuple[int, dict[bytes, bytes]]:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        await gate({"type": "http", "path": path}, receive, send)
        return sent[0]["status"], dict(sent[0]["headers"])

    async def scenario() -> list[Any]:
        first = asyncio.create_task(call("/api/v1/accounts"))
        await asyncio.sleep(0)  # the first request takes the only slot
        refused = await call("/api/v1/flags")
        static = asyncio.create_task(call("/static/style.css"))  # never gated
        await asyncio.sleep(0)
        release.set()
        return [await first, refused, await static, await call("/api/v1/me")]

    first, refused, static, after = run_async(scenario())
    assert first[0] == 200 and static[0] == 200 and after[0] == 200
    assert refused[0] == 503 and refused[1][b"retry-after"] == b"1"
    assert seen == ["/api/v1/accounts", "/static/style.css", "/api/v1/me"]
    assert gate.refused == 1


def test_a_locked_store_does_not_turn_a_tokens_bookkeeping_into_an_error(web: WebWorld) -> None:
    digest = token_hash(web.tokens["marketing"])
    with web.store() as session, session.begin():
        row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).one()
        row.last_used_at = None
    blocker = sqlite3.connect(web.workspace / "app.db", timeout=0)
    blocker.execute("BEGIN IMMEDIATE")  # someone else writing: the store's write lock is taken
    try:
        response = web.client().get("/api/v1/me", headers=web.bearer("marketing"))
    finally:
        blocker.rollback()
        blocker.close()
    assert response.status_code == 200
    with web.store() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).one()
    assert row.last_used_at is None  # skipped this time; the next request records it
    assert web.client().get("/api/v1/me", headers=web.bearer("marketing")).status_code == 200
    with web.store() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).one()
    assert row.last_used_at is not None

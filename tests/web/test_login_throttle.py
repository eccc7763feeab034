"""Login throttling: exponential back-off, then a temporary lock with a clear message, per
account and per address; refused attempts cost no password check and no audit row; the
password checks run in a bounded pool of their own. The clock is the test's, never waited on."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import func, select

from icploop.store.audit import MAX_ITEMS, MAX_TEXT, audit
from icploop.store.models import AuditEvent
from icploop.web.throttle import Busy, LoginThrottle, PasswordPool, Rule

from .conftest import PASSWORD, WebWorld, csrf_of, run_async


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fail(throttle: LoginThrottle, account: str, address: str = "10.0.0.1") -> list[str]:
    assert throttle.refusal(account, address) is None
    assert throttle.begin(account)
    return throttle.end(account, address, ok=False)


def test_failures_back_off_exponentially_then_lock_and_a_success_clears_them() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(4):  # the first four failures cost nothing
        _fail(throttle, "a@x")
    waits = []
    for _ in range(5):
        _fail(throttle, "a@x")
        refusal = throttle.refusal("a@x", "10.0.0.1")
        assert refusal is not None and "wait" in refusal.message
        waits.append(refusal.seconds)
        clock.now += refusal.seconds
    assert waits == [2, 4, 8, 16, 32]
    assert _fail(throttle, "a@x") == ["account"]  # the tenth failure locks
    locked = throttle.refusal("a@x", "10.0.0.2")  # from any address
    assert locked is not None and locked.seconds == 900
    assert locked.message.startswith("Too many failed logins for this account: it is locked for 15")
    assert throttle.refusal("b@x", "10.0.0.1") is None  # other accounts are not locked
    clock.now += 900
    assert throttle.refusal("a@x", "10.0.0.1") is None  # the lock ends and the count is forgotten
    _fail(throttle, "a@x")
    assert throttle.begin("a@x")
    throttle.end("a@x", "10.0.0.1", ok=True)
    for _ in range(4):
        _fail(throttle, "a@x")  # a success cleared the count: four free failures again


def test_many_accounts_from_one_address_lock_the_address() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock, address=Rule(free=3, lock_at=5))
    for i in range(3):
        _fail(throttle, f"user{i}@x")
    _fail(throttle, "user3@x")
    assert throttle.refusal("user4@x", "10.0.0.1") is not None
    clock.now += 2
    assert _fail(throttle, "user4@x") == ["address"]
    refusal = throttle.refusal("someone@x", "10.0.0.1")
    assert refusal is not None and "your network address: it is locked" in refusal.message
    assert throttle.refusal("someone@x", "10.0.0.9") is None


def test_one_check_per_account_at_a_time_and_the_memory_is_bounded() -> None:
    throttle = LoginThrottle(clock=Clock(), max_keys=10)
    assert throttle.begin("a@x") and not throttle.begin("a@x")
    assert throttle.refusal("a@x", "10.0.0.1") is not None
    throttle.end("a@x", "10.0.0.1", ok=False)
    for i in range(50):
        _fail(throttle, f"u{i}@x", f"10.0.1.{i}")
    assert len(throttle._counts) == 10


def test_the_password_pool_answers_busy_instead_of_queuing_without_bound() -> None:
    pool = PasswordPool(workers=1, queue=1)
    release = threading.Event()

    async def scenario() -> list[object]:
        first = asyncio.create_task(pool.run(release.wait))
        second = asyncio.create_task(pool.run(release.wait))
        await asyncio.sleep(0)
        with pytest.raises(Busy):
            await pool.run(release.wait)
        release.set()
        return [await first, await second]

    assert run_async(scenario()) == [True, True]
    pool.shutdown()


def test_audit_rows_are_bounded_whatever_they_are_given(web: WebWorld) -> None:
    with web.store() as session, session.begin():
        event = audit(session, actor="x" * 10_000, action="test.bounded", object_type="t",
                      object_id="y" * 10_000,
                      details={"text": "z" * 100_000, "items": list(range(10_000)),
                               "nested": {"deep": [["w" * 50_000]]}})  # fmt: skip
    assert len(event.actor) == 200 and len(event.object_id) == 200
    assert len(event.details["text"]) == MAX_TEXT and event.details["text"].endswith(
        f"({100_000 - MAX_TEXT} more characters)"
    )
    assert len(event.details["items"]) == MAX_ITEMS + 1
    assert len(event.details["nested"]["deep"][0][0]) == MAX_TEXT


def _login(web: WebWorld, email: str, password: str):  # type: ignore[no-untyped-def]
    client = web.client()
    csrf = csrf_of(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf},
                       follow_redirects=False)  # fmt: skip


def test_a_guessed_account_is_locked_with_a_clear_message_and_few_audit_rows(
    web: WebWorld,
) -> None:
    clock = Clock()
    web.app.state.web.throttle.clock = clock
    email = web.people["cs_manager"]

    def failed_rows() -> int:
        with web.store() as session:
            return session.scalar(
                select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.action.in_(["login.failed", "login.locked"]),
                    AuditEvent.actor == email,
                )
            )  # fmt: skip

    answers = []
    for _ in range(100):  # a guesser trying once a second
        response = _login(web, email, "wrong-password-guess")
        answers.append(response.status_code)
        clock.now += 1
    assert answers[:4] == [401] * 4 and 429 in answers
    refused = [a for a in answers if a == 429]
    assert len(refused) == 90  # only ten guesses reached a password check
    right = _login(web, email, PASSWORD)
    assert right.status_code == 429 and int(right.headers["retry-after"]) > 60
    assert "locked for" in right.text and "tell an admin" in right.text
    assert failed_rows() == 11  # ten failures and the lock, not one row per attempt
    clock.now += 15 * 60
    assert _login(web, email, PASSWORD).status_code == 303
    # an unknown address is throttled exactly like a known one
    answers = [_login(web, "nobody@example.test", "guess").status_code for _ in range(6)]
    assert answers == [401, 401, 401, 401, 401, 429]

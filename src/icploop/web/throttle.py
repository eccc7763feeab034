"""Login throttling, and password checks kept off the event loop and bounded.

Failed logins are counted per account (the email as typed, lower-cased, known or not, so an
unknown address is throttled like a known one) and per client address:

- an account's first ``free`` failures cost nothing; after that each attempt must wait
  ``2 ** (failures - free)`` seconds after the last failure (2, 4, 8, ... capped at
  ``max_delay``), and at ``lock_at`` failures the account is locked for ``lock_for``;
- an address has the same rule with larger numbers (an office shares one address);
- a refused attempt costs no password check and writes no audit row (only the lock does);
- one attempt per account is checked at a time, so parallel guesses wait their turn;
- a success clears its account's count; counts are forgotten ``lock_for`` after the last failure.

The state lives in the server's memory (one process serves the app) and is bounded: beyond
``max_keys`` accounts and addresses the quietest are forgotten first.

Password hashing (argon2, about half a second of CPU and 64 MiB each) runs in a small pool of
its own, never on the event loop and never in the pool that serves the other requests; when
more checks wait than ``queue`` allows, a login is answered "busy" at once instead of queuing.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Rule:
    """When failures start to cost time, and when they lock."""

    free: int
    lock_at: int
    lock_for: float = 15 * 60.0
    max_delay: float = 5 * 60.0

    def wait(self, failures: int, since_last: float) -> float:
        """Seconds still to wait before the next attempt (0: go ahead)."""
        if failures >= self.lock_at:
            delay = self.lock_for
        elif failures > self.free:
            delay = min(2.0 ** (failures - self.free), self.max_delay)
        else:
            return 0.0
        return max(0.0, delay - since_last)


ACCOUNT_RULE = Rule(free=4, lock_at=10)
ADDRESS_RULE = Rule(free=20, lock_at=50)


@dataclass
class _Count:
    failures: int = 0
    last: float = 0.0


@dataclass(frozen=True)
class Refusal:
    """Why an attempt is refused and for how long (whole seconds, for ``Retry-After``)."""

    seconds: int
    message: str


class LoginThrottle:
    """Counts of failed logins per account and per address (see the module)."""

    def __init__(
        self,
        account: Rule = ACCOUNT_RULE,
        address: Rule = ADDRESS_RULE,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 50_000,
    ) -> None:
        self.rules = {"account": account, "address": address}
        self.clock = clock
        self.max_keys = max_keys
        self._counts: OrderedDict[tuple[str, str], _Count] = OrderedDict()
        self._checking: set[str] = set()
        self._lock = threading.Lock()

    def _get(self, kind: str, key: str, now: float) -> _Count | None:
        found = self._counts.get((kind, key))
        if found is not None and now - found.last > self.rules[kind].lock_for:
            del self._counts[(kind, key)]
            return None
        return found

    def refusal(self, account: str, address: str) -> Refusal | None:
        """Why an attempt must not be checked now, or None (then call :meth:`begin`)."""
        now = self.clock()
        with self._lock:
            for kind, key in (("account", account), ("address", address)):
                count = self._get(kind, key, now)
                if count is None:
                    continue
                rule = self.rules[kind]
                wait = rule.wait(count.failures, now - count.last)
                if wait > 0:
                    return Refusal(
                        math.ceil(wait), _message(kind, count.failures >= rule.lock_at, wait)
                    )
            if account in self._checking:
                return Refusal(
                    1, "A login for this account is being checked; try again in a second."
                )
        return None

    def begin(self, account: str) -> bool:
        """Claim the account's one check at a time; False when another is running."""
        with self._lock:
            if account in self._checking:
                return False
            self._checking.add(account)
            return True

    def end(self, account: str, address: str, ok: bool) -> list[str]:
        """Record the checked attempt and release the account; the kinds (``account``,
        ``address``) whose lock this failure started, for the audit log."""
        now = self.clock()
        locked: list[str] = []
        with self._lock:
            self._checking.discard(account)
            if ok:
                self._counts.pop(("account", account), None)
                return locked
            for kind, key in (("account", account), ("address", address)):
                count = self._get(kind, key, now) or _Count()
                count.failures += 1
                count.last = now
                self._counts[(kind, key)] = count
                self._counts.move_to_end((kind, key))
                if count.failures == self.rules[kind].lock_at:
                    locked.append(kind)
            while len(self._counts) > self.max_keys:
                self._counts.popitem(last=False)
        return locked


def _message(kind: str, locked: bool, wait: float) -> str:
    who = "this account" if kind == "account" else "your network address"
    if locked:
        minutes = max(1, math.ceil(wait / 60))
        return (
            f"Too many failed logins for {who}: it is locked for {minutes} more minute"
            f"{'s' if minutes > 1 else ''}. If these attempts were not yours, tell an admin."
        )
    return f"Too many failed logins for {who}; wait {math.ceil(wait)} seconds and try again."


class Busy(Exception):
    """More password checks are waiting than the pool takes."""


class PasswordPool:
    """A small pool of its own for password hashing, with a bounded queue."""

    def __init__(self, workers: int | None = None, queue: int = 8) -> None:
        size = workers or max(1, (os.cpu_count() or 2) // 2)
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="icploop-argon2")
        self._slots = threading.BoundedSemaphore(size + queue)

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` in the pool, awaited without blocking the event loop; Busy when full."""
        if not self._slots.acquire(blocking=False):
            raise Busy
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work)
        finally:
            self._slots.release()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

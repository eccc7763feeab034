"""What the app holds between requests: settings, the store, the warehouse, a results cache.

The analytics backend (DuckDB by default) is opened once and used under a lock, because one DuckDB
connection must not run two queries at once. Analyses are cached per as-of date in memory: the
warehouse changes only when someone loads data, and ``clear_cache`` forgets them after a load.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from fastapi.templating import Jinja2Templates
from ibis.backends import BaseBackend
from sqlalchemy.orm import Session, sessionmaker

from icploop.config import Settings
from icploop.engine import open_analytics
from icploop.metrics.data_end import DataEnd
from icploop.store.database import open_store
from icploop.warehouse import Warehouse
from icploop.web.auth import Sessions, load_secret
from icploop.web.errors import Busy
from icploop.web.jobs import JobRunner
from icploop.web.pressure import release_sessions
from icploop.web.throttle import LoginThrottle, PasswordPool

HERE = Path(__file__).resolve().parent
T = TypeVar("T")


class WebState:
    """The workspace the app serves and the things opened from it once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store: sessionmaker[Session] = open_store(settings)
        self.sessions = Sessions(load_secret(settings.workspace))
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self._backend: BaseBackend | None = None
        self._lock = threading.RLock()
        self._owner: int | None = None
        # a request waits for the warehouse at most this long, and at most this many wait
        self._wait = settings.web_wait_seconds
        # two thirds of the requests at work may wait for the warehouse: the rest stay free for
        # requests that need only the store
        self._waiting = threading.BoundedSemaphore(max(1, settings.web_max_active * 2 // 3))
        self._cache: dict[tuple[Any, ...], Any] = {}
        self.jobs = JobRunner(max_queued=settings.web_max_jobs)
        self.throttle = LoginThrottle()
        self.passwords = PasswordPool()

    def analytics(self, work: Callable[[BaseBackend], T]) -> T:
        """Run ``work`` on the warehouse, one at a time.

        The request's store connections are given back first (see
        :func:`icploop.web.pressure.release_sessions`), so nobody waiting here holds one. The
        wait is bounded: beyond ``web_wait_seconds``, or with ``web_max_active`` requests
        already waiting, the request is answered 503 (:class:`~icploop.web.errors.Busy`)."""
        me = threading.get_ident()
        if self._owner == me:  # already inside (a cached analysis computing another)
            return self._run(work)
        release_sessions()
        if not self._waiting.acquire(blocking=False):
            raise Busy("the warehouse has too many requests waiting", retry_after=2)
        try:
            if not self._lock.acquire(timeout=self._wait):
                raise Busy(f"the warehouse stayed busy for {self._wait:g} seconds", retry_after=2)
        finally:
            self._waiting.release()
        self._owner = me
        try:
            return self._run(work)
        finally:
            self._owner = None
            self._lock.release()

    def _run(self, work: Callable[[BaseBackend], T]) -> T:
        if self._backend is None:
            self._backend = open_analytics(self.settings)
        return work(self._backend)

    def cached(self, key: tuple[Any, ...], work: Callable[[BaseBackend], T]) -> T:
        """``work``'s result, computed once per key (the workspace is fixed per app); a result
        already computed is returned without waiting for the warehouse."""
        if key in self._cache:
            found: T = self._cache[key]
            return found
        return self.analytics(lambda backend: self._fill(key, work, backend))

    def _fill(self, key: tuple[Any, ...], work: Callable[[BaseBackend], T], backend: Any) -> T:
        if key not in self._cache:  # another request may have filled it while this one waited
            self._cache[key] = work(backend)
        result: T = self._cache[key]
        return result

    def clear_cache(self) -> None:
        """Forget every cached analysis (after new data is loaded)."""
        with self._lock:
            self._cache.clear()

    def data_end(self) -> DataEnd:
        """Where the workspace's data ends (see :mod:`icploop.metrics.data_end`)."""
        return self.cached(("data_end",), lambda backend: Warehouse(backend).data_end)

    def as_of(self) -> dt.date:
        """The default as-of date: the last day of the last complete month of data."""
        return self.data_end().as_of

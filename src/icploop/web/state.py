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
from icploop.web.jobs import JobRunner
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
        self._cache: dict[tuple[Any, ...], Any] = {}
        self.jobs = JobRunner()
        self.throttle = LoginThrottle()
        self.passwords = PasswordPool()

    def analytics(self, work: Callable[[BaseBackend], T]) -> T:
        """Run ``work`` on the warehouse, one at a time."""
        with self._lock:
            if self._backend is None:
                self._backend = open_analytics(self.settings)
            return work(self._backend)

    def cached(self, key: tuple[Any, ...], work: Callable[[BaseBackend], T]) -> T:
        """``work``'s result, computed once per key (the workspace is fixed per app)."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self.analytics(work)
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

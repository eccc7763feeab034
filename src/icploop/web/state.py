"""What the app holds between requests: settings, the store, the warehouse, a results cache.

The warehouse is read through generations (see :mod:`icploop.generations`): a load in another
process builds the next generation aside and swaps it in, and the app opens it for the requests
that start after the swap. Each request reads one generation from its first analysis to its
answer (it is pinned, see :class:`PinGeneration`), so an answer is never a mix of the state
before a load and the state after it; a generation no request holds any more is closed. Analyses
are cached per generation, so a load drops them. One DuckDB connection must not run two queries
at once, so the warehouse is used under one lock.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb
from fastapi.templating import Jinja2Templates
from ibis.backends import BaseBackend

from icploop import formatting as fmt
from icploop.config import Settings
from icploop.engine import connect
from icploop.fit.config import FitConfig, workspace_fit_config
from icploop.fit.words import signal_label, signal_sentence
from icploop.generations import current, duckdb_file, open_generation
from icploop.metrics.data_end import DataEnd
from icploop.store import SessionFactory
from icploop.store.database import open_store
from icploop.warehouse import Warehouse
from icploop.web.auth import Sessions, load_secret
from icploop.web.errors import Busy
from icploop.web.jobs import JobRunner
from icploop.web.pressure import ASGIApp, Receive, Scope, Send, release_sessions
from icploop.web.throttle import LoginThrottle, PasswordPool
from icploop.web.unknown import known, unknown_mark

HERE = Path(__file__).resolve().parent
T = TypeVar("T")


class Generation:
    """One generation of the warehouse as the app reads it: its file (None for a backend
    without generations, or before the first load), its connection once opened, its cached
    analyses, and how many requests or jobs hold it."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.backend: BaseBackend | None = None
        self.cache: dict[tuple[Any, ...], Any] = {}
        self.pins = 0


# the generation the current request or job reads, once it has read one (a list of at most one,
# shared by the threads that serve the request: contexts are copied, the list is not)
_pinned: contextvars.ContextVar[list[Generation] | None] = contextvars.ContextVar(
    "icploop_generation", default=None
)


class WebState:
    """The workspace the app serves and the things opened from it once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store: SessionFactory = open_store(settings)
        self.sessions = Sessions(load_secret(settings.workspace))
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        # the numbers behind a fit signal, in words, wherever a page shows a signal; p-values
        # as people read them; "-" for an unknown value, with its reason
        self.templates.env.globals.update(
            signal_label=signal_label,
            signal_sentence=signal_sentence,
            q=fmt.q,
            unknown=unknown_mark,
            known=known,
        )
        self._link = duckdb_file(settings)
        self._current: Generation | None = None
        self._retired: list[Generation] = []
        self._generations = threading.Lock()
        self._lock = threading.RLock()
        self._owner: int | None = None
        # a request waits for the warehouse at most this long, and at most this many wait
        self._wait = settings.web_wait_seconds
        # two thirds of the requests at work may wait for the warehouse: the rest stay free for
        # requests that need only the store
        self._waiting = threading.BoundedSemaphore(max(1, settings.web_max_active * 2 // 3))
        self.jobs = JobRunner(max_queued=settings.web_max_jobs, around=self.pinned)
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
            self._close_retired()
            self._lock.release()

    def _run(self, work: Callable[[BaseBackend], T]) -> T:
        generation = self._generation()
        if generation.backend is None:
            try:
                generation.backend = self._open(generation)
            except duckdb.IOException:
                if generation.path is None or generation.path == current(self._link or Path()):
                    raise
                # a newer load removed this generation before it was first read: nothing
                # was read from it yet, so the request may read the newest instead
                self._repin()
                return self._run(work)
        return work(generation.backend)

    def _open(self, generation: Generation) -> BaseBackend:
        if self._link is None:
            return connect(self.settings.resolved_analytics_url())
        return open_generation(generation.path)

    def latest(self) -> Generation:
        """The generation the workspace's link names now (a new object after a load)."""
        path = current(self._link) if self._link is not None else None
        with self._generations:
            if self._current is None or self._current.path != path:
                if self._current is not None:
                    self._retired.append(self._current)
                self._current = Generation(path)
            return self._current

    def _generation(self) -> Generation:
        """The generation this request or job has pinned, pinning the latest on first use;
        outside both, the latest."""
        holder = _pinned.get()
        if holder is None:
            return self.latest()
        if not holder:
            generation = self.latest()
            with self._generations:
                generation.pins += 1
            holder.append(generation)
        return holder[0]

    def _repin(self) -> None:
        holder = _pinned.get()
        if holder:
            self.unpin(holder.pop())

    def unpin(self, generation: Generation) -> None:
        with self._generations:
            generation.pins -= 1

    def _close_retired(self) -> None:
        """Close the generations no request or job holds any more (under the warehouse lock,
        after the outermost analysis, so no work is reading one)."""
        with self._generations:
            done = [g for g in self._retired if g.pins <= 0]
            self._retired = [g for g in self._retired if g.pins > 0]
        for generation in done:
            if generation.backend is not None:
                generation.backend.disconnect()
                generation.backend = None

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Everything read in the block reads one generation (the latest when first read)."""
        holder: list[Generation] = []
        token = _pinned.set(holder)
        try:
            yield
        finally:
            _pinned.reset(token)
            if holder:
                self.unpin(holder[0])

    def cached(self, key: tuple[Any, ...], work: Callable[[BaseBackend], T]) -> T:
        """``work``'s result, computed once per key and generation; a result already computed
        is returned without waiting for the warehouse."""
        cache = self._generation().cache
        if key in cache:
            found: T = cache[key]
            return found
        return self.analytics(lambda backend: self._fill(cache, key, work, backend))

    def _fill(
        self,
        cache: dict[tuple[Any, ...], Any],
        key: tuple[Any, ...],
        work: Callable[[BaseBackend], T],
        backend: Any,
    ) -> T:
        if key not in cache:  # another request may have filled it while this one waited
            cache[key] = work(backend)
        result: T = cache[key]
        return result

    def data_end(self) -> DataEnd:
        """Where the workspace's data ends (see :mod:`icploop.metrics.data_end`)."""
        return self.cached(("data_end",), lambda backend: Warehouse(backend).data_end)

    def as_of(self) -> dt.date:
        """The default as-of date: the last day of the last complete month of data."""
        return self.data_end().as_of

    def fit_config(self) -> FitConfig:
        """The workspace's fit configuration (its ``fit.yaml``, else the defaults), read on each
        call so that an edit holds from the next request."""
        return workspace_fit_config(self.settings.workspace)


class PinGeneration:
    """ASGI middleware: each request reads one generation of the warehouse (see
    :meth:`WebState.pinned`)."""

    def __init__(self, app: ASGIApp, state: WebState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with self.state.pinned():
            await self.app(scope, receive, send)

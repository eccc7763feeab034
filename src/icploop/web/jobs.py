"""Heavy work, run in the background one piece at a time: review builds started from the
browser (with a progress page) and scoring uploads from the API (whose request waits for it).

One worker thread runs the jobs in order, so two never compete for the warehouse; each job
reports its stage and a fraction done, which the job page shows and refreshes. At most
``max_queued`` jobs wait or run at once: one more is refused with 503
(:class:`~icploop.web.errors.Busy`) instead of growing a queue that would take minutes to drain.
Jobs live in memory for the life of the server: what they produce (a stored review) lives in the
app store, and their start and end are in the audit log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from icploop.errors import IcploopError
from icploop.web.errors import Busy

Progress = Callable[[str, float], None]


@dataclass
class Job:
    """One piece of background work and what the browser shows of it."""

    id: int
    kind: str
    started_by: str
    created_at: dt.datetime
    state: str = "queued"  # queued | running | done | failed
    stage: str = "waiting for the worker"
    fraction: float = 0.0
    value: Any = None
    error: str | None = None
    finished_at: dt.datetime | None = None
    future: Future[None] | None = field(default=None, repr=False)
    failure: BaseException | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def result_url(self) -> str | None:
        """Where the result is shown, for jobs whose work returns a URL (review builds)."""
        return self.value if isinstance(self.value, str) else None

    def report(self, stage: str, fraction: float) -> None:
        """Progress from inside the work: a stage name and a fraction in [0, 1]."""
        with self._lock:
            self.stage, self.fraction = stage, max(0.0, min(1.0, fraction))

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")


class JobRunner:
    """Runs jobs one at a time on a worker thread and keeps the latest few hundred."""

    def __init__(
        self,
        keep: int = 200,
        max_queued: int = 4,
        around: Callable[[], AbstractContextManager[Any]] = nullcontext,
    ) -> None:
        """``around`` is entered around each job (the app's: one warehouse generation per job)."""
        self._around = around
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="icploop-job")
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._keep = keep
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_queued)
        self.max_queued = max_queued

    def submit(self, kind: str, started_by: str, work: Callable[[Progress], Any]) -> Job:
        """Queue ``work`` (it gets a progress callback; what it returns is the job's ``value``,
        for a review build the URL of its result). Busy when ``max_queued`` jobs are waiting
        or running already."""
        if not self._slots.acquire(blocking=False):
            raise Busy(
                f"{self.max_queued} heavy requests are queued already (scoring, review builds)",
                retry_after=5,
            )
        job = Job(next(self._ids), kind, started_by, dt.datetime.now(dt.UTC))
        with self._lock:
            self._jobs[job.id] = job
            for old in sorted(self._jobs)[: max(0, len(self._jobs) - self._keep)]:
                del self._jobs[old]
        job.future = self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[Progress], Any]) -> None:
        job.state = "running"
        try:
            with self._around():
                job.value = work(job.report)
            job.report("done", 1.0)
            job.state = "done"
        except IcploopError as exc:
            job.failure = exc
            job.error = exc.message + (f" ({exc.hint})" if exc.hint else "")
            job.state = "failed"
        except Exception as exc:  # a failed job must say so on its page, not vanish
            job.failure = exc
            job.error = f"unexpected error: {exc}"
            job.state = "failed"
        finally:
            job.finished_at = dt.datetime.now(dt.UTC)
            self._slots.release()

    async def result(
        self, job: Job, wait: float | None = None, deadline: float | None = None
    ) -> Any:
        """Wait (without blocking the event loop) for ``job`` and return its value; its
        failure is raised as it was. A job still queued after ``wait`` seconds is taken out of
        the queue, and one not done ``deadline`` seconds after it was submitted is left to
        finish unseen: either way Busy is raised, so that a request is answered before its
        client gives up on it."""
        assert job.future is not None
        done = asyncio.wrap_future(job.future)
        try:
            await asyncio.wait_for(asyncio.shield(done), timeout=wait)
        except TimeoutError:
            if job.future.cancel():
                job.state, job.error = "failed", "waited too long in the queue"
                self._slots.release()
                raise Busy("the queue of heavy requests is long", retry_after=5) from None
            left = None if deadline is None else max(0.0, deadline - (wait or 0.0))
            try:
                await asyncio.wait_for(asyncio.shield(done), timeout=left)
            except TimeoutError:
                raise Busy("the server is slow to finish heavy requests", retry_after=10) from None
        if job.failure is not None:
            raise job.failure
        return job.value

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

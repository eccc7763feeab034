"""Long work started from the browser (a review build), run in the background with progress.

One worker thread runs the jobs in order, so two builds never compete for the warehouse; each
job reports its stage and a fraction done, which the job page shows and refreshes. Jobs live in
memory for the life of the server: what they produce (a stored review) lives in the app store,
and their start and end are in the audit log.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from icploop.errors import IcploopError

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
    result_url: str | None = None
    error: str | None = None
    finished_at: dt.datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def report(self, stage: str, fraction: float) -> None:
        """Progress from inside the work: a stage name and a fraction in [0, 1]."""
        with self._lock:
            self.stage, self.fraction = stage, max(0.0, min(1.0, fraction))

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")


class JobRunner:
    """Runs jobs one at a time on a worker thread and keeps the latest few hundred."""

    def __init__(self, keep: int = 200) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="icploop-job")
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._keep = keep
        self._lock = threading.Lock()

    def submit(self, kind: str, started_by: str, work: Callable[[Progress], str]) -> Job:
        """Queue ``work``; it gets a progress callback and returns the URL of its result."""
        job = Job(next(self._ids), kind, started_by, dt.datetime.now(dt.UTC))
        with self._lock:
            self._jobs[job.id] = job
            for old in sorted(self._jobs)[: max(0, len(self._jobs) - self._keep)]:
                del self._jobs[old]
        self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[Progress], str]) -> None:
        job.state = "running"
        try:
            job.result_url = work(job.report)
            job.report("done", 1.0)
            job.state = "done"
        except IcploopError as exc:
            job.error = exc.message + (f" ({exc.hint})" if exc.hint else "")
            job.state = "failed"
        except Exception as exc:  # a failed job must say so on its page, not vanish
            job.error = f"unexpected error: {exc}"
            job.state = "failed"
        finally:
            job.finished_at = dt.datetime.now(dt.UTC)

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

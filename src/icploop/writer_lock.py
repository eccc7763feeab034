"""The workspace's one writer: a lock every command that changes the workspace holds.

Loads, tagging runs and the daily run each hold it while they write, so two of them never
overlap; readers (every other command, the web app) never take it. A writer that finds it held
waits up to its ``wait`` seconds, then refuses in one line that names who holds it (the command,
its process id and since when, recorded beside the lock by the holder).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from icploop.errors import IcploopError

LOCK_FILE = ".icploop-writer.lock"
HOLDER_FILE = ".icploop-writer.json"


class WorkspaceBusy(IcploopError):
    """Another command holds the workspace's writer lock."""


def holder(workspace: Path) -> dict[str, Any] | None:
    """Who holds the writer lock, as its holder recorded it (None when nobody says)."""
    try:
        found = json.loads((workspace / HOLDER_FILE).read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def describe(found: dict[str, Any] | None) -> str:
    """``icploop load (process 123, since 09:15:02 UTC)``, or a plain phrase without a record."""
    if not found:
        return "another command"
    since = str(found.get("since", ""))[11:19]
    return f"{found.get('what', 'another command')} (process {found.get('pid')}, since {since} UTC)"


@contextmanager
def writer_lock(
    workspace: Path,
    what: str,
    wait: float = 0.0,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the workspace's writer lock while the block runs.

    ``what`` names the holder (e.g. ``icploop load``) for anyone who finds the lock held.
    Held by someone else: ``on_wait`` is told who, once, and the lock is waited for up to
    ``wait`` seconds (0: not at all); then :class:`WorkspaceBusy` is raised, naming the holder.
    The lock is one process's: a second writer in the same process waits like any other."""
    workspace.mkdir(parents=True, exist_ok=True)
    lock = FileLock(workspace / LOCK_FILE, thread_local=False, is_singleton=False)
    if not _acquired(lock, 0):
        if wait > 0 and on_wait is not None:
            who = describe(holder(workspace))
            on_wait(f"waiting up to {wait:g} s for {who} to finish writing this workspace")
        if wait <= 0 or not _acquired(lock, wait):
            raise WorkspaceBusy(
                f"the workspace {workspace} is being written by {describe(holder(workspace))}",
                "try again when it has finished, or give --wait SECONDS to wait for it",
            )
    record = {
        "what": what,
        "pid": os.getpid(),
        "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    try:
        (workspace / HOLDER_FILE).write_text(json.dumps(record))
        yield
    finally:
        (workspace / HOLDER_FILE).unlink(missing_ok=True)
        lock.release()


def _acquired(lock: FileLock, timeout: float) -> bool:
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        return False
    return True

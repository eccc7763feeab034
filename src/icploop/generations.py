"""The analytics DuckDB file as generations: many readers, one writer, swapped in atomically.

DuckDB lets many processes read a file or one process write it, never both. So the workspace's
``analytics.duckdb`` is a symbolic link to its current generation (``analytics.g7.duckdb``):

- readers open the generation the link names, read-only, each with a spill folder of its own;
- a writer, holding the workspace's writer lock (:mod:`icploop.writer_lock`), copies the current
  generation to the next, writes there, checkpoints and closes it, then points the link at it
  with one rename. A reader that opened the old generation keeps reading it (its file stays
  readable until closed, even once removed); one that opens after the rename reads the new one.
  A write that fails leaves the link as it was and its copy is removed.

A plain file in the link's place (a workspace from before generations, or a warehouse copied
there) is the current generation until the first write replaces it. Analytics URLs other than a
DuckDB file (PostgreSQL, an in-memory DuckDB) are written in place: their transactions keep
readers whole.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from icploop.config import Settings
from icploop.writer_lock import writer_lock

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

#: how often a reader resolves the link again when the generation it named was just removed
OPEN_ATTEMPTS = 3


def duckdb_file(settings: Settings) -> Path | None:
    """The analytics DuckDB file's path (the link), or None for any other analytics backend."""
    url = settings.resolved_analytics_url()
    if not url.startswith("duckdb://"):
        return None
    path = url.removeprefix("duckdb://")
    return Path(path) if path and path != ":memory:" else None


def current(link: Path) -> Path | None:
    """The generation file the link names now (the file itself when it is a plain file), or
    None before the first load."""
    target = Path(os.path.realpath(link))
    return target if target.is_file() else None


def _pattern(link: Path) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(link.stem)}\.g(\d+){re.escape(link.suffix)}(\.wal|\.tmp)?$")


def _number(link: Path, generation: Path | None) -> int:
    found = _pattern(link).match(generation.name) if generation else None
    return int(found[1]) if found else 0


def _reader_spill() -> str:
    """This process's own spill folder for read-only connections (removed at exit): readers of
    one generation must not share DuckDB's default folder beside the file."""
    global _SPILL
    if _SPILL is None:
        _SPILL = tempfile.mkdtemp(prefix="icploop-read-")
        atexit.register(shutil.rmtree, _SPILL, True)
    return _SPILL


_SPILL: str | None = None


def open_generation(generation: Path | None) -> BaseBackend:
    """A read-only connection to one generation's file, with this process's own spill folder;
    None (before the first load) gives an empty in-memory database: a reader never creates
    the workspace's state. Raises ``duckdb.IOException`` when the file is gone."""
    import ibis

    from icploop.engine import tuned

    if generation is None:
        return tuned(ibis.duckdb.connect())
    return tuned(
        ibis.duckdb.connect(str(generation), read_only=True, temp_directory=_reader_spill())
    )


def open_reader(link: Path) -> tuple[BaseBackend, Path | None]:
    """A read-only connection to the current generation, and that generation's file (None
    before the first load)."""
    import duckdb

    for attempt in range(OPEN_ATTEMPTS):
        generation = current(link)
        try:
            return open_generation(generation), generation
        except duckdb.IOException:
            # removed by a writer between resolving the link and opening it: resolve again
            if attempt + 1 == OPEN_ATTEMPTS or current(link) == generation:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def next_generation(link: Path) -> Iterator[Path]:
    """The next generation's file, a copy of the current one, to write in the block; on success
    the link names it, on failure it is removed. The caller holds the writer lock."""
    link.parent.mkdir(parents=True, exist_ok=True)
    _remove_generations(link, keep=current(link))  # what a killed writer left
    before = current(link)
    target = link.with_name(f"{link.stem}.g{_number(link, before) + 1}{link.suffix}")
    if before is not None:
        shutil.copyfile(before, target)
        wal = Path(f"{before}.wal")
        if wal.exists():  # changes not yet checkpointed into the file (a legacy writer's)
            shutil.copyfile(wal, f"{target}.wal")
    try:
        yield target
    except BaseException:
        _remove_generations(link, keep=before)
        raise
    swap = link.with_name(f".{link.name}.swap")
    swap.unlink(missing_ok=True)
    swap.symlink_to(target.name)
    os.replace(swap, link)
    _sync_folder(link.parent)
    # the link's own WAL name could be replayed onto the new generation by a direct open
    Path(f"{link}.wal").unlink(missing_ok=True)
    _remove_generations(link, keep=target)


def _remove_generations(link: Path, keep: Path | None) -> None:
    """Remove every generation file (and its WAL and spill folder) but ``keep``'s. Readers
    that have one open keep reading it."""
    pattern = _pattern(link)
    for path in link.parent.iterdir():
        found = pattern.match(path.name)
        if not found or (keep is not None and path.name.startswith(keep.name)):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (a crash after it returns keeps the new link)."""
    with contextlib.suppress(OSError):  # not every platform can open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextmanager
def writing(
    settings: Settings,
    what: str,
    wait: float = 0.0,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[BaseBackend]:
    """A read-write connection to the workspace's analytics, under the writer lock (see
    :func:`write_generation`; ``what``, ``wait`` and ``on_wait`` are the lock's, see
    :func:`icploop.writer_lock.writer_lock`)."""
    with (
        writer_lock(settings.workspace, what, wait, on_wait),
        write_generation(settings) as backend,
    ):
        yield backend


@contextmanager
def write_generation(settings: Settings) -> Iterator[BaseBackend]:
    """A read-write connection to the workspace's analytics; the caller holds the writer lock.

    For the DuckDB file, the connection is to the next generation, swapped in when the block
    ends without an error (checkpointed and closed first); a failure leaves the current
    generation as it was. Any other backend is written in place."""
    from icploop.engine import connect

    link = duckdb_file(settings)
    if link is None:
        backend = connect(settings.resolved_analytics_url())
        try:
            yield backend
        finally:
            backend.disconnect()
        return
    with next_generation(link) as target:
        backend = connect(f"duckdb://{target}")
        try:
            yield backend
            backend.raw_sql("CHECKPOINT")
        finally:
            backend.disconnect()


def open_analytics(settings: Settings) -> BaseBackend:
    """The workspace's analytics backend, to read: for a DuckDB file, a read-only connection to
    its current generation (:func:`open_reader`), so that reading never waits for, or stops, a
    load; writers use :func:`writing`. Any other backend is opened from its URL."""
    from icploop.engine import connect

    link = duckdb_file(settings)
    if link is not None:
        if not link.parent.is_dir():
            # reading never creates a workspace: a mistyped path is said, not answered as empty
            from icploop.errors import IcploopError

            raise IcploopError(
                f"no workspace at {link.parent}",
                "check --workspace (or ICPLOOP_WORKSPACE), or create it: icploop load FILES "
                "--workspace PATH (or icploop demo run)",
            )
        return open_reader(link)[0]
    return connect(settings.resolved_analytics_url())

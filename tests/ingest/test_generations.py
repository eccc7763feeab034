"""The analytics file as generations: a writer builds the next aside and swaps it in; readers of
the old one keep reading it; a failed write changes nothing; one writer at a time."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import duckdb
import pytest

from icploop.config import Settings
from icploop.errors import IcploopError
from icploop.generations import current, duckdb_file, open_reader, writing
from icploop.writer_lock import WorkspaceBusy, writer_lock


def count(backend: object) -> int:
    return int(backend.raw_sql("SELECT count(*) FROM t").fetchall()[0][0])  # type: ignore[attr-defined]


def write_rows(settings: Settings, rows: int) -> None:
    with writing(settings, "test") as backend:
        backend.raw_sql("CREATE TABLE IF NOT EXISTS t (i INTEGER)")
        backend.raw_sql(f"INSERT INTO t SELECT range FROM range({rows})")


def test_a_reader_of_the_old_generation_keeps_reading_it_after_a_write(tmp_path: Path) -> None:
    settings = Settings(workspace=tmp_path)
    write_rows(settings, 3)
    link = duckdb_file(settings)
    assert link is not None and link.is_symlink()
    first = current(link)
    reader, opened = open_reader(link)
    assert opened == first and count(reader) == 3
    write_rows(settings, 4)
    second = current(link)
    assert second != first and second is not None
    # the old generation's file is gone from the folder, yet its reader still reads it whole
    assert first is not None and not first.exists()
    assert count(reader) == 3
    assert count(open_reader(link)[0]) == 7
    reader.disconnect()
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("analytics"))
    assert leftovers == ["analytics.duckdb", second.name]


def test_a_failed_write_leaves_the_current_generation_and_removes_its_copy(
    tmp_path: Path,
) -> None:
    settings = Settings(workspace=tmp_path)
    write_rows(settings, 2)
    link = duckdb_file(settings)
    assert link is not None
    before = current(link)
    with pytest.raises(IcploopError), writing(settings, "test") as backend:
        backend.raw_sql("INSERT INTO t VALUES (99)")
        raise IcploopError("the load found a problem")
    assert current(link) == before
    assert count(open_reader(link)[0]) == 2
    assert sorted(p.name for p in tmp_path.glob("analytics*")) == ["analytics.duckdb", before.name]  # type: ignore[union-attr]


def test_a_plain_file_with_unsaved_changes_becomes_the_first_generation(tmp_path: Path) -> None:
    """A warehouse from before generations, written without a checkpoint (its WAL beside it),
    is copied whole into generation 1 and the link takes its place."""
    settings = Settings(workspace=tmp_path)
    plain = tmp_path / "analytics.duckdb"
    con = duckdb.connect(str(plain))
    con.execute("SET checkpoint_threshold = '1GB'")
    con.execute("CREATE TABLE t AS SELECT range AS i FROM range(5)")
    # a copy of the file and its WAL as a process killed before closing would leave them
    holder = tmp_path / "held"
    holder.mkdir()
    for name in ("analytics.duckdb", "analytics.duckdb.wal"):
        (holder / name).write_bytes((tmp_path / name).read_bytes())
    con.close()
    for name in ("analytics.duckdb", "analytics.duckdb.wal"):
        os.replace(holder / name, tmp_path / name)
    assert (tmp_path / "analytics.duckdb.wal").exists()
    write_rows(settings, 1)
    assert plain.is_symlink() and not (tmp_path / "analytics.duckdb.wal").exists()
    assert count(open_reader(plain)[0]) == 6


def test_reading_an_empty_workspace_creates_nothing(tmp_path: Path) -> None:
    settings = Settings(workspace=tmp_path / "ws")
    link = duckdb_file(settings)
    assert link is not None
    backend, generation = open_reader(link)
    assert generation is None and backend.list_tables() == []
    assert not (tmp_path / "ws").exists()


def test_a_second_writer_refuses_at_once_naming_the_first(tmp_path: Path) -> None:
    with writer_lock(tmp_path, "icploop load"), pytest.raises(WorkspaceBusy) as refused:
        write_rows(Settings(workspace=tmp_path), 1)
    message = refused.value.message
    assert message.startswith(f"the workspace {tmp_path} is being written by icploop load (process")
    assert str(os.getpid()) in message and "\n" not in message
    assert "--wait" in (refused.value.hint or "")
    assert not (tmp_path / "analytics.duckdb").exists()


def test_a_second_writer_given_time_waits_for_the_first_and_says_so(tmp_path: Path) -> None:
    settings = Settings(workspace=tmp_path)
    held = threading.Event()
    said: list[str] = []

    def first() -> None:
        with writer_lock(tmp_path, "icploop run"):
            held.set()
            time.sleep(0.5)

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(5)
    with writing(settings, "test", wait=30, on_wait=said.append) as backend:
        backend.raw_sql("CREATE TABLE t AS SELECT 1 AS i")
    thread.join()
    assert len(said) == 1 and said[0].startswith("waiting up to 30 s for icploop run (process")
    link = duckdb_file(settings)
    assert link is not None and count(open_reader(link)[0]) == 1

"""No row is dropped without a word, the header is read whole, formula-like values are named,
every failure of a load is one line with its cause, and a load leaves nothing behind (what a
killed one left is cleaned by the next)."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ibis.backends import BaseBackend

from icploop.engine import connect
from icploop.errors import IcploopError, ValidationError
from icploop.ingest import load as load_module
from icploop.ingest.load import load_paths
from icploop.ingest.read import MAX_LINE

from .conftest import ACCOUNTS, snapshot


def _views(backend: BaseBackend) -> list[str]:
    rows = backend.con.execute(  # type: ignore[attr-defined]
        "SELECT view_name FROM duckdb_views() WHERE NOT internal"
    ).fetchall()
    return [r[0] for r in rows]


def test_a_field_too_long_for_the_engine_is_an_error_with_its_row_not_a_silent_loss(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    """DuckDB skips a line longer than its read buffer (32 MB) without a reject: the only row
    of this file used to load as "inserted 0" with exit 0."""
    path = write("accounts.csv", "account_id,name\nA1," + "x" * (40 << 20) + "\n")
    with pytest.raises(ValidationError) as err:
        load_paths(backend, [path])
    [problem] = err.value.problems
    assert (problem.file, problem.row) == ("accounts.csv", 2)
    assert f"a line of at most {MAX_LINE:,} bytes" in problem.expected
    assert snapshot(backend) == {}


def test_a_line_just_over_the_limit_between_good_rows_names_its_row(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    path = write(
        "accounts.csv",
        "account_id,name\nA0,ok\nA1," + "y" * (MAX_LINE + 10) + "\nA2,ok\n",
    )
    with pytest.raises(ValidationError) as err:
        load_paths(backend, [path])
    assert [p.row for p in err.value.problems] == [3]


def test_a_header_longer_than_a_read_chunk_is_read_whole(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    """The header used to be read from the first 1 MiB only (a long name cut short, and a
    CSV error past 128 KiB)."""
    long_name = "x" * 1_100_000
    path = write("accounts.csv", f"account_id,name,{long_name},region\nA1,Acme,v,EMEA\n")
    result = load_paths(backend, [path])
    assert result.tables["accounts"].inserted == 1
    stored = backend.con.execute("SELECT region FROM main.accounts").fetchall()  # type: ignore[attr-defined]
    assert stored == [("EMEA",)]


def test_values_a_spreadsheet_would_run_are_loaded_and_named(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    path = write(
        "accounts.csv",
        "account_id,name,currency\n"
        "a1,Acme,USD\n"
        'a2,"=HYPERLINK(""http://example.test"")",USD\n'
        "@a3,-12.5,USD\n",
    )
    result = load_paths(backend, [path])
    assert result.tables["accounts"].inserted == 3
    [note] = [n for n in result.notes if "spreadsheet" in n]
    assert note.startswith("accounts.csv: 2 value(s) begin with =, +, -, @")
    assert "first at row 3, column 'name'" in note  # -12.5 is a number, not a formula


def test_a_failed_load_leaves_no_view_of_its_files(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    good = write("accounts.csv", ACCOUNTS)
    load_paths(backend, [good])
    bad = write("accounts.csv", "account_id,name,currency\na1,Acme\n", folder="bad")
    with pytest.raises(ValidationError):
        load_paths(backend, [bad])
    assert _views(backend) == []


def test_what_a_killed_load_left_is_cleaned_by_the_next_command(
    tmp_path: Path, write: Callable[..., Path]
) -> None:
    """A load killed mid-way leaves a view of its file in the database and spill files in
    the database's temp folder; the next opening of the workspace removes both."""
    db = tmp_path / "analytics.duckdb"
    source = write("accounts.csv", ACCOUNTS)
    raw = duckdb.connect(str(db))
    raw.read_csv(str(source)).create_view("_src_0")  # as a killed load leaves it
    raw.close()
    spill = tmp_path / "analytics.duckdb.tmp"
    spill.mkdir()
    leftovers = [spill / "duckdb_temp_storage_DEFAULT-0.tmp", spill / "duckdb_temp_block-7.block"]
    for file in leftovers:
        file.write_bytes(b"\0" * 4096)
        os.utime(file, (1_000_000_000, 1_000_000_000))  # written long before this process
    mine = spill / "notes.txt"  # not a spill file: never touched
    mine.write_text("keep")
    backend = connect(f"duckdb://{db}")
    assert not any(f.exists() for f in leftovers) and mine.exists()
    assert _views(backend) == ["_src_0"]
    load_paths(backend, [source])
    assert _views(backend) == []
    backend.disconnect()


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600k usage rows: more than a 64 MB load holds without spilling."""
    folder = tmp_path_factory.mktemp("spill")
    (folder / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    n = 600_000
    rng = np.random.default_rng(5)
    pq.write_table(
        pa.table(
            {
                "account_id": np.where(np.arange(n) % 2 == 0, "a1", "a2"),
                "date": np.datetime64("2018-01-01")
                + (np.arange(n) // 200).astype("timedelta64[D]"),
                "feature": np.char.add("feature_", (np.arange(n) % 200).astype(str)),
                "events": rng.integers(0, 1000, n),
            }
        ),
        folder / "usage.parquet",
    )
    return folder


def test_a_full_disk_while_spilling_is_named_as_such_not_as_memory(
    large: Path, tmp_path: Path
) -> None:
    """DuckDB says "failed to offload data block" whether the spill folder's disk is full or
    its size limit is reached; the limit stands in for a full disk here. The files are loaded
    again: into tables that hold rows, a load stages them in temporary tables, which spill."""
    backend = connect(f"duckdb://{tmp_path / 'analytics.duckdb'}")
    load_paths(backend, [large])
    before = snapshot(backend)
    backend.raw_sql("SET max_temp_directory_size = '1MB'")
    with pytest.raises(IcploopError) as err:
        load_paths(backend, [large], memory_limit="64MB")
    message = err.value.message
    assert message.startswith("the disk holding the load's spill folder (")
    assert "ran out of space; nothing was loaded" in message and "memory" not in message
    assert "\n" not in message
    assert snapshot(backend) == before
    backend.disconnect()


def test_a_failure_to_write_at_commit_is_one_line_and_stores_nothing(
    backend: BaseBackend, write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What DuckDB raises when the disk fills while committing (seen on a full tmpfs)."""
    load_paths(backend, [write("accounts.csv", ACCOUNTS)])
    before = snapshot(backend)
    con = backend.con  # type: ignore[attr-defined]
    real_execute = con.execute

    class Full:
        def __getattr__(self, name: str) -> object:
            return getattr(con, name)

        def execute(self, sql: str, *args: object) -> object:
            if sql == "COMMIT":
                real_execute("ROLLBACK")
                raise duckdb.TransactionException(
                    "TransactionContext Error: Failed to commit: Could not write file "
                    '"analytics.duckdb": No space left on device'
                )
            return real_execute(sql, *args)

    monkeypatch.setattr(load_module, "duckdb_connection", lambda _backend: Full())
    more = write("accounts.csv", "account_id,name,currency\na9,Nine,USD\n", folder="more")
    with pytest.raises(IcploopError) as err:
        load_paths(backend, [more])
    assert err.value.message == (
        "the load could not be stored (TransactionContext Error: Failed to commit: Could not "
        'write file "analytics.duckdb": No space left on device); nothing was loaded'
    )
    assert snapshot(backend) == before


def test_the_crm_notes_file_never_holds_a_formula(tmp_path: Path) -> None:
    from icploop.flags.channels.crm_csv import CrmCsvChannel

    path = tmp_path / "crm_notes.csv"
    CrmCsvChannel(path).send("ae", {"account_id": "=cmd|' /C calc'!A0", "note_date": "2026-11-02",
                                    "author": "@csm", "subject": "+flag", "text": "-1 seat",
                                    "idempotency_key": "k1"})  # fmt: skip
    with path.open(newline="", encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["account_id"] == "'=cmd|' /C calc'!A0"
    assert (row["author"], row["subject"], row["body"]) == ("'@csm", "'+flag", "'-1 seat")

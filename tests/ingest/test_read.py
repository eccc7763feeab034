"""Reading files: encodings, headers, ragged rows, empty files, recognition by name."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from ibis.backends import BaseBackend

from icploop.errors import IcploopError, Problem, ValidationError
from icploop.ingest import read
from icploop.ingest.load import load_paths
from icploop.ingest.mapping import parse_mapping


def refused(backend: BaseBackend, path: Path) -> list[Problem]:
    with pytest.raises(ValidationError) as err:
        load_paths(backend, [path])
    return err.value.problems


def test_an_empty_file_is_a_clear_problem(backend: BaseBackend, write: Callable[..., Path]) -> None:
    assert refused(backend, write("accounts.csv", b"")) == [
        Problem("accounts.csv", None, None, None, "a header line (the file is empty)")
    ]


def test_invalid_utf8_names_the_line_and_suggests_latin1(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    path = write("accounts.csv", b"account_id,name\na1,Acme\na2,Caf\xe9\n")
    [problem] = refused(backend, path)
    assert (problem.file, problem.row) == ("accounts.csv", 3)
    assert "encoding: latin-1" in problem.expected


def test_a_latin1_file_loads_when_the_mapping_says_so(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    path = write("accounts.csv", "account_id,name\na1,Café\n".encode("latin-1"))
    mapping = parse_mapping(
        "encoding: latin-1\ntables:\n  - table: accounts\n    files: '*'\n"
        "    columns: {account_id: account_id, name: name}\n"
    )
    load_paths(backend, [path], mapping)
    assert backend.con.execute("SELECT name FROM accounts").fetchall() == [("Café",)]  # type: ignore[attr-defined]


def test_a_utf8_bom_is_accepted(backend: BaseBackend, write: Callable[..., Path]) -> None:
    load_paths(backend, [write("accounts.csv", b"\xef\xbb\xbfaccount_id,name\na1,Acme\n")])
    assert backend.con.execute("SELECT account_id FROM accounts").fetchall() == [("a1",)]  # type: ignore[attr-defined]


def test_duplicate_headers_are_refused(backend: BaseBackend, write: Callable[..., Path]) -> None:
    path = write("accounts.csv", "account_id,name,Name\na1,x,y\n")
    assert refused(backend, path) == [
        Problem("accounts.csv", 1, "Name", "Name", "a unique column name (also column 2)")
    ]


def test_ragged_rows_are_reported_with_their_line_numbers(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    path = write("accounts.csv", "account_id,name\r\na1,x\r\na2\r\na3,y,z\r\n")
    problems = refused(backend, path)
    assert [(p.row, p.expected) for p in problems] == [
        (3, "as many fields as the header (2)"),
        (4, "as many fields as the header (2)"),
    ]


def test_crlf_line_endings_load(backend: BaseBackend, write: Callable[..., Path]) -> None:
    load_paths(backend, [write("accounts.csv", "account_id,name\r\na1,Acme\r\n")])
    assert backend.con.execute("SELECT name FROM accounts").fetchall() == [("Acme",)]  # type: ignore[attr-defined]


def test_parquet_files_load_natively(backend: BaseBackend, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table({"account_id": ["a1", "a2"], "employees": [10, 20]}), tmp_path / "accounts.parquet"
    )
    load_paths(backend, [tmp_path / "accounts.parquet"])
    assert backend.con.execute("SELECT sum(employees) FROM accounts").fetchall() == [(30,)]  # type: ignore[attr-defined]


def test_a_file_whose_name_is_not_a_table_is_refused_when_named(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    with pytest.raises(IcploopError, match="cannot tell which table"):
        load_paths(backend, [write("customers.csv", "a\n1\n")])


def test_a_folder_skips_files_that_are_not_tables(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    write("notes.txt", "hello")
    write("customers.csv", "a\n1\n")
    path = write("accounts.csv", "account_id\na1\n")
    result = load_paths(backend, [path.parent])
    assert result.skipped == [str(path.parent / "customers.csv")]


def test_a_missing_path_is_a_clear_error(backend: BaseBackend, tmp_path: Path) -> None:
    with pytest.raises(IcploopError, match="no such file or folder"):
        load_paths(backend, [tmp_path / "nope"])


def test_a_digest_is_given_up_once_its_load_has_ended(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * (3 << 20))
    hashing = read.Hashing()
    done = hashing.submit(path)
    assert done.result() == hashlib.sha256(path.read_bytes()).hexdigest()
    stop = threading.Event()
    stop.set()  # what Hashing.close does for the digests still running
    with pytest.raises(read.Abandoned):
        read.sha256_of(path, stop)
    hashing.close()
    assert done.result() == hashlib.sha256(path.read_bytes()).hexdigest()

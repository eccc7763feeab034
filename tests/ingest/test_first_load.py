"""A load into empty tables keeps each file's stage as its table (no second copy of the rows):
the tables, their types and every stored value are those of a load that copies, and a refused
load leaves no stage behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ibis.backends import BaseBackend

from icploop.errors import Problem, ValidationError
from icploop.ingest.load import LOADS_TABLE, load_paths
from icploop.ingest.validate import STORED_STAGE

from .conftest import snapshot

ACCOUNTS = "account_id,name,employees,currency\na2,Beta,40,USD\na1,Acme,12,USD\n"
SUBSCRIPTIONS = (
    "subscription_id,account_id,period_start,period_end,mrr\n"
    "s1,a1,2024-01-01,2024-01-31,100.50\ns1,a1,2024-02-01,2024-02-29,120\n"
    "s2,a2,2024-01-01,2024-02-29,80\n"
)
USAGE = (
    "account_id,date,feature,events,active_users\n"
    "a2,2024-01-03,report,4,2\na1,2024-01-03,report,2,1\na2,2024-01-04,export,1,1\n"
)


def tables(backend: BaseBackend) -> dict[str, list[tuple[str, str]]]:
    """Every table of the database itself with its columns and types, in order."""
    con = backend.con  # type: ignore[attr-defined]
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE NOT internal AND database_name = current_database() AND schema_name = 'main' "
        "ORDER BY table_name, column_index"
    ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        out.setdefault(table, []).append((column, kind))
    return out


def stored(backend: BaseBackend) -> dict[str, Any]:
    """Every stored table's rows but the load log's (its times and counts differ by load)."""
    return {t: rows for t, rows in snapshot(backend).items() if t != LOADS_TABLE}


@pytest.fixture
def folder(write: Callable[..., Path]) -> Path:
    write("accounts.csv", ACCOUNTS)
    write("subscriptions.csv", SUBSCRIPTIONS)
    return write("usage.csv", USAGE).parent


def test_a_first_load_stores_what_a_copying_load_stores(backend: BaseBackend, folder: Path) -> None:
    first = load_paths(backend, [folder])
    assert {t: c.inserted for t, c in first.tables.items()} == {
        "accounts": 2,
        "subscriptions": 3,
        "usage": 3,
    }
    kept, kept_rows = tables(backend), stored(backend)
    assert not [t for t in kept if t.startswith(STORED_STAGE)]
    assert kept["usage"][-1] == ("account_key", "BIGINT")
    assert ("mrr", "DECIMAL(18,2)") in kept["subscriptions"]
    # the same files again replace every row through the copying upsert: the same state
    again = load_paths(backend, [folder])
    assert {t: (c.inserted, c.replaced) for t, c in again.tables.items()} == {
        "accounts": (2, 2),
        "subscriptions": (3, 3),
        "usage": (3, 3),
    }
    assert tables(backend) == kept
    assert stored(backend) == kept_rows


def test_a_first_load_refused_leaves_no_stage_and_names_the_row(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    write("accounts.csv", ACCOUNTS)
    folder = write("usage.csv", USAGE + "a9,2024-01-05,report,3,1\n").parent
    before = tables(backend)
    with pytest.raises(ValidationError) as err:
        load_paths(backend, [folder])
    assert err.value.problems == [
        Problem(
            "usage.csv",
            5,
            "account_id",
            "a9",
            "a value present in accounts.account_id (in this load or already stored)",
        )
    ]
    assert tables(backend) == before


def write_usage(folder: Path, lines: list[str], kind: str) -> None:
    """usage.csv, or usage.parquet of text columns in several row groups."""
    header = "account_id,date,feature,events"
    if kind == "csv":
        (folder / "usage.csv").write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
        return
    columns = list(zip(*(line.split(",") for line in lines), strict=True))
    table = pa.table(
        {name: list(values) for name, values in zip(header.split(","), columns, strict=True)}
    )
    pq.write_table(table, folder / "usage.parquet", row_group_size=25_000)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_large_first_usage_file_is_keyed_and_names_its_rows_in_file_order(
    backend: BaseBackend, write: Callable[..., Path], kind: str
) -> None:
    # row groups read in parallel and (Parquet) joined to the account keys as they are read,
    # which does not keep the file's order: the rows named must still be the file's own
    accounts = "account_id,name\n" + "".join(f"a{i},Company {i}\n" for i in range(1000))
    day = "2024-01-{:02d}".format
    lines = [f"a{n % 1000},{day(n // 1000 % 28 + 1)},f{n // 28_000},1" for n in range(300_000)]
    good, bad = (
        write("accounts.csv", accounts).parent,
        write("accounts.csv", accounts, "bad").parent,
    )
    write_usage(good, lines, kind)
    lines[7] = "a7,2024-13-01,f0,1"
    lines[290_001] = "a1,2024-02-01,f99,minus one"
    write_usage(bad, lines, kind)
    with pytest.raises(ValidationError) as err:
        load_paths(backend, [bad])
    first = 2 if kind == "csv" else 1  # the spreadsheet row of the first data row
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [
        (7 + first, "date", "2024-13-01"),
        (290_001 + first, "events", "minus one"),
    ]
    load_paths(backend, [good])
    con = backend.con  # type: ignore[attr-defined]
    assert con.execute(
        "SELECT count(*), count(u.account_key), "
        "count(*) FILTER (WHERE u.account_key = k.account_key) "
        "FROM usage u LEFT JOIN account_keys k USING (account_id)"
    ).fetchall() == [(300_000, 300_000, 300_000)]
    assert not [t for t in tables(backend) if t.startswith(STORED_STAGE)]


def test_a_first_load_refused_while_storing_leaves_the_database_as_it_was(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    # the missing FX rate is found inside the store's transaction, after the stages became tables
    write("accounts.csv", "account_id,name,currency\na1,Acme,EUR\n")
    folder = write("subscriptions.csv", "account_id,period_start,mrr\na1,2024-01-01,10\n").parent
    before = tables(backend)
    with pytest.raises(ValidationError) as err:
        load_paths(backend, [folder])
    assert [(p.file, p.row, p.column) for p in err.value.problems] == [
        ("subscriptions.csv", 2, "currency")
    ]
    assert tables(backend) == before  # neither the tables nor a stage


def test_a_stage_a_killed_load_left_is_dropped_by_the_next_load(
    backend: BaseBackend, folder: Path
) -> None:
    con = backend.con  # type: ignore[attr-defined]
    con.execute(f"CREATE TABLE {STORED_STAGE}7 AS SELECT 1 AS x")
    load_paths(backend, [folder])
    assert not [t for t in tables(backend) if t.startswith(STORED_STAGE)]

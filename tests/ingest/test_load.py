"""Storing: all-or-nothing, idempotent, appending new months, recording each load."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import ibis
import pytest
from ibis.backends import BaseBackend

from icploop.ingest import load as load_module
from icploop.ingest.load import load_from_tables, load_paths
from icploop.ingest.status import status

from .conftest import ACCOUNTS, snapshot

SUBS = "subscription_id,account_id,period_start,period_end,mrr\ns1,a1,2024-01-01,2024-01-31,100\n"
FX = "currency,valid_from,rate\nEUR,2020-01-01,1.1\n"


def canonical(backend: BaseBackend) -> dict[str, Any]:
    snap = snapshot(backend)
    snap.pop("_icploop_loads", None)
    return snap


def test_loading_the_same_files_twice_gives_the_same_state(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    write("accounts.csv", ACCOUNTS)
    write("fx_rates.csv", FX)
    folder = write("subscriptions.csv", SUBS).parent
    first = load_paths(backend, [folder])
    state = canonical(backend)
    second = load_paths(backend, [folder])
    assert canonical(backend) == state
    assert second.tables["subscriptions"].replaced == first.tables["subscriptions"].inserted == 1


def test_a_later_load_with_new_months_appends(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    write("accounts.csv", ACCOUNTS)
    load_paths(backend, [write("subscriptions.csv", SUBS).parent])
    later = write(
        "subscriptions.csv",
        "subscription_id,account_id,period_start,period_end,mrr\ns1,a1,2024-02-01,2024-02-29,120\n",
        folder="feb",
    )
    load_paths(backend, [later])
    con = backend.con  # type: ignore[attr-defined]
    assert con.execute("SELECT month, mrr FROM mrr_monthly ORDER BY month").fetchall() == [
        (datetime(2024, 1, 1).date(), 100.0),
        (datetime(2024, 2, 1).date(), 120.0),
    ]


def test_a_failure_midway_leaves_the_stored_data_exactly_as_before(
    backend: BaseBackend, write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    write("accounts.csv", ACCOUNTS)
    load_paths(backend, [write("subscriptions.csv", SUBS).parent])
    before = snapshot(backend)
    real = load_module._upsert
    calls = {"n": 0}

    def failing(con: Any, table: str, stage: str) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full (injected)")
        return real(con, table, stage)

    monkeypatch.setattr(load_module, "_upsert", failing)
    write("accounts.csv", "account_id,name\na1,Renamed\na9,New\n", folder="two")
    folder = write("subscriptions.csv", SUBS.replace("100", "999"), folder="two").parent
    with pytest.raises(RuntimeError, match="injected"):
        load_paths(backend, [folder])
    assert calls["n"] == 2
    assert snapshot(backend) == before


def test_each_load_is_recorded_with_file_hashes_and_counts(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    path = write("accounts.csv", ACCOUNTS)
    load_paths(backend, [path], loaded_at=datetime(2024, 5, 1, 12, 0))
    [record] = status(backend)["loads"]
    assert record["load_id"] == 1
    assert record["loaded_at"] == "2024-05-01T12:00:00"
    assert record["table"] == "accounts"
    assert record["rows_inserted"] == 2
    # hashed in the background while the file is read: still the file's own digest
    assert record["files"][0]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_unmapped_account_columns_become_attributes(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    load_paths(
        backend, [write("accounts.csv", "account_id,Plan Tier,is_trial\na1,Pro,\na2,Basic,no\n")]
    )
    rows = backend.con.execute(  # type: ignore[attr-defined]
        "SELECT * FROM account_attributes ORDER BY 1, 2"
    ).fetchall()
    assert rows == [
        ("a1", "plan_tier", "Pro"),
        ("a2", "is_trial", "no"),
        ("a2", "plan_tier", "Basic"),
    ]


def test_committed_use_cases_are_split_into_deal_use_cases(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    write("accounts.csv", ACCOUNTS)
    write(
        "deals.csv", "deal_id,account_id,outcome,committed_use_cases\nd1,a1,won,reporting; alerts\n"
    )
    load_paths(backend, [write("x.md", "").parent])
    rows = backend.con.execute("SELECT * FROM deal_use_cases ORDER BY 3").fetchall()  # type: ignore[attr-defined]
    assert rows == [("d1", "a1", "alerts"), ("d1", "a1", "reporting")]


def test_tables_from_another_ibis_backend_load_through_the_same_validation(
    backend: BaseBackend, tmp_path: Path
) -> None:
    source = ibis.duckdb.connect(str(tmp_path / "source.duckdb"))
    source.con.execute("CREATE TABLE crm_accounts AS SELECT 'a1' AS account_id, 'Acme' AS name")  # type: ignore[attr-defined]
    result = load_from_tables(backend, source, {"accounts": "crm_accounts"})
    assert result.tables["accounts"].inserted == 1

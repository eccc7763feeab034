"""Shared fixtures for the ingest tests: a fresh analytics DuckDB and a file writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ibis
import pytest
from ibis.backends import BaseBackend

from icploop.ingest.keys import ACCOUNT_KEYS
from icploop.ingest.schema import TABLES

ACCOUNTS = "account_id,name,currency\na1,Acme,USD\na2,Beta,EUR\n"


@pytest.fixture
def backend(tmp_path: Path) -> BaseBackend:
    return ibis.duckdb.connect(str(tmp_path / "analytics.duckdb"))


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """write(name, text_or_bytes, folder="in") -> the path, in a folder under tmp_path."""

    def _write(name: str, content: str | bytes, folder: str = "in") -> Path:
        path = tmp_path / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    return _write


def snapshot(backend: BaseBackend) -> dict[str, Any]:
    """Every canonical table's rows, sorted, for before/after comparisons."""
    con = backend.con  # type: ignore[attr-defined]
    existing = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    out: dict[str, Any] = {}
    for name in [*TABLES, ACCOUNT_KEYS, "_icploop_loads"]:
        if name in existing:
            rows = con.execute(f'SELECT * FROM main."{name}"').fetchall()
            out[name] = sorted(rows, key=repr)
    return out

"""The demo warehouse (planted) and a null company of the same size, bound for the reason analyses."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from icploop.engine import connect
from icploop.reasons.evidence import ReasonTables

AS_OF = dt.date(2026, 10, 31)


@pytest.fixture(scope="session")
def null_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A null demo company (every planted link shuffled away), 1,500 customers, seed 11."""
    from icploop.demo.generator import generate_company
    from icploop.ingest.load import load_paths

    folder = tmp_path_factory.mktemp("null-company")
    generate_company(folder / "data", accounts=1500, seed=11, null=True)
    path = folder / "analytics.duckdb"
    backend = connect(f"duckdb://{path}")
    load_paths(backend, [folder / "data"])
    backend.disconnect()
    return path


def _open(path: Path, tmp: Path) -> Iterator[ReasonTables]:
    copy = tmp / "analytics.duckdb"
    shutil.copy(path, copy)
    backend = connect(f"duckdb://{copy}")
    yield ReasonTables.from_backend(backend)
    backend.disconnect()


@pytest.fixture(scope="module")
def demo_tables(
    demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReasonTables]:
    yield from _open(demo_warehouse, tmp_path_factory.mktemp("demo-reasons"))


@pytest.fixture(scope="module")
def null_tables(
    null_warehouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReasonTables]:
    yield from _open(null_warehouse, tmp_path_factory.mktemp("null-reasons"))

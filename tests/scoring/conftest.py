"""The small demo company's scoring inputs, a null company's, and a model trained once."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pytest

from icploop.demo.generator import generate_company
from icploop.engine import connect
from icploop.ingest.load import load_paths
from icploop.metrics.tables import CanonicalTables
from icploop.scoring.features import customer_history, deal_history
from icploop.scoring.train import TrainedFit, train_fit

AS_OF = dt.date(2026, 10, 31)
NULL_SEED = 202


def _inputs(tables: CanonicalTables) -> dict[str, Any]:
    return {
        "tables": tables,
        "history": customer_history(tables, AS_OF),
        "deals": deal_history(tables),
    }


@pytest.fixture(scope="session")
def demo_inputs(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Customer history and won/lost deals of the 1,500-customer demo company (seed 11).

    Read from a copy: DuckDB refuses other tests' read-write connections to a file this session
    holds open read-only."""
    copy = tmp_path_factory.mktemp("scoring-warehouse") / "analytics.duckdb"
    shutil.copy(demo_warehouse, copy)
    backend = ibis.duckdb.connect(str(copy), read_only=True)
    inputs = _inputs(CanonicalTables.from_backend(backend))
    inputs["backend"] = backend
    return inputs


@pytest.fixture(scope="session")
def null_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A null company of the same size: every planted effect shuffled away."""
    folder = tmp_path_factory.mktemp("null-company")
    generate_company(folder, accounts=1500, seed=NULL_SEED, null=True)
    backend = connect("duckdb://:memory:")
    files = [folder / f for f in ("accounts.csv", "deals.csv", "subscriptions.csv", "fx_rates.csv")]
    load_paths(backend, files)
    return _inputs(CanonicalTables.from_backend(backend))


@pytest.fixture(scope="session")
def trained(demo_inputs: dict[str, Any]) -> TrainedFit:
    return train_fit(demo_inputs["history"], demo_inputs["deals"], AS_OF)


def labelled(history: pd.DataFrame) -> pd.DataFrame:
    return history[history["first_year_churn"].notna()]

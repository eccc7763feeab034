"""The small demo company and a null company as account and deal frames, loaded once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from icploop.demo.generator import generate_company
from icploop.engine import connect
from icploop.ingest.load import load_paths
from icploop.segments.frames import account_frame, deal_frame

AS_OF = dt.date(2026, 10, 31)
FILES = ("accounts.csv", "deals.csv", "subscriptions.csv", "fx_rates.csv")
NULL_SEED = 202


def _frames(folder: Path) -> dict[str, Any]:
    backend = connect("duckdb://:memory:")
    load_paths(backend, [folder / f for f in FILES])
    frames = {
        "accounts": account_frame(backend, AS_OF),
        "deals": deal_frame(backend, dt.date(2000, 1, 1), AS_OF),
        "deals_table": backend.table("deals"),
    }
    return frames


@pytest.fixture(scope="session")
def demo_frames(demo_company: dict[str, Any]) -> dict[str, Any]:
    """The 1,500-customer demo company (seed 11): accounts, decided deals and the truth."""
    frames = _frames(Path(str(demo_company["folder"])))
    frames["truth"] = demo_company["truth"]
    return frames


@pytest.fixture(scope="session")
def null_frames(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A null company of the same size: every planted effect shuffled away."""
    folder = tmp_path_factory.mktemp("alignment-null")
    generate_company(folder, accounts=1500, seed=NULL_SEED, null=True)
    return _frames(folder)

"""A load under a memory limit: the staging copies spill to disk and the stored data is the same;
too little memory is a clear error that stores nothing; DuckDB's limit is back afterwards."""

from __future__ import annotations

from pathlib import Path

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ibis.backends import BaseBackend

from icploop.errors import IcploopError
from icploop.ingest.load import load_paths

from .conftest import ACCOUNTS, snapshot

FEATURES, DAYS = 100, 3000  # 2 accounts x 3000 days x 100 features = 600k distinct usage rows


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("large-usage")
    (folder / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    rng = np.random.default_rng(3)
    account, rest = np.divmod(np.arange(2 * DAYS * FEATURES), DAYS * FEATURES)
    day, feature = np.divmod(rest, FEATURES)
    pq.write_table(
        pa.table(
            {
                "account_id": np.array(["a1", "a2"])[account],
                "date": np.datetime64("2018-01-01") + day.astype("timedelta64[D]"),
                "feature": np.char.add("feature_", feature.astype(str)),
                "events": rng.integers(0, 1000, len(day)),
            }
        ),
        folder / "usage.parquet",
    )
    return folder


def _limit(backend: BaseBackend) -> str:
    return str(backend.raw_sql("SELECT current_setting('memory_limit')").fetchall()[0][0])


def _usage_digest(backend: BaseBackend) -> tuple[int, int]:
    row = backend.raw_sql("SELECT count(*), sum(hash(u)) FROM main.usage u").fetchall()[0]
    return int(row[0]), int(row[1])


def test_a_load_under_a_small_limit_stores_the_same_rows(company: Path, tmp_path: Path) -> None:
    free = ibis.duckdb.connect(str(tmp_path / "free.duckdb"))
    default_limit = _limit(free)
    load_paths(free, [company])
    tight = ibis.duckdb.connect(str(tmp_path / "tight.duckdb"))
    load_paths(tight, [company], memory_limit="64MB")
    assert _usage_digest(tight) == _usage_digest(free)
    assert _usage_digest(tight)[0] == 2 * DAYS * FEATURES
    assert _limit(tight) == default_limit


def test_too_little_memory_is_a_clear_error_and_stores_nothing(
    company: Path, tmp_path: Path
) -> None:
    backend = ibis.duckdb.connect(str(tmp_path / "analytics.duckdb"))
    default_limit = _limit(backend)
    load_paths(backend, [company / "accounts.csv"])
    before = snapshot(backend)
    with pytest.raises(IcploopError, match="ran out of memory under its limit of 1MB") as info:
        load_paths(backend, [company], memory_limit="1MB")
    assert "ICPLOOP_LOAD_MEMORY_LIMIT" in str(info.value.hint)
    assert snapshot(backend) == before
    assert _limit(backend) == default_limit


def test_a_limit_that_is_not_a_size_is_refused_before_reading(
    company: Path, tmp_path: Path
) -> None:
    backend = ibis.duckdb.connect(str(tmp_path / "analytics.duckdb"))
    with pytest.raises(IcploopError, match="is not a size"):
        load_paths(backend, [company], memory_limit="2GB'; DROP TABLE usage; --")

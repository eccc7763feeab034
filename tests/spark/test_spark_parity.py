"""The metric suite, the segment counts and the fit signals give the same numbers on Spark
(PySpark in local mode, through Ibis) as on DuckDB, on a small demo company.

The company is loaded into DuckDB as every load does, exported as Parquet the way the docs tell
(``EXPORT DATABASE ... (FORMAT parquet)``) and read by Spark through ``pyspark:///<folder>``.
One Spark session serves the whole module; it needs Java (skipped, saying so, without it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest

from icploop.engine import connect
from icploop.fit.config import FitConfig
from icploop.fit.signals import FitInputs
from icploop.fit.tagging import compute_fit
from icploop.ingest.paying import MovementSettings
from icploop.metrics.cohorts import cohort_triangles
from icploop.metrics.expansion import expansion_by_profile
from icploop.metrics.headline import headline
from icploop.metrics.ltv import segment_ltv
from icploop.metrics.movements import movements
from icploop.metrics.retention import retention
from icploop.metrics.survival import kaplan_meier
from icploop.segments import search
from icploop.segments.outcomes import account_outcomes
from icploop.spark import java_available, lake_tables
from icploop.warehouse import Warehouse

pytestmark = pytest.mark.spark

ACCOUNTS = 300
# local[2]: the CI machine's two cores; Spark's JVM keeps to a small heap for 300 accounts
SPARK_SETTINGS = "spark.master=local[2]&spark.driver.memory=1g&spark.sql.shuffle.partitions=2"


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Warehouse, Warehouse]]:
    """The demo company in DuckDB and, read from its Parquet export, in Spark."""
    if not java_available():
        pytest.skip("the Spark tests need a Java runtime (17+) on the PATH or in JAVA_HOME")
    from icploop.demo.generator import generate_company
    from icploop.ingest.load import load_paths

    folder = tmp_path_factory.mktemp("spark-parity")
    generate_company(folder / "data", accounts=ACCOUNTS, seed=11)
    duck = connect(f"duckdb://{folder / 'analytics.duckdb'}")
    load_paths(duck, [folder / "data"])
    lake = folder / "lake"
    duck.raw_sql(f"EXPORT DATABASE '{lake}' (FORMAT parquet)")
    spark = connect(f"pyspark://{lake}?{SPARK_SETTINGS}")
    yield Warehouse(duck), Warehouse(spark)
    duck.disconnect()
    spark.disconnect()


def same(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> None:
    """Equal frames up to row order and float rounding (the engines sum in different orders)."""
    assert len(a) > 0
    a = a.sort_values(keys).reset_index(drop=True)
    b = b.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False, rtol=1e-9)


def test_the_lake_holds_every_table_and_spark_sees_them(
    engines: tuple[Warehouse, Warehouse],
) -> None:
    duck, spark = engines
    assert spark.backend.name == "pyspark"
    loaded = {n for n in duck.names if not n.startswith("_")}
    assert loaded <= spark.names
    usage = (w.backend.table("usage").count().execute() for w in engines)
    assert next(usage) == next(usage) > 1000
    assert spark.data_end == duck.data_end


def test_metric_suite_agrees(engines: tuple[Warehouse, Warehouse]) -> None:
    duck, spark = engines
    as_of = duck.as_of(None)
    d, s = duck.tables, spark.tables
    assert headline(d, as_of) == headline(s, as_of)
    # the default movements are under retention; these are the other discount and return rules
    settings = MovementSettings("none", net_returns_within_days=45)
    a, b = (movements(t.mrr_monthly, as_of, settings).drop("month").to_pandas() for t in (d, s))
    same(a, b, ["account_id", "m"])
    for by, period in (((), "month"), (("close_cohort", "segment"), "quarter")):
        a, b = (retention(t, as_of, by=by, period=period) for t in (d, s))
        same(a.frame, b.frame, ["period", *by])
        assert a.caveats == b.caveats
    same(
        cohort_triangles(d, as_of).frame,
        cohort_triangles(s, as_of).frame,
        ["cohort", "months_since"],
    )
    same(expansion_by_profile(d, as_of, ["segment"]).frame,
         expansion_by_profile(s, as_of, ["segment"]).frame, ["segment"])  # fmt: skip
    same(kaplan_meier(d, as_of, "segment").summary, kaplan_meier(s, as_of, "segment").summary,
         ["group"])  # fmt: skip
    same(segment_ltv(d, as_of, "segment").frame, segment_ltv(s, as_of, "segment").frame, ["group"])


def test_segment_counts_agree_in_the_engine(
    engines: tuple[Warehouse, Warehouse], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Account outcomes computed by each engine, then segment search with its counting kept in
    the engine (grouping sets, quantiles, value counts and ranks there, not in numpy)."""
    duck, spark = engines
    as_of = duck.as_of(None)
    a, b = (account_outcomes(w.tables, as_of) for w in (duck, spark))
    same(a, b, ["account_id"])
    monkeypatch.setattr(search, "LOCAL_MAX_ROWS", 0)
    found: list[Any] = []
    frame = ibis.memtable(
        a[["account_id", "first_year_churn", "nrr_12m", "segment", "industry", "seats_at_close"]]
    )
    for backend in (duck.backend, spark.backend):
        # a view on Spark: Ibis's PySpark backend has no temporary tables
        make = backend.create_view if backend.name == "pyspark" else backend.create_table
        table = make("parity_outcomes", frame, overwrite=True)  # type: ignore[attr-defined]
        found.append(
            [
                search.search_segments(
                    table,
                    "first_year_churn",
                    ["segment", "industry"],
                    ["seats_at_close"],
                    depth=2,
                    min_support=10,
                ),
                search.search_segments(
                    table,
                    "nrr_12m",
                    ["segment", "industry"],
                    depth=2,
                    outcome_kind="continuous",
                    higher_is="good",
                    min_support=10,
                ),
            ]
        )
    for x, y in zip(*found, strict=True):
        assert x.n_candidates == y.n_candidates > 0
        assert x.caveats == y.caveats
        same(x.segments, y.segments, ["segment"])


def test_fit_signals_and_tags_agree(engines: tuple[Warehouse, Warehouse]) -> None:
    duck, spark = engines
    as_of = duck.as_of(None)
    names = FitInputs.__dataclass_fields__
    a, b = (
        compute_fit(FitInputs(**{n: w.backend.table(n) for n in names}), as_of, FitConfig())
        for w in (duck, spark)
    )
    assert len(a) > 100 and a["events_0_30"].sum() > 0  # real usage is compared
    lists = ["committed_inactive", "criteria_missed", "use_cases_used"]
    columns = [c for c in a.columns if c not in lists]
    same(a[columns], b[columns], ["account_id"])
    for column in set(lists) & set(a.columns):
        assert [sorted(x) if isinstance(x, list | np.ndarray) else x for x in a[column]] == [
            sorted(x) if isinstance(x, list | np.ndarray) else x for x in b[column]
        ]


def test_a_missing_lake_or_java_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from icploop.errors import IcploopError

    with pytest.raises(IcploopError, match=r"lake folder .* does not exist"):
        connect(f"pyspark://{tmp_path / 'nowhere'}")
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(IcploopError, match="Java runtime"):
        connect(f"pyspark://{tmp_path}")


def test_lake_tables_are_parquet_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "mrr_monthly.parquet").write_bytes(b"")
    (tmp_path / "usage.parquet").mkdir()
    (tmp_path / "schema.sql").write_text("")
    (tmp_path / "_icploop_loads.parquet").write_bytes(b"")
    assert list(lake_tables(tmp_path)) == ["mrr_monthly", "usage"]

"""The analytics warehouse on Spark (PySpark through Ibis).

``ICPLOOP_ANALYTICS_URL=pyspark:///path/to/lake?spark.master=local[4]`` opens a Spark session
(local mode unless the URL or the environment names a master) and, when the URL has a path,
registers every table of that folder as a view of the session: ``<name>.parquet`` (a file or a
folder of part files, as Spark and ``duckdb EXPORT DATABASE ... (FORMAT parquet)`` write them)
becomes table ``<name>``. Without a path the session's own catalog is read (a metastore on a
cluster, or Unity Catalog on Databricks). The query parameters are Spark settings.

Spark is read-only for icploop: loading validates and writes through DuckDB (see
``docs/warehouses.md``). PySpark is the optional extra ``icploop[spark]`` and needs Java 17+.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlparse

from ibis.backends import BaseBackend

from icploop.errors import IcploopError

#: Spark settings icploop applies unless the URL sets them: no progress bar in the command's own
#: output, no web UI (a port per process), and few shuffle partitions (icploop's aggregates are
#: small; Spark's default of 200 costs seconds per query in local mode)
DEFAULTS = {
    "spark.ui.showConsoleProgress": "false",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
}
TABLE_SUFFIX = ".parquet"


def register_rules() -> None:
    """Compile Ibis's ``bit_or`` aggregate to Spark SQL's ``bit_or`` (Spark 3.0+).

    Ibis 12's PySpark compiler has no rule for it, and the fit signals collect active days and
    use cases as bits with it (see :func:`icploop.fit.signals.usage_features`)."""
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler

    def visit_bit_or(self: Any, op: Any, *, arg: Any, where: Any, **_: Any) -> Any:
        return self.agg.bit_or(arg, where=where)

    PySparkCompiler.visit_BitOr = visit_bit_or


def java_available() -> bool:
    """Whether a Java runtime is on the PATH or named by JAVA_HOME (PySpark starts one)."""
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and (Path(home) / "bin" / "java").exists()))


def connect_spark(url: str) -> BaseBackend:
    """An Ibis PySpark backend for a ``pyspark://[/lake/folder][?spark.setting=value...]`` URL."""
    parsed = urlparse(url)
    lake = Path(unquote(parsed.path)) if parsed.path not in ("", "/") else None
    settings = {**DEFAULTS, **dict(parse_qsl(parsed.query))}
    if lake is not None and not lake.is_dir():
        raise IcploopError(
            f"the Spark lake folder {lake} does not exist",
            "give the folder holding one <table>.parquet per canonical table",
        )
    try:
        import ibis
        from pyspark.sql import SparkSession
    except ImportError:
        raise IcploopError(
            "the pyspark analytics URL needs PySpark",
            "install icploop's Spark extra: pip install 'icploop[spark]'",
        ) from None
    if not java_available():
        raise IcploopError(
            "Spark needs a Java runtime (17 or later) and none was found",
            "install one (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME",
        )
    register_rules()
    builder: Any = SparkSession.builder.appName("icploop")
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    backend = ibis.pyspark.connect(session)
    if lake is not None:
        register_lake(session, lake)
    return backend


def lake_tables(lake: Path) -> dict[str, Path]:
    """The tables of a lake folder: name -> its Parquet file or folder (sorted by name)."""
    return {
        path.name.removesuffix(TABLE_SUFFIX): path
        for path in sorted(lake.iterdir())
        if path.name.endswith(TABLE_SUFFIX) and not path.name.startswith((".", "_"))
    }


def register_lake(session: Any, lake: Path) -> list[str]:
    """Register each table of ``lake`` as a temporary view of ``session``; the names.

    An empty table (a Parquet file without rows, whose schema Spark cannot infer) gets an
    empty view with the file's own schema, so an analysis sees "no rows", not "no table"."""
    import ibis
    import pyarrow.parquet as pq
    from ibis.backends.pyspark.datatypes import PySparkSchema

    names = []
    for name, path in lake_tables(lake).items():
        files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
        if files and sum(pq.ParquetFile(f).metadata.num_rows for f in files) == 0:
            schema = ibis.Schema.from_pyarrow(pq.read_schema(files[0]))
            frame = session.createDataFrame([], PySparkSchema.from_ibis(schema))
        else:
            frame = session.read.parquet(str(path))
        frame.createOrReplaceTempView(name)
        names.append(name)
    return names

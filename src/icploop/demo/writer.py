"""Chunked writing of the demo tables as CSV or Parquet, in the canonical column order.

Each table is written in pieces as the generator produces them, so memory stays bounded by one
chunk of accounts whatever the company's size. Columns are checked against the canonical schema
(plus the account extra attributes) so a typo cannot silently produce a non-canonical file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from icploop.ingest.schema import TABLES

EXTRA_ACCOUNT_COLUMNS = ("plan_tier", "crm_system")


def column_order(table: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The columns the demo writes for a canonical table (``extra``: a variant's own extra
    account columns)."""
    names = TABLES[table].column_names
    return names + EXTRA_ACCOUNT_COLUMNS + extra if table == "accounts" else names


class TableWriter:
    """Appends record batches of one table to a CSV or Parquet file."""

    def __init__(
        self,
        out_dir: Path,
        table: str,
        fmt: Literal["csv", "parquet"] = "csv",
        extra: tuple[str, ...] = (),
    ) -> None:
        self.table = table
        self.path = out_dir / f"{table}.{fmt}"
        self.fmt = fmt
        self.rows = 0
        self._writer: pacsv.CSVWriter | pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._columns = column_order(table, extra)

    def write(self, columns: dict[str, Any]) -> None:
        """Write one piece; missing canonical columns are written blank."""
        unknown = set(columns) - set(self._columns)
        if unknown:
            raise KeyError(f"{self.table}: not canonical columns {sorted(unknown)}")
        n = len(next(iter(columns.values())))
        arrays = [_arrow(columns.get(c), n) for c in self._columns]
        batch = pa.table(arrays, names=list(self._columns))
        if self._writer is None or self._schema is None:
            # the first piece fixes the types; a later all-blank column is cast to them
            self._schema = batch.schema
            if self.fmt == "csv":
                options = pacsv.WriteOptions(quoting_style="needed")
                self._writer = pacsv.CSVWriter(self.path, batch.schema, write_options=options)
            else:
                self._writer = pq.ParquetWriter(self.path, batch.schema, compression="zstd")
        self._writer.write_table(batch.cast(self._schema))
        self.rows += n

    def close(self) -> None:
        """Finish the file (an empty table still gets its header)."""
        if self._writer is None:
            empty = {c: pa.array([], pa.string()) for c in self._columns}
            if self.fmt == "csv":
                pacsv.write_csv(pa.table(empty), self.path)
            else:
                pq.write_table(pa.table(empty), self.path)
            return
        self._writer.close()


def _arrow(values: Any, n: int) -> pa.Array:
    if values is None:
        return pa.nulls(n, pa.string())
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        return pa.array(arr.astype("datetime64[D]"), type=pa.date32())
    if arr.dtype.kind == "f":
        # money and rates: two decimals are what a billing export carries
        return pa.array(np.round(arr, 4), type=pa.float64())
    return pa.array(arr)


def masked(values: Any, mask: np.ndarray) -> pa.Array:
    """An arrow array with nulls (blank cells) where ``mask`` is true."""
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        return pa.array(arr.astype("datetime64[D]"), type=pa.date32(), mask=mask)
    return pa.array(arr, mask=mask)


def pick(choices: tuple[str, ...] | list[str], idx: np.ndarray) -> pa.Array:
    """Strings ``choices[idx]`` as an arrow array without building Python strings per row."""
    return pa.array(list(choices), pa.string()).take(pa.array(np.asarray(idx, dtype=np.int64)))

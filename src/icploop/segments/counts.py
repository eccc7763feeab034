"""Counting in the engine: the few aggregate queries segment search needs.

1. ``overview``: accounts, outcome sum and sum of squares, and the quantiles of numeric
   attributes - one aggregate.
2. ``value_counts``: accounts per value of each categorical attribute - one union of group-bys.
3. ``segment_counts``: accounts, outcome sum and centred sum of squares per combination of codes
   of every set of ``depth`` attributes - one union of group-bys (one branch per attribute set).
   Lower depths are margins of these tables, so they need no query of their own. Everything
   after this runs in numpy on the small aggregates.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import sqlglot

from icploop.segments.selectors import AttributeCoding

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Overview:
    n: int
    total: float  # sum of the outcome (events for a binary outcome)
    sum_sq: float  # sum of squared outcome
    minimum: float
    maximum: float
    quantiles: dict[str, list[float | None]]

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else float("nan")

    @property
    def variance(self) -> float:
        """Sample variance (ddof 1) of the outcome over all accounts."""
        if self.n < 2:
            return float("nan")
        return max(0.0, (self.sum_sq - self.total**2 / self.n) / (self.n - 1))


def outcome_value(table: ir.Table, outcome: str) -> ir.FloatingValue:
    return table[outcome].cast("float64")


def overview(
    table: ir.Table, outcome: str, numeric: Sequence[str], probabilities: Sequence[float]
) -> Overview:
    """Totals of the outcome and quantiles of each numeric attribute, in one aggregate."""
    y = outcome_value(table, outcome)
    aggs: dict[str, ir.Scalar] = {
        "n": y.count(),
        "total": y.sum(),
        "sum_sq": (y * y).sum(),
        "minimum": y.min(),
        "maximum": y.max(),
    }
    for i, name in enumerate(numeric):
        for j, q in enumerate(probabilities):
            aggs[f"q_{i}_{j}"] = table[name].cast("float64").quantile(q)
    row = table.aggregate(**aggs).to_pandas().iloc[0]
    quantiles = {
        name: [_float_or_none(row[f"q_{i}_{j}"]) for j in range(len(probabilities))]
        for i, name in enumerate(numeric)
    }
    return Overview(
        n=int(row["n"]),
        total=float(row["total"] or 0.0),
        sum_sq=float(row["sum_sq"] or 0.0),
        minimum=float(row["minimum"]) if row["n"] else float("nan"),
        maximum=float(row["maximum"]) if row["n"] else float("nan"),
        quantiles=quantiles,
    )


def _float_or_none(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f


def value_counts(table: ir.Table, attributes: Sequence[str]) -> dict[str, dict[Any, int]]:
    """Accounts per value (as text; None for missing) of each attribute, in one query."""
    if not attributes:
        return {}
    parts = [
        table.select(attribute=ibis.literal(a), value=table[a].cast("string"))
        .group_by("attribute", "value")
        .aggregate(n=ibis._.count())
        for a in attributes
    ]
    frame = ibis.union(*parts).to_pandas()
    out: dict[str, dict[Any, int]] = {a: {} for a in attributes}
    for a, v, n in frame.itertuples(index=False):
        out[a][None if v is None or (isinstance(v, float) and np.isnan(v)) else v] = int(n)
    return out


@dataclass(frozen=True)
class SegmentCounts:
    """Sums per segment: selectors as global selector ids (-1 padding), n, sum and centred
    sum of squares of the outcome."""

    selectors: IntArray  # segments x max depth
    depth: IntArray
    n: FloatArray
    total: FloatArray
    sum_sq: FloatArray  # sum of (y - centre)^2
    n_selectors: int
    all_n: float  # the same sums over every account with an outcome
    all_total: float
    all_sum_sq: float


def segment_counts(
    table: ir.Table,
    outcome: str,
    codings: Sequence[AttributeCoding],
    depth: int,
    centre: float,
) -> SegmentCounts:
    """Counts for every conjunction of up to ``depth`` selectors on distinct attributes."""
    depth = max(1, min(depth, len(codings)))
    combos = list(itertools.combinations(range(len(codings)), depth))
    coded = table.mutate(
        _y=outcome_value(table, outcome) - centre,
        **{f"_c{i}": c.code_expr(table) for i, c in enumerate(codings)},
    )
    sizes = [int(np.prod([codings[a].n_codes for a in combo])) for combo in combos]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    try:
        combo_idx, keys, sums = _grouping_sets(coded, codings, combos)
    except Exception:  # backends without GROUPING SETS: one group-by per attribute set
        combo_idx, keys, sums = _union_of_group_bys(coded, codings, combos)
    flat = offsets[combo_idx] + keys
    dense = [
        np.asarray(np.bincount(flat, weights=w, minlength=int(offsets[-1])), dtype=np.float64)
        for w in sums
    ]
    return _expand(codings, combos, offsets, dense, depth)


Sums = tuple[IntArray, IntArray, list[FloatArray]]


def _grouping_sets(
    coded: ir.Table, codings: Sequence[AttributeCoding], combos: list[tuple[int, ...]]
) -> Sums:
    """One scan with GROUPING SETS (DuckDB, PostgreSQL, Snowflake, BigQuery, Trino, Spark).

    Ibis has no grouping sets, so the coded table is compiled by Ibis and wrapped in SQL that
    names only columns generated here (``_c0``.., ``_y``), quoted for the backend's dialect.
    Codes are never NULL, so the NULL pattern of a row tells which attribute set it belongs to.
    """
    backend = coded.get_backend()
    dialect = backend.compiler.dialect
    names = [f"_c{i}" for i in range(len(codings))]
    q = {n: sqlglot.exp.to_identifier(n, quoted=True).sql(dialect) for n in [*names, "_y", "_t"]}
    inner = ibis.to_sql(coded.select(*names, "_y"), dialect=backend.name)
    sets = ", ".join("(" + ", ".join(q[names[a]] for a in combo) + ")" for combo in combos)
    cols = ", ".join(q[n] for n in names)
    sql = (
        f"SELECT {cols}, COUNT(*) AS n, SUM({q['_y']}) AS s1, SUM({q['_y']} * {q['_y']}) AS s2 "  # noqa: S608 - generated identifiers only
        f"FROM ({inner}) AS {q['_t']} GROUP BY GROUPING SETS ({sets})"
    )
    frame = _run_sql(backend, sql)
    codes = (
        np.stack(
            [np.asarray(frame[n].to_numpy(zero_copy_only=False), dtype=np.float64) for n in names]
        )
        if names
        else np.zeros((0, frame.num_rows))
    )
    present = ~np.isnan(codes)
    bits = (present * (1 << np.arange(len(names)))[:, None]).sum(axis=0)
    combo_of_bits = {sum(1 << a for a in combo): ci for ci, combo in enumerate(combos)}
    combo_idx = np.array([combo_of_bits[int(b)] for b in bits], dtype=np.int64)
    keys = np.zeros(frame.num_rows, dtype=np.int64)
    for ci, combo in enumerate(combos):
        rows = combo_idx == ci
        key = np.zeros(int(rows.sum()), dtype=np.int64)
        for a in combo:
            key = key * codings[a].n_codes + codes[a, rows].astype(np.int64)
        keys[rows] = key
    return combo_idx, keys, [_column(frame[c]) for c in ("n", "s1", "s2")]


def _run_sql(backend: Any, sql: str) -> Any:
    """Run generated SQL and fetch every row as Arrow."""
    if backend.name == "duckdb":
        # Ibis 12's own path calls a fetch method DuckDB 2.0 no longer has; fetch all rows
        # through the relation API, which also leaves the connection free for the next query.
        return backend.con.sql(sql).to_arrow_table()
    return backend.sql(sql).to_pyarrow()


def _union_of_group_bys(
    coded: ir.Table, codings: Sequence[AttributeCoding], combos: list[tuple[int, ...]]
) -> Sums:
    """Portable fallback: a union of one group-by per attribute set (slower to compile/run)."""
    parts = []
    for ci, combo in enumerate(combos):
        key: ir.IntegerValue = ibis.literal(0, type="int64")
        for a in combo:
            key = key * codings[a].n_codes + coded[f"_c{a}"].cast("int64")
        parts.append(
            coded.select(_k=key, _y=coded._y)
            .group_by("_k")
            .aggregate(n=ibis._.count(), s1=ibis._._y.sum(), s2=(ibis._._y * ibis._._y).sum())
            .mutate(combo=ibis.literal(ci, type="int32"))
        )
    frame = ibis.union(*parts).to_pyarrow()
    combo_idx = np.asarray(frame["combo"].to_numpy(), dtype=np.int64)
    keys = np.asarray(frame["_k"].to_numpy(), dtype=np.int64)
    return combo_idx, keys, [_column(frame[c]) for c in ("n", "s1", "s2")]


def _column(col: Any) -> FloatArray:
    """An Arrow column as float64, nulls (sums over empty groups) as 0."""
    return np.nan_to_num(np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64))


def _expand(
    codings: Sequence[AttributeCoding],
    combos: list[tuple[int, ...]],
    offsets: IntArray,
    dense: list[FloatArray],
    depth: int,
) -> SegmentCounts:
    """From code tables of the top-depth attribute sets to selector counts at every depth."""
    totals = tuple(float(arr[offsets[0] : offsets[1]].sum()) for arr in dense)
    sel_offset = np.concatenate([[0], np.cumsum([c.matrix.shape[0] for c in codings])])
    source: dict[tuple[int, ...], tuple[int, tuple[int, ...]]] = {}
    for ci, combo in enumerate(combos):
        for d in range(1, depth + 1):
            for sub in itertools.combinations(combo, d):
                source.setdefault(sub, (ci, combo))
    sels, depths, sums = [], [], [[], [], []]  # type: ignore[var-annotated]
    for sub, (ci, combo) in source.items():
        shape = tuple(codings[a].n_codes for a in combo)
        drop = tuple(i for i, a in enumerate(combo) if a not in sub)
        local_shape = tuple(codings[a].matrix.shape[0] for a in sub)
        if 0 in local_shape:
            continue
        for s, arr in enumerate(dense):
            t = arr[offsets[ci] : offsets[ci + 1]].reshape(shape)
            if drop:
                t = t.sum(axis=drop)
            for axis, a in enumerate(sub):
                t = np.moveaxis(np.tensordot(t, codings[a].matrix, axes=([axis], [1])), -1, axis)
            sums[s].append(t.ravel())
        idx = np.indices(local_shape).reshape(len(sub), -1).T
        glob = idx + sel_offset[list(sub)]
        pad = np.full((glob.shape[0], depth), -1, dtype=np.int64)
        pad[:, : len(sub)] = glob
        sels.append(pad)
        depths.append(np.full(glob.shape[0], len(sub), dtype=np.int64))
    if not sels:
        empty = np.zeros(0)
        return SegmentCounts(
            np.zeros((0, depth), np.int64), np.zeros(0, np.int64), empty, empty, empty, 0, *totals
        )
    return SegmentCounts(
        selectors=np.concatenate(sels),
        depth=np.concatenate(depths),
        n=np.concatenate(sums[0]),
        total=np.concatenate(sums[1]),
        sum_sq=np.concatenate(sums[2]),
        n_selectors=int(sel_offset[-1]),
        all_n=totals[0],
        all_total=totals[1],
        all_sum_sq=totals[2],
    )

"""Counting in the engine: the few aggregate queries segment search needs.

1. ``overview``: accounts, outcome sum and sum of squares, and the quantiles of numeric
   attributes - one aggregate.
2. ``value_counts``: accounts per value of each categorical attribute - one union of group-bys.
3. ``segment_counts``: accounts, outcome sum and centred sum of squares per combination of codes
   of every set of ``depth`` attributes - one union of group-bys (one branch per attribute set).
   Lower depths are margins of these tables, so they need no query of their own. Everything
   after this runs in numpy on the small aggregates.

For tables up to ``LOCAL_MAX_ROWS`` rows, ``fetch_columns`` replaces all three: one narrow
projection (outcome, categorical attributes as text, numeric ones as float64) comes back as Arrow
and ``local_overview``, ``local_value_counts`` and ``local_segment_counts`` give the same numbers
in numpy. Why: 220 grouping sets (12 attributes, depth 3) and exact quantiles cost DuckDB seconds
at 1M accounts, while the projection is a few bytes per account and a ``bincount`` over small
integer codes per attribute set takes milliseconds. Larger tables stay in the engine.
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
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot

from icploop.segments.selectors import AttributeCoding

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Above this many accounts counting stays in the engine (grouping sets), so memory stays small.
LOCAL_MAX_ROWS = 20_000_000


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
    # the three sums ride together on a last axis: one margin and one product per selector axis
    stacked = np.stack(dense, axis=-1)
    sels, depths, sums = [], [], []
    for sub, (ci, combo) in source.items():
        shape = tuple(codings[a].n_codes for a in combo)
        drop = tuple(i for i, a in enumerate(combo) if a not in sub)
        local_shape = tuple(codings[a].matrix.shape[0] for a in sub)
        if 0 in local_shape:
            continue
        t = stacked[offsets[ci] : offsets[ci + 1]].reshape(*shape, len(dense))
        if drop:
            t = t.sum(axis=drop)
        for axis, a in enumerate(sub):
            t = np.moveaxis(np.tensordot(codings[a].matrix, t, axes=([1], [axis])), 0, axis)
        sums.append(t.reshape(-1, len(dense)))
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
    flat = np.concatenate(sums)
    return SegmentCounts(
        selectors=np.concatenate(sels),
        depth=np.concatenate(depths),
        n=np.ascontiguousarray(flat[:, 0]),
        total=np.ascontiguousarray(flat[:, 1]),
        sum_sq=np.ascontiguousarray(flat[:, 2]),
        n_selectors=int(sel_offset[-1]),
        all_n=totals[0],
        all_total=totals[1],
        all_sum_sq=totals[2],
    )


# --- local counting: one narrow fetch, then numpy -------------------------------------------


@dataclass(frozen=True)
class Columns:
    """The projection segment search needs, one entry per account with an outcome.

    ``categorical`` holds each attribute dictionary-encoded: the distinct values as text and
    one index per account (-1 for missing).
    """

    y: FloatArray
    categorical: dict[str, tuple[list[str], npt.NDArray[np.int32]]]
    numeric: dict[str, FloatArray]


def row_count(table: ir.Table) -> int:
    """Number of rows of ``table`` (one cheap aggregate)."""
    return int(table.count().execute())


def fetch_columns(
    table: ir.Table, outcome: str, categorical: Sequence[str], numeric: Sequence[str]
) -> Columns:
    """Fetch the outcome (float64), categorical attributes (as text, the same cast the engine
    path uses) and numeric attributes (float64) of every row, as Arrow, in one query."""
    cols: dict[str, ir.Value] = {"_y": outcome_value(table, outcome)}
    cols.update({f"_a{i}": table[a].cast("string") for i, a in enumerate(categorical)})
    cols.update({f"_n{i}": table[a].cast("float64") for i, a in enumerate(numeric)})
    expr = table.select(**cols)
    backend = expr.get_backend()
    if backend.name == "duckdb":
        arrow = _run_sql(backend, ibis.to_sql(expr, dialect="duckdb"))
    else:
        arrow = expr.to_pyarrow()
    cats: dict[str, tuple[list[str], npt.NDArray[np.int32]]] = {}
    for i, a in enumerate(categorical):
        enc = pc.dictionary_encode(arrow[f"_a{i}"]).combine_chunks()
        idx = np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), np.int32)
        cats[a] = (enc.dictionary.to_pylist(), idx)
    return Columns(
        y=_float_column(arrow["_y"]),
        categorical=cats,
        numeric={a: _float_column(arrow[f"_n{i}"]) for i, a in enumerate(numeric)},
    )


def _float_column(col: pa.ChunkedArray) -> FloatArray:
    """An Arrow column as float64 with nulls as NaN."""
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)


def local_overview(cols: Columns, probabilities: Sequence[float]) -> Overview:
    """``overview`` from fetched columns; quantiles interpolate linearly, as DuckDB's
    ``quantile_cont`` and numpy's default do."""
    y = cols.y
    quantiles: dict[str, list[float | None]] = {}
    for name, x in cols.numeric.items():
        x = x[~np.isnan(x)]
        qs = np.quantile(x, list(probabilities)) if x.size else [None] * len(probabilities)
        quantiles[name] = [_float_or_none(q) for q in qs]
    n = int(y.size)
    return Overview(
        n=n,
        total=float(y.sum()),
        sum_sq=float((y * y).sum()),
        minimum=float(y.min()) if n else float("nan"),
        maximum=float(y.max()) if n else float("nan"),
        quantiles=quantiles,
    )


def local_value_counts(cols: Columns) -> dict[str, dict[Any, int]]:
    """``value_counts`` from fetched columns (None for missing)."""
    out: dict[str, dict[Any, int]] = {}
    for a, (values, idx) in cols.categorical.items():
        counts = np.bincount(idx + 1, minlength=len(values) + 1)
        found: dict[Any, int] = {v: int(c) for v, c in zip(values, counts[1:], strict=True) if c}
        if counts[0]:
            found[None] = int(counts[0])
        out[a] = found
    return out


def local_codes(cols: Columns, codings: Sequence[AttributeCoding]) -> list[IntArray]:
    """Each account's code per attribute, exactly as ``AttributeCoding.code_expr`` defines it."""
    out = []
    for c in codings:
        other = c.n_codes - 1
        if c.numeric:
            x = cols.numeric[c.name]
            # code i holds cuts[i-1] <= x < cuts[i]: the number of cuts at or below x
            code = np.searchsorted(np.asarray(c.cuts, dtype=np.float64), x, side="right")
            code = np.where(np.isnan(x), other, code)
        else:
            values, idx = cols.categorical[c.name]
            lookup = np.full(len(values) + 1, other, dtype=np.int64)  # slot 0: missing
            position = {v: i for i, v in enumerate(c.values)}
            lookup[0] = position.get(None, other)
            for j, v in enumerate(values):
                lookup[j + 1] = position.get(v, other)
            code = lookup[idx + 1]
        out.append(np.asarray(code, dtype=np.int64))
    return out


def local_segment_counts(
    cols: Columns, codings: Sequence[AttributeCoding], depth: int, centre: float, binary: bool
) -> SegmentCounts:
    """``segment_counts`` in numpy: one ``bincount`` per set of ``depth`` attributes.

    Keys are mixed-radix numbers over the attribute codes in the smallest integer type that
    holds them (memory traffic, not arithmetic, is the cost); prefixes shared by several sets
    are computed once. A 0/1 outcome rides in the key's last digit, so one unweighted count
    gives both accounts and events, and the sum of squares equals the sum (centre is 0).
    """
    depth = max(1, min(depth, len(codings)))
    combos = list(itertools.combinations(range(len(codings)), depth))
    sizes = [int(np.prod([codings[a].n_codes for a in combo])) for combo in combos]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    largest = max(sizes) * (2 if binary else 1)
    dtype = np.int16 if largest < 2**15 else np.int32 if largest < 2**31 else np.int64
    # python ints keep the small dtype under NumPy 2's promotion rules
    codes: list[npt.NDArray[Any]] = [c.astype(dtype) for c in local_codes(cols, codings)]
    binary = binary and bool(np.all((cols.y == 0) | (cols.y == 1))) and centre == 0
    y_bit = cols.y.astype(dtype) if binary else None
    yc = cols.y - centre
    yc2 = yc * yc
    # combinations come in lexicographic order, so a prefix is reused by consecutive sets
    # only: keeping the last one bounds memory to one key array
    prefix: tuple[tuple[int, ...], npt.NDArray[Any] | None] = ((), None)
    dense: list[FloatArray] = [np.zeros(int(offsets[-1])) for _ in range(3)]
    for ci, combo in enumerate(combos):
        head = combo[:-1]
        key: npt.NDArray[Any] | None = prefix[1] if prefix[0] == head else None
        if key is None and head:
            key = codes[head[0]]
            for a in head[1:]:
                key = key * codings[a].n_codes + codes[a]
            prefix = (head, key)
        last = combo[-1]
        key = codes[last] if key is None else key * codings[last].n_codes + codes[last]
        lo, hi = int(offsets[ci]), int(offsets[ci + 1])
        if binary:
            assert y_bit is not None
            both = np.bincount(key * 2 + y_bit, minlength=2 * sizes[ci]).reshape(-1, 2)
            dense[0][lo:hi] = both.sum(axis=1)
            dense[1][lo:hi] = both[:, 1]
            dense[2][lo:hi] = both[:, 1]
        else:
            dense[0][lo:hi] = np.bincount(key, minlength=sizes[ci])
            dense[1][lo:hi] = np.bincount(key, weights=yc, minlength=sizes[ci])
            dense[2][lo:hi] = np.bincount(key, weights=yc2, minlength=sizes[ci])
    return _expand(codings, combos, offsets, dense, depth)

"""Applying a mapping in SQL: from a raw staged file to the canonical columns, still as text.

Every canonical column of the table becomes one SQL expression over the raw text columns; user
values (constants, value maps, formats, anchors) are bound parameters and source column names
are quoted with ``ident``. The result is a temp table with the canonical columns (VARCHAR), the
file label ``_file`` and the spreadsheet row ``_row``; types are checked later, by validation.
"""

# SQL here is assembled from schema names, generated temp-table names and ident()-quoted
# column names; every user value is a bound parameter (see icploop.ingest.sql).
# ruff: noqa: S608

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from icploop.errors import Problem
from icploop.ingest.mapping import ColumnSpec
from icploop.ingest.read import StagedFile
from icploop.ingest.schema import TABLES
from icploop.ingest.sql import ident


@dataclass
class Mapped:
    """A file mapped onto its table: temp table ``name``, and where each column came from."""

    staged: StagedFile
    name: str
    sources: dict[str, str] = field(default_factory=dict)  # canonical -> source column label
    present: set[str] = field(default_factory=set)  # canonical columns the file provides
    dropped: int = 0
    extra: list[str] = field(default_factory=list)  # source columns kept as attributes
    ignored: list[str] = field(default_factory=list)  # source columns not used


def snake(name: str) -> str:
    """``"Annual Revenue ($)"`` -> ``annual_revenue``: attribute names as segment dimensions."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_") or "column"


def _blank(expr: str) -> str:
    return f"NULLIF(TRIM({expr}), '')"


def bind(params: list[Any], value: Any) -> str:
    """Append a bound value and return its numbered placeholder (reusable in one statement)."""
    params.append(value)
    return f"${len(params)}"


def _spec_expr(spec: ColumnSpec, params: list[Any]) -> str:
    """The SQL (VARCHAR) for one column spec; transforms keep unparseable text for validation."""
    if spec.constant is not None:
        x = f"CAST({bind(params, str(spec.constant))} AS VARCHAR)"
    else:
        x = _blank(ident(spec.column or ""))
    if spec.values:
        cases = []
        for source_value, target in spec.values.items():
            when = bind(params, str(source_value))
            then = bind(params, None if target is None else str(target))
            cases.append(f"WHEN {when} THEN CAST({then} AS VARCHAR)")
        other = x
        if spec.otherwise is not None:
            other = f"CASE WHEN {x} IS NULL THEN NULL ELSE CAST({bind(params, str(spec.otherwise))} AS VARCHAR) END"
        x = f"CASE {x} {' '.join(cases)} ELSE {other} END"
    if spec.months_before is not None:
        anchor = bind(params, spec.months_before.isoformat())
        n = f"TRY_CAST({x} AS INTEGER)"
        x = (
            f"CASE WHEN {n} IS NULL THEN {x} ELSE "
            f"CAST(CAST(CAST({anchor} AS DATE) - to_months({n}) AS DATE) AS VARCHAR) END"
        )
    if spec.date_format is not None:
        fmt = bind(params, spec.date_format)
        x = (
            f"CASE WHEN TRY_STRPTIME({x}, {fmt}) IS NULL THEN {x} "
            f"ELSE CAST(CAST(TRY_STRPTIME({x}, {fmt}) AS DATE) AS VARCHAR) END"
        )
    if spec.multiply_by is not None or spec.divide_by is not None:
        num = f"TRY_CAST({x} AS DOUBLE)"
        scaled = num
        if spec.multiply_by is not None:
            scaled = f"({scaled} * CAST({bind(params, spec.multiply_by)} AS DOUBLE))"
        if isinstance(spec.divide_by, str):
            scaled = f"({scaled} / NULLIF(TRY_CAST({_blank(ident(spec.divide_by))} AS DOUBLE), 0))"
        elif spec.divide_by is not None:
            scaled = f"({scaled} / CAST({bind(params, spec.divide_by)} AS DOUBLE))"
        x = f"CASE WHEN {num} IS NULL THEN {x} ELSE CAST(ROUND({scaled}, 6) AS VARCHAR) END"
    if spec.split is not None:
        sep = bind(params, spec.split)
        x = (
            f"NULLIF(array_to_string(list_filter(list_transform(string_split({x}, {sep}), "
            f"s -> TRIM(s)), s -> s <> ''), ';'), '')"
        )
    if spec.default is not None:
        x = f"COALESCE({x}, CAST({bind(params, str(spec.default))} AS VARCHAR))"
    return x


def apply_mapping(con: Any, staged: StagedFile, index: int, problems: list[Problem]) -> Mapped:
    """Create temp table ``_map_<index>``: the canonical columns of the file's table as text.

    Without a mapping entry, header names that are canonical column names are used as they
    are. Rows matching the entry's ``drop_if_blank`` are dropped and counted in ``dropped``.
    """
    source = staged.source
    table = TABLES[source.table]
    entry = source.entry
    by_lower = {h.strip().lower(): h for h in staged.header}
    out = Mapped(staged, f"_map_{index}")
    specs: dict[str, ColumnSpec] = {}
    if entry is None:
        for col in table.column_names:
            if col in by_lower:
                specs[col] = ColumnSpec(column=by_lower[col])
    else:
        specs = dict(entry.columns)
    used: set[str] = set()
    for col, spec in specs.items():
        for name in (spec.column, spec.divide_by if isinstance(spec.divide_by, str) else None):
            if name is None:
                continue
            if name.strip().lower() not in by_lower:
                problems.append(
                    Problem(
                        source.label,
                        1,
                        name,
                        None,
                        f"a column {name!r} (mapped to {table.name}.{col})",
                    )
                )
                continue
            used.add(name.strip().lower())
        if spec.column is not None:
            out.sources[col] = spec.column
    unused = [h for h in staged.header if h.strip().lower() not in used]
    keep_extra = (entry is None and table.keeps_extra_columns) or (
        entry is not None and entry.extra == "keep"
    )
    if keep_extra:
        out.extra = unused
    else:
        out.ignored = unused
    if any(p.file == source.label and p.row == 1 for p in problems):
        return out

    params: list[Any] = []
    exprs = {col: _spec_expr(spec, params) for col, spec in specs.items()}
    if table.name == "subscriptions" and "account_id" in exprs:
        # one subscription per account unless the export has line-item ids
        exprs["subscription_id"] = (
            f"COALESCE({exprs.get('subscription_id', 'NULL')}, {exprs['account_id']})"
        )
    out.present = set(exprs)
    select = [
        f"{exprs.get(col, 'CAST(NULL AS VARCHAR)')} AS {ident(col)}" for col in table.column_names
    ]
    select.append(f"CAST({bind(params, source.label)} AS VARCHAR) AS _file")
    select.append(f"CAST(rowid + {bind(params, staged.first_row)} AS BIGINT) AS _row")
    for i, name in enumerate(out.extra):
        select.append(f"{_blank(ident(name))} AS _x{i}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {out.name} AS SELECT {', '.join(select)} FROM {staged.raw}",
        params,
    )
    if entry is not None and entry.drop_if_blank:
        cond = " OR ".join(f"{ident(c)} IS NULL" for c in entry.drop_if_blank)
        out.dropped = con.execute(f"SELECT count(*) FROM {out.name} WHERE {cond}").fetchall()[0][0]
        con.execute(f"DELETE FROM {out.name} WHERE {cond}")
    return out


def attribute_rows_sql(mapped: Mapped) -> tuple[str, list[Any]]:
    """SQL selecting (account_id, attribute, value, _file, _row) for the kept extra columns."""
    names: dict[str, int] = {}
    parts: list[str] = []
    params: list[Any] = []
    for i, source_name in enumerate(mapped.extra):
        attr = snake(source_name)
        # two source columns that snake_case alike keep both, the second with a suffix
        names[attr] = names.get(attr, 0) + 1
        if names[attr] > 1:
            attr = f"{attr}_{names[attr]}"
        parts.append(
            f"SELECT account_id, CAST({bind(params, attr)} AS VARCHAR) AS attribute, _x{i} AS value, _file, _row "
            f"FROM {mapped.name} WHERE _x{i} IS NOT NULL AND account_id IS NOT NULL"
        )
    return " UNION ALL ".join(parts), params

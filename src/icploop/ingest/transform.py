"""Applying a mapping in SQL: from a raw staged file to the canonical columns, still as text.

Every canonical column of the table becomes one SQL expression over the raw text columns; user
values (constants, value maps, formats, anchors, ``where`` values) are bound parameters and
source column names are quoted with ``ident``. An entry's lookups are left joins of the raw file
to other staged files of the load (their columns join the source columns); ``where`` keeps the
rows that meet every condition; ``grain: month`` turns each row into its whole month. The
result is a temp table with the canonical columns (VARCHAR), the file label ``_file`` and the
spreadsheet row ``_row``; types are checked later, by validation.
"""

# SQL here is assembled from schema names, generated temp-table names and ident()-quoted
# column names; every user value is a bound parameter (see icploop.ingest.sql).
# ruff: noqa: S608

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from icploop.errors import Problem
from icploop.ingest.mapping import ColumnSpec, Condition, Factor, Lookup, MappedFactor, TableMapping
from icploop.ingest.read import StagedFile, matches
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
    filtered: int = 0  # rows left out by the entry's ``where``
    events: int = 0  # event rows aggregated into usage rows (``grain: event``)
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


def _factor_sql(factor: Factor, params: list[Any], divisor: bool) -> str:
    """One factor as a DOUBLE: a number, a numeric source column, or a column through a value
    map; a divisor of 0 or blank is NULL (the result is then blank, for validation to report)."""
    if isinstance(factor, MappedFactor):
        cases = " ".join(
            f"WHEN {bind(params, k)} THEN CAST({bind(params, float(v))} AS DOUBLE)"
            for k, v in factor.values.items()
        )
        x = f"(CASE {_blank(ident(factor.column))} {cases} END)"
    elif isinstance(factor, str):
        x = f"TRY_CAST({_blank(ident(factor))} AS DOUBLE)"
    else:
        return f"CAST({bind(params, float(factor))} AS DOUBLE)"
    return f"NULLIF({x}, 0)" if divisor else x


def _spec_expr(spec: ColumnSpec, params: list[Any]) -> str:
    """The SQL (VARCHAR) for one column spec; transforms keep unparseable text for validation."""
    if spec.constant is not None:
        x = f"CAST({bind(params, str(spec.constant))} AS VARCHAR)"
    else:
        x = _blank(ident(spec.column or ""))
        if spec.fallback is not None:
            x = f"COALESCE({x}, {_blank(ident(spec.fallback))})"
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
    if spec.date_format == "unix":
        # seconds since 1970-01-01 UTC, as billing and support APIs write times
        n = f"TRY_CAST({x} AS BIGINT)"
        x = (
            f"CASE WHEN {n} IS NULL OR abs({n}) > 100000000000 THEN {x} "
            f"ELSE CAST(CAST(epoch_ms({n} * 1000) AS DATE) AS VARCHAR) END"
        )
    elif spec.date_format is not None:
        fmt = bind(params, spec.date_format)
        x = (
            f"CASE WHEN TRY_STRPTIME({x}, {fmt}) IS NULL THEN {x} "
            f"ELSE CAST(CAST(TRY_STRPTIME({x}, {fmt}) AS DATE) AS VARCHAR) END"
        )
    if spec.add_days is not None:
        d = f"TRY_CAST({x} AS DATE)"
        x = (
            f"CASE WHEN {d} IS NULL THEN {x} "
            f"ELSE CAST(CAST({d} + CAST({bind(params, spec.add_days)} AS INTEGER) AS DATE) AS VARCHAR) END"
        )
    if spec.multiply_by is not None or spec.divide_by is not None:
        num = f"TRY_CAST({x} AS DOUBLE)"
        scaled = num
        for f in spec.multiply_by or []:
            scaled = f"({scaled} * {_factor_sql(f, params, divisor=False)})"
        for f in spec.divide_by or []:
            scaled = f"({scaled} / {_factor_sql(f, params, divisor=True)})"
        x = f"CASE WHEN {num} IS NULL THEN {x} ELSE CAST(ROUND({scaled}, 6) AS VARCHAR) END"
    if spec.split is not None:
        sep = bind(params, spec.split)
        x = (
            f"NULLIF(array_to_string(list_filter(list_transform(string_split({x}, {sep}), "
            f"s -> TRIM(s)), s -> s <> ''), ';'), '')"
        )
    if spec.only_if:
        x = f"CASE WHEN {' AND '.join(_condition_sql(c, params) for c in spec.only_if)} THEN {x} END"
    if spec.default is not None:
        x = f"COALESCE({x}, CAST({bind(params, str(spec.default))} AS VARCHAR))"
    return x


_SHOWN = 50  # problems listed per cause; the rest are counted


def _date(x: str) -> str:
    """Text as a DATE (ISO dates and timestamps), NULL when it is neither."""
    return f"COALESCE(TRY_CAST({x} AS DATE), CAST(TRY_CAST({x} AS TIMESTAMP) AS DATE))"


def _condition_sql(cond: Condition, params: list[Any]) -> str:
    """One ``where`` condition as SQL over the source text; a blank value never meets a
    comparison (only ``blank: true``)."""
    x = _blank(ident(cond.column))
    if cond.op == "blank":
        return f"({x} IS {'' if cond.value else 'NOT '}NULL)"
    if cond.op in ("in", "not_in"):
        assert isinstance(cond.value, tuple)
        items = ", ".join(f"CAST({bind(params, str(v))} AS VARCHAR)" for v in cond.value)
        return f"({x} {'NOT ' if cond.op == 'not_in' else ''}IN ({items}) AND {x} IS NOT NULL)"
    op = "<>" if cond.op == "!=" else "=" if cond.op == "==" else cond.op
    value = cond.value
    if isinstance(value, bool):
        truthy = "lower(" + x + ") IN ('true', 't', 'yes', 'y', '1')"
        falsy = "lower(" + x + ") IN ('false', 'f', 'no', 'n', '0')"
        yes = truthy if value else falsy
        return f"({yes})" if op == "=" else f"({truthy} OR {falsy}) AND NOT ({yes})"
    if isinstance(value, int | float):
        return f"(TRY_CAST({x} AS DOUBLE) {op} CAST({bind(params, float(value))} AS DOUBLE))"
    if isinstance(value, date):
        return f"({_date(x)} {op} CAST({bind(params, value.isoformat())} AS DATE))"
    return f"({x} {op} CAST({bind(params, str(value))} AS VARCHAR))"


def _lookup_source(
    con: Any,
    staged: StagedFile,
    entry: TableMapping,
    index: int,
    lookups: list[StagedFile],
    problems: list[Problem],
) -> tuple[str, tuple[str, ...]] | None:
    """Temp table ``_join_<index>``: the raw file with each lookup's columns left-joined, and
    ``_rid`` (the raw row number). Returns (its name, the extended header), or None with
    problems appended (a lookup file missing or ambiguous, a column missing, a key repeated in
    the looked-up file, or a required key not found)."""
    label = staged.source.label
    lower = {h.strip().lower(): h for h in staged.header}
    header = list(staged.header)
    joins: list[str] = []
    select = ["r.*", "r.rowid AS _rid"]
    required: list[tuple[int, Lookup, StagedFile]] = []
    ok = True
    for n, lk in enumerate(entry.lookup):
        found = [s for s in lookups if matches(s.source.label, lk.file)]
        if len(found) != 1:
            what = "no file" if not found else f"{len(found)} files"
            problems.append(
                Problem(
                    label,
                    None,
                    None,
                    lk.file,
                    f"one file of this load to look up ({what} "
                    f"matches {lk.file!r}; pass it with the others)",
                )
            )
            ok = False
            continue
        other = found[0]
        theirs = {h.strip().lower(): h for h in other.header}
        if lk.key.strip().lower() not in lower:
            problems.append(Problem(label, 1, lk.key, None, f"a column {lk.key!r} (lookup key)"))
            ok = False
        for name in [lk.target, *lk.columns.values()]:
            if name.strip().lower() not in theirs:
                problems.append(
                    Problem(
                        other.source.label,
                        1,
                        name,
                        None,
                        f"a column {name!r} (looked up by {label})",
                    )
                )
                ok = False
        for new in lk.columns:
            if new.strip().lower() in {h.strip().lower() for h in header}:
                problems.append(
                    Problem(
                        label,
                        1,
                        new,
                        None,
                        "a looked-up column name the file does not "
                        "already have (rename it: columns: {new_name: its_column})",
                    )
                )
                ok = False
            header.append(new)
        if not ok:
            continue
        key = f"NULLIF(TRIM({ident(theirs[lk.target.strip().lower()])}), '')"
        repeated = con.execute(
            f"SELECT {key} AS k, count(*) FROM {other.raw} WHERE {key} IS NOT NULL "
            f"GROUP BY k HAVING count(*) > 1 ORDER BY k LIMIT 1"
        ).fetchall()
        if repeated:
            problems.append(
                Problem(
                    other.source.label,
                    None,
                    lk.target,
                    repeated[0][0],
                    f"a unique {lk.target} to look up ({repeated[0][1]} rows have this one)",
                )
            )
            ok = False
            continue
        cols = ", ".join(
            f"{ident(theirs[c.strip().lower()])} AS {ident(new)}" for new, c in lk.columns.items()
        )
        joins.append(
            f"LEFT JOIN (SELECT {key} AS _k, TRUE AS _hit, {cols} FROM {other.raw}) l{n} "
            f"ON NULLIF(TRIM(r.{ident(lower[lk.key.strip().lower()])}), '') = l{n}._k"
        )
        select += [f"l{n}.{ident(new)}" for new in lk.columns]
        select.append(f"l{n}._hit AS _hit{n}")
        if lk.required:
            required.append((n, lk, other))
    if not ok:
        return None
    name = f"_join_{index}"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {', '.join(select)} "
        f"FROM {staged.raw} r {' '.join(joins)}"
    )
    for n, lk, other in required:
        key = ident(lower[lk.key.strip().lower()])
        rows = con.execute(
            f"SELECT _rid, {key}, count(*) OVER () FROM {name} WHERE _hit{n} IS NULL "
            f"ORDER BY _rid LIMIT {_SHOWN}"
        ).fetchall()
        expected = f"a {lk.key} found in {other.source.label} ({lk.target}), as the lookup requires"
        problems.extend(
            Problem(label, int(rid) + staged.first_row, lk.key, value, expected)
            for rid, value, _ in rows
        )
        if rows and rows[0][2] > len(rows):
            problems.append(
                Problem(
                    label,
                    None,
                    lk.key,
                    None,
                    f"{expected} ({rows[0][2] - len(rows):,} more rows like the above)",
                )
            )
    return name, tuple(header)


def _month_grain(exprs: dict[str, str]) -> None:
    """``grain: month``: each row is the whole month of its ``period_start`` (first to last
    day), so a month without a row is zero. Text that is not a date is left for validation."""
    start = exprs.get("period_start")
    if start is None:
        return
    d = _date(start)
    exprs["period_start"] = (
        f"CASE WHEN {d} IS NULL THEN {start} "
        f"ELSE CAST(CAST(date_trunc('month', {d}) AS DATE) AS VARCHAR) END"
    )
    exprs["period_end"] = f"CAST(last_day({d}) AS VARCHAR)"


def apply_mapping(
    con: Any,
    staged: StagedFile,
    index: int,
    problems: list[Problem],
    lookups: list[StagedFile] | None = None,
) -> Mapped:
    """Create temp table ``_map_<index>``: the canonical columns of the file's table as text.

    Without a mapping entry, header names that are canonical column names are used as they
    are. ``lookups`` are the staged files an entry's ``lookup`` can name. Rows that fail the
    entry's ``where`` are left out and counted in ``filtered``; rows matching its
    ``drop_if_blank`` are dropped and counted in ``dropped``.
    """
    source = staged.source
    table = TABLES[source.table]
    entry = source.entry
    raw, header, rid = staged.raw, staged.header, "rowid"
    if entry is not None and entry.lookup:
        joined = _lookup_source(con, staged, entry, index, lookups or [], problems)
        if joined is None:
            return Mapped(staged, f"_map_{index}")
        raw, header, rid = joined[0], joined[1], "_rid"
    by_lower = {h.strip().lower(): h for h in header}
    out = Mapped(staged, f"_map_{index}")
    specs: dict[str, ColumnSpec] = {}
    if entry is None:
        for col in table.column_names:
            if col in by_lower:
                specs[col] = ColumnSpec(column=by_lower[col])
    else:
        specs = dict(entry.columns)
    used: set[str] = set()
    user = entry.user if entry is not None else None
    wanted = [(col, name) for col, spec in specs.items() for name in spec.source_columns()]
    if user is not None:
        wanted.append(("active_users", user))
    for col, name in wanted:
        if name.strip().lower() not in by_lower:
            problems.append(
                Problem(
                    source.label, 1, name, None, f"a column {name!r} (mapped to {table.name}.{col})"
                )
            )
            continue
        used.add(name.strip().lower())
    out.sources = {col: spec.column for col, spec in specs.items() if spec.column is not None}
    for test in entry.where if entry is not None else []:
        if test.column.strip().lower() not in by_lower:
            problems.append(
                Problem(source.label, 1, test.column, None, f"a column {test.column!r} (where)")
            )
    unused = [h for h in header if h.strip().lower() not in used]
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
    if entry is not None and entry.grain == "month":
        _month_grain(exprs)
    if entry is not None and entry.grain == "event" and "date" in exprs:
        d = _date(exprs["date"])  # the day (UTC) of an event's timestamp
        exprs["date"] = f"CASE WHEN {d} IS NULL THEN {exprs['date']} ELSE CAST({d} AS VARCHAR) END"
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
    select.append(f"CAST({rid} + {bind(params, staged.first_row)} AS BIGINT) AS _row")
    for i, name in enumerate(out.extra):
        select.append(f"{_blank(ident(by_lower[name.strip().lower()]))} AS _x{i}")
    if user is not None:
        select.append(f"{_blank(ident(by_lower[user.strip().lower()]))} AS _user")
    where = ""
    if entry is not None and entry.where:
        conds = [
            _condition_sql(
                c.model_copy(update={"column": by_lower[c.column.strip().lower()]}), params
            )
            for c in entry.where
        ]
        where = " WHERE " + " AND ".join(conds)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {out.name} AS SELECT {', '.join(select)} FROM {raw}{where}",
        params,
    )
    if where:
        kept = con.execute(f"SELECT count(*) FROM {out.name}").fetchall()[0][0]
        out.filtered = staged.rows - int(kept)
    if entry is not None and entry.drop_if_blank:
        cond = " OR ".join(f"{ident(c)} IS NULL" for c in entry.drop_if_blank)
        out.dropped = con.execute(f"SELECT count(*) FROM {out.name} WHERE {cond}").fetchall()[0][0]
        con.execute(f"DELETE FROM {out.name} WHERE {cond}")
    if entry is not None and entry.grain == "event":
        _aggregate_events(con, out, index, with_users=user is not None)
    return out


def _aggregate_events(con: Any, out: Mapped, index: int, with_users: bool) -> None:
    """``grain: event``: one usage row per account, day and feature with the number of events
    and (``with_users``) of distinct users (``_user``); each aggregate row keeps the file and
    first row of its events, so a problem in it names a real line."""
    out.events = con.execute(f"SELECT count(*) FROM {out.name}").fetchall()[0][0]
    users = "count(DISTINCT _user)" if with_users else "NULL"
    name = f"_evt_{index}"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT account_id, date, feature, "
        f"any_value(use_case) AS use_case, CAST({users} AS VARCHAR) AS active_users, "
        f"CAST(count(*) AS VARCHAR) AS events, min(_file) AS _file, min(_row) AS _row "
        f"FROM {out.name} GROUP BY account_id, date, feature"
    )
    out.name = name


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

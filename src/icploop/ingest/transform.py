"""Applying a mapping in SQL: the canonical columns of a file, as text, over its opened view.

Every canonical column of the table becomes one SQL expression over the source columns read as
text; user values (constants, value maps, formats, anchors, ``where`` values) are bound
parameters and source column names are quoted with ``ident``. An entry's lookups are left joins
of the file to other files of the load (their columns join the source columns); ``where`` keeps
the rows that meet every condition; ``grain: month`` turns each row into its whole month.
Nothing is read here except for lookups: the load reads each file once, typing these
expressions into its stage (see :mod:`icploop.ingest.validate`).
"""

# SQL here is assembled from schema names, generated temp-table names and ident()-quoted
# column names; every user value is a bound parameter (see icploop.ingest.sql).
# ruff: noqa: S608

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from icploop.errors import Problem
from icploop.ingest.mapping import ColumnSpec, Condition, Factor, Lookup, MappedFactor, TableMapping
from icploop.ingest.read import OpenedFile, matches
from icploop.ingest.schema import TABLES
from icploop.ingest.sql import ident


@dataclass
class Mapped:
    """A file mapped onto its table: SQL over ``relation`` for each canonical column.

    ``relation`` is the file's view, or for an entry with lookups the temp table of the file
    joined to them, whose column ``position`` holds each row's place in the file (a join does
    not keep the file's order). ``texts`` are the columns the file provides, as text (blank =
    NULL), with ``params`` bound; ``plain`` names the source column of each canonical column
    taken as it is (no transform), which a typed source (Parquet) may give in its own type;
    ``keep_if`` is the condition of the entry's ``where``; ``drop_if`` that of the rows its
    ``drop_if_blank`` drops; ``extra`` are the source columns kept as attributes (``_x0``,
    ``_x1``, ... in the stage, their SQL in ``extra_texts``).
    """

    opened: OpenedFile
    relation: str = ""
    position: str | None = None
    types: dict[str, str] = field(default_factory=dict)  # source column -> engine type
    texts: dict[str, str] = field(default_factory=dict)
    params: list[Any] = field(default_factory=list)
    plain: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # canonical -> source column label
    keep_if: str | None = None
    drop_if: str | None = None
    extra: list[str] = field(default_factory=list)  # source columns kept as attributes
    extra_texts: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # source columns not used
    events: int = 0  # event rows counted into usage rows (``grain: event``)
    rows_read: int | None = None  # rows of the file, when not its relation's (``grain: event``)
    filtered: int = 0  # rows left out by ``where`` before the relation (``grain: event``)
    dropped: int = 0  # rows dropped as blank before the relation (``grain: event``)

    @property
    def present(self) -> set[str]:
        """Canonical columns the file provides."""
        return set(self.texts)


def snake(name: str) -> str:
    """``"Annual Revenue ($)"`` -> ``annual_revenue``: attribute names as segment dimensions."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_") or "column"


def _blank(expr: str) -> str:
    """SQL: NULL for a blank or spaces-only value, else the value without surrounding spaces.
    A value is trimmed only when it starts or ends with a space: most do not, and TRIM copies
    every string it is given (about a third of the cost of reading a CSV file's text)."""
    return (
        f"CASE WHEN starts_with({expr}, ' ') OR ends_with({expr}, ' ') "
        f"THEN NULLIF(TRIM({expr}), '') ELSE NULLIF({expr}, '') END"
    )


def bind(params: list[Any], value: Any) -> str:
    """Append a bound value and return its numbered placeholder (reusable in one statement)."""
    params.append(value)
    return f"${len(params)}"


def _factor_sql(
    factor: Factor, params: list[Any], divisor: bool, text: Callable[[str], str]
) -> str:
    """One factor as a DOUBLE: a number, a numeric source column, or a column through a value
    map; a divisor of 0 or blank is NULL (the result is then blank, for validation to report)."""
    if isinstance(factor, MappedFactor):
        cases = " ".join(
            f"WHEN {bind(params, k)} THEN CAST({bind(params, float(v))} AS DOUBLE)"
            for k, v in factor.values.items()
        )
        x = f"(CASE {_blank(text(factor.column))} {cases} END)"
    elif isinstance(factor, str):
        x = f"TRY_CAST({_blank(text(factor))} AS DOUBLE)"
    else:
        return f"CAST({bind(params, float(factor))} AS DOUBLE)"
    return f"NULLIF({x}, 0)" if divisor else x


def _spec_expr(spec: ColumnSpec, params: list[Any], text: Callable[[str], str]) -> str:
    """The SQL (VARCHAR) for one column spec; transforms keep unparseable text for validation.

    ``text(name)`` is the SQL of source column ``name`` as text."""
    if spec.constant is not None:
        x = f"CAST({bind(params, str(spec.constant))} AS VARCHAR)"
    else:
        x = _blank(text(spec.column or ""))
        if spec.fallback is not None:
            x = f"COALESCE({x}, {_blank(text(spec.fallback))})"
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
            scaled = f"({scaled} * {_factor_sql(f, params, False, text)})"
        for f in spec.divide_by or []:
            scaled = f"({scaled} / {_factor_sql(f, params, True, text)})"
        x = f"CASE WHEN {num} IS NULL THEN {x} ELSE CAST(ROUND({scaled}, 6) AS VARCHAR) END"
    if spec.split is not None:
        sep = bind(params, spec.split)
        x = (
            f"NULLIF(array_to_string(list_filter(list_transform(string_split({x}, {sep}), "
            f"s -> TRIM(s)), s -> s <> ''), ';'), '')"
        )
    if spec.only_if:
        met = " AND ".join(_condition_sql(c, params, text) for c in spec.only_if)
        x = f"CASE WHEN {met} THEN {x} END"
    if spec.default is not None:
        x = f"COALESCE({x}, CAST({bind(params, str(spec.default))} AS VARCHAR))"
    return x


_SHOWN = 50  # problems listed per cause; the rest are counted


def _date(x: str) -> str:
    """Text as a DATE (ISO dates and timestamps), NULL when it is neither."""
    return f"COALESCE(TRY_CAST({x} AS DATE), CAST(TRY_CAST({x} AS TIMESTAMP) AS DATE))"


def _condition_sql(cond: Condition, params: list[Any], text: Callable[[str], str]) -> str:
    """One ``where`` condition as SQL over the source text; a blank value never meets a
    comparison (only ``blank: true``)."""
    x = _blank(text(cond.column))
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


def _as_text(opened: OpenedFile, column: str) -> str:
    """SQL of a source column as text (Parquet columns have their own types)."""
    typed = dict(zip(opened.header, opened.types, strict=True))[column] != "VARCHAR"
    return f"CAST({ident(column)} AS VARCHAR)" if typed else ident(column)


def _lookup_source(
    con: Any,
    staged: OpenedFile,
    entry: TableMapping,
    index: int,
    lookups: list[OpenedFile],
    problems: list[Problem],
) -> tuple[str, dict[str, str]] | None:
    """Temp table ``_join_<index>``: the file (first read into ``_raw_<index>`` to number its
    rows) with each lookup's columns left-joined, and ``_rid`` (the row's place in the file).
    Returns (its name, the engine type of each of its source columns), or None with problems
    appended (a lookup file missing or ambiguous, a column missing, a key repeated in the
    looked-up file, or a required key not found)."""
    label = staged.source.label
    lower = {h.strip().lower(): h for h in staged.header}
    header = list(staged.header)
    joins: list[str] = []
    select = ["r.*", "r.rowid AS _rid"]
    required: list[tuple[int, Lookup, OpenedFile]] = []
    types = dict(zip(staged.header, staged.types, strict=True))
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
        key = f"NULLIF(TRIM({_as_text(other, theirs[lk.target.strip().lower()])}), '')"
        repeated = con.execute(
            f"SELECT {key} AS k, count(*) FROM {other.view} WHERE {key} IS NOT NULL "
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
        theirs_types = dict(zip(other.header, other.types, strict=True))
        types.update(
            {new: theirs_types[theirs[c.strip().lower()]] for new, c in lk.columns.items()}
        )
        mine = _as_text(staged, lower[lk.key.strip().lower()])
        joins.append(
            f"LEFT JOIN (SELECT {key} AS _k, TRUE AS _hit, {cols} FROM {other.view}) l{n} "
            f"ON NULLIF(TRIM(r.{mine}), '') = l{n}._k"
        )
        select += [f"l{n}.{ident(new)}" for new in lk.columns]
        select.append(f"l{n}._hit AS _hit{n}")
        if lk.required:
            required.append((n, lk, other))
    if not ok:
        return None
    name, raw = f"_join_{index}", f"_raw_{index}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * FROM {staged.view}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {', '.join(select)} "
        f"FROM {raw} r {' '.join(joins)}"
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
    return name, types


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


def _is_plain(spec: ColumnSpec) -> bool:
    """A source column taken as it is: no constant, value map, format or arithmetic."""
    return spec.column is not None and spec == ColumnSpec(column=spec.column)


def map_columns(
    con: Any,
    opened: OpenedFile,
    index: int,
    problems: list[Problem],
    lookups: list[OpenedFile] | None = None,
) -> Mapped:
    """The canonical columns of a file's table as SQL over its view (see :class:`Mapped`).

    Without a mapping entry, header names that are canonical column names are used as they
    are. ``lookups`` are the opened files an entry's ``lookup`` can name (joining them is the
    only reading done here). A mapped source column the file lacks is a problem on row 1; then,
    as when a lookup fails, no SQL is made (``texts`` stays empty).
    """
    source = opened.source
    table = TABLES[source.table]
    entry = source.entry
    out = Mapped(opened, opened.view, None, dict(zip(opened.header, opened.types, strict=True)))
    if entry is not None and entry.lookup:
        joined = _lookup_source(con, opened, entry, index, lookups or [], problems)
        if joined is None:
            return out
        out.relation, out.types, out.position = joined[0], joined[1], "_rid"
    header = list(out.types)
    by_lower = {h.strip().lower(): h for h in header}
    specs: dict[str, ColumnSpec] = {}
    if entry is None:
        for col in table.column_names:
            if col in by_lower:
                specs[col] = ColumnSpec(column=by_lower[col])
    else:
        specs = dict(entry.columns)
    used: set[str] = set()
    missing = False
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
            missing = True
            continue
        used.add(name.strip().lower())
    out.sources = {col: spec.column for col, spec in specs.items() if spec.column is not None}
    for test in entry.where if entry is not None else []:
        if test.column.strip().lower() not in by_lower:
            problems.append(
                Problem(source.label, 1, test.column, None, f"a column {test.column!r} (where)")
            )
            missing = True
    unused = [h for h in header if h.strip().lower() not in used]
    keep_extra = (entry is None and table.keeps_extra_columns) or (
        entry is not None and entry.extra == "keep"
    )
    if keep_extra:
        out.extra = unused
    else:
        out.ignored = unused
    if missing:
        return out

    def text(name: str) -> str:
        column = by_lower[name.strip().lower()]
        if out.types[column] == "VARCHAR":
            return ident(column)
        return f"CAST({ident(column)} AS VARCHAR)"

    params = out.params
    texts = {col: _spec_expr(spec, params, text) for col, spec in specs.items()}
    out.plain = {
        col: by_lower[spec.column.strip().lower()]
        for col, spec in specs.items()
        if spec.column is not None and _is_plain(spec)
    }
    if entry is not None and entry.grain == "month":
        _month_grain(texts)
        out.plain.pop("period_start", None)
        out.plain.pop("period_end", None)
    if entry is not None and entry.grain == "event" and "date" in texts:
        d = _date(texts["date"])  # the day (UTC) of an event's timestamp
        texts["date"] = f"CASE WHEN {d} IS NULL THEN {texts['date']} ELSE CAST({d} AS VARCHAR) END"
        out.plain.pop("date", None)
    if table.name == "subscriptions" and "account_id" in texts:
        # one subscription per account unless the export has line-item ids
        texts["subscription_id"] = (
            f"COALESCE({texts.get('subscription_id', 'NULL')}, {texts['account_id']})"
        )
        out.plain.pop("subscription_id", None)
    out.texts = texts
    out.extra_texts = [_blank(text(name)) for name in out.extra]
    if entry is not None and entry.where:
        out.keep_if = " AND ".join(_condition_sql(c, params, text) for c in entry.where)
    if entry is not None and entry.drop_if_blank:
        out.drop_if = " OR ".join(f"({texts.get(c, 'NULL')}) IS NULL" for c in entry.drop_if_blank)
    if entry is not None and entry.grain == "event":
        user_text = _blank(text(user)) if user is not None else None
        _aggregate_events(con, out, index, user_text)
    return out


def _aggregate_events(con: Any, out: Mapped, index: int, user: str | None) -> None:
    """``grain: event``: count the mapped rows into the temp table ``_evt_<index>``, one usage
    row per account, day and feature with the number of events and (with ``user``, the SQL of
    who did each) of distinct users; each row keeps the place of its first event (``_rid``), so a
    problem in it names a real line. ``out`` then maps that table, its rows already filtered."""
    relation, place = out.relation, out.position
    if place is None:  # a file's view has no row numbers: read it once to number them
        relation, place = f"_raw_{index}", "rowid"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {relation} AS SELECT * FROM {out.opened.view}")
    texts = out.texts
    kept = " AND ".join(
        [f"COALESCE({out.keep_if}, FALSE)"] * bool(out.keep_if)
        + [f"NOT ({out.drop_if})"] * bool(out.drop_if)
    )
    counted = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {kept or 'TRUE'}), "
        f"count(*) FILTER (WHERE NOT COALESCE({out.keep_if or 'TRUE'}, FALSE)) "
        f"FROM {relation}",
        out.params,
    ).fetchall()[0]
    out.rows_read, out.events, out.filtered = int(counted[0]), int(counted[1]), int(counted[2])
    out.dropped = out.rows_read - out.events - out.filtered
    null = "CAST(NULL AS VARCHAR)"
    users = "CAST(count(DISTINCT _who) AS VARCHAR)" if user else null
    name = f"_evt_{index}"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT account_id, date, feature, "
        f"any_value(use_case) AS use_case, {users} AS active_users, "
        f"CAST(count(*) AS VARCHAR) AS events, min(_place) AS _rid FROM ("
        f"SELECT {texts.get('account_id', null)} AS account_id, {texts.get('date', null)} AS date, "
        f"{texts.get('feature', null)} AS feature, {texts.get('use_case', null)} AS use_case, "
        f"{user or null} AS _who, {place} AS _place FROM {relation} WHERE {kept or 'TRUE'}) "
        "GROUP BY account_id, date, feature",
        out.params,
    )
    out.relation, out.position, out.params = name, "_rid", []
    columns = ("account_id", "date", "feature", "use_case", "active_users", "events")
    out.types = dict.fromkeys(columns, "VARCHAR")
    out.texts = {c: ident(c) for c in columns}
    out.plain, out.keep_if, out.drop_if = {}, None, None


def attribute_rows_sql(mapped: Mapped, staged: str, src: int) -> tuple[str, list[Any]]:
    """SQL selecting (account_id, attribute, value) for the kept extra columns of file ``src``
    from the table's staged rows ``staged`` (where the file's extra columns are ``_x0``...)."""
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
            f"SELECT account_id, CAST({bind(params, attr)} AS VARCHAR) AS attribute, "
            f"_x{i} AS value FROM {staged} "
            f"WHERE _src = {int(src)} AND _x{i} IS NOT NULL AND account_id IS NOT NULL"
        )
    return " UNION ALL ".join(parts), params

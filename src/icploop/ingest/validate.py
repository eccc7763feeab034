"""Validation in SQL over each file's typed stage: every problem of every file, before anything
is stored.

Each file is read once, into its stage: every canonical column in its canonical type (NULL when
the text does not convert), ``_bad`` (bit ``j`` set when column ``j`` held text that did not
convert) and, when a mapping leaves rows out (``where``, ``drop_if_blank``), ``_out``. The kept
rows of one table's stages are seen together through the view ``_staged_<table>``, which adds
the file's index ``_src``, the row's place in its file ``_rid`` and its spreadsheet row ``_row``.

Every check is a set-based query over that view selecting the rows it refuses (``_src``,
``_rid``, ``_row`` first), so the rows a load refuses are a relation that can filter the stage.
Each problem names the file, the spreadsheet row, the column (as the source file calls it), the
value as the file wrote it and what was expected. Only the first ``MAX_SHOWN`` are kept; the
rest are counted.
"""

# SQL here is assembled from schema names, generated temp-table names and ident()-quoted
# column names; every user value is a bound parameter (see icploop.ingest.sql).
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from icploop.errors import Cause, Extent, Problem, ValidationError
from icploop.ingest.keys import KEY
from icploop.ingest.schema import KNOWN_CURRENCIES, MAX_MRR, TABLES, Column, Table
from icploop.ingest.sql import ident, table_exists
from icploop.ingest.transform import Mapped, bind

MAX_SHOWN = 50
MIN_YEAR, MAX_YEAR = 1900, 2200


@dataclass
class Problems:
    """Problems found so far, capped at ``MAX_SHOWN`` shown, the rest counted; ``extents`` hold
    each cause's full count and row span where a check counted them (for grouped messages)."""

    shown: list[Problem] = field(default_factory=list)
    hidden: int = 0
    extents: dict[Cause, Extent] = field(default_factory=dict)

    def add(self, problem: Problem) -> None:
        if len(self.shown) < MAX_SHOWN:
            self.shown.append(problem)
        else:
            self.hidden += 1

    def extend(self, problems: list[Problem], total: int | None = None) -> None:
        for p in problems:
            self.add(p)
        if total is not None and total > len(problems):
            self.hidden += total - len(problems)

    def merge(self, other: Problems) -> None:
        self.extend(other.shown)
        self.hidden += other.hidden
        self.extents.update(other.extents)

    def __bool__(self) -> bool:
        return bool(self.shown) or self.hidden > 0

    def raise_if_any(self, hint: str = "") -> None:
        if self:
            ordered = sorted(self.shown, key=lambda p: (p.file, p.row or 0, p.column or ""))
            raise ValidationError(ordered, self.hidden, hint, self.extents)


#: a number written with thousands separators, as spreadsheets export them: ``1,295``,
#: ``-12,345,678.50``. Only groups of exactly three digits after the first comma: ``1,5`` or
#: ``1.295,50`` (a decimal comma) is not this form, and is refused as it stands.
GROUPED_NUMBER = r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$"


def _number(x: str, sql_type: str) -> str:
    """Text ``x`` as a number of ``sql_type``; a number in thousands-separator form
    (:data:`GROUPED_NUMBER`) is read without its commas. NULL when it is neither."""
    plain = f"TRY_CAST({x} AS {sql_type})"
    grouped = (
        f"CASE WHEN regexp_full_match(trim({x}), '{GROUPED_NUMBER}') "
        f"THEN TRY_CAST(replace(trim({x}), ',', '') AS {sql_type}) END"
    )
    value = f"COALESCE({plain}, {grouped})"
    if sql_type == "DOUBLE":
        return f"CASE WHEN isfinite({value}) THEN {value} END"
    return value


def typed(column: Column, x: str) -> str:
    """SQL turning text ``x`` into the column's canonical type; NULL when it does not convert.

    Numbers may be written with thousands separators (``1,295``, ``1,295.50``); any other text
    with a comma is refused. Money (``decimal``) is DECIMAL(18,2): exact cents up to 10^16.
    Dates outside 1900-2200 are treated as bad (they are typos or placeholder values such as
    0001-01-01 or 9999-12-31).
    """
    if column.type in ("int", "float", "decimal"):
        return _number(x, SQL_TYPES[column.type])
    if column.type == "date":
        return _date_in_range(f"TRY_CAST({x} AS DATE)")
    if column.type == "bool":
        return (
            f"CASE WHEN lower({x}) IN ('true','t','yes','y','1') THEN TRUE "
            f"WHEN lower({x}) IN ('false','f','no','n','0') THEN FALSE END"
        )
    if column.name == "currency":
        return f"upper({x})"
    if column.allowed:
        return f"lower({x})"
    return x


def _date_in_range(d: str) -> str:
    return f"CASE WHEN year({d}) BETWEEN {MIN_YEAR} AND {MAX_YEAR} THEN {d} END"


_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}


def native_typed(column: Column, x: str, source_type: str) -> str | None:
    """SQL giving a column from a source column ``x`` already typed by its file (Parquet), when
    that gives exactly what :func:`typed` would give from its text; else None (go through text).

    Dates, whole numbers, doubles and booleans convert as they are; a decimal keeps its cents
    when it has at most two decimals. Reading them as text first and back costs about twice
    the scan.
    """
    if column.type == "date" and source_type == "DATE":
        return _date_in_range(x)
    if column.type == "int" and source_type in _INTEGERS:
        return f"CAST({x} AS BIGINT)"
    if column.type == "float" and (source_type == "DOUBLE" or source_type in _INTEGERS):
        return f"CASE WHEN isfinite(CAST({x} AS DOUBLE)) THEN CAST({x} AS DOUBLE) END"
    if column.type == "decimal" and source_type in _INTEGERS:
        return f"TRY_CAST({x} AS DECIMAL(18,2))"
    if column.type == "decimal" and source_type.startswith("DECIMAL("):
        width, scale = (int(p) for p in source_type[8:-1].split(","))
        if scale <= 2 and width - scale <= 16:
            return f"CAST({x} AS DECIMAL(18,2))"
    if column.type == "bool" and source_type == "BOOLEAN":
        return x
    return None


SQL_TYPES = {
    "string": "VARCHAR",
    "list": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "decimal": "DECIMAL(18,2)",
    "date": "DATE",
    "bool": "BOOLEAN",
}

_EXPECTED_TYPE = {
    "int": "a whole number",
    "float": "a number",
    "decimal": "an amount (a number below 10^16, at most 2 decimals kept)",
    "date": f"a date YYYY-MM-DD between {MIN_YEAR} and {MAX_YEAR}",
    "bool": "true/false, yes/no or 1/0",
}


@dataclass(frozen=True)
class Stage:
    """One file read into its stage table ``name`` of ``staged`` rows: ``rows`` in the file,
    ``filtered`` of them left out by the mapping's ``where`` and ``dropped`` (of the rest) by its
    ``drop_if_blank``."""

    mapped: Mapped
    src: int
    name: str
    rows: int
    filtered: int
    dropped: int
    staged: int
    keyed: bool = False
    """The stage holds each row's account key (``keys.KEY``) and its place in the file ``_pos``."""

    @property
    def rid(self) -> str:
        """The stage's column of each row's place in its file (0, 1, ...)."""
        return "_pos" if self.mapped.position or self.keyed else "rowid"

    @property
    def label(self) -> str:
        return self.mapped.opened.source.label

    @property
    def table(self) -> str:
        return self.mapped.opened.source.table


ROW_NUMBER = "file_row_number = true"
"""The Parquet reader's option adding each row's number in the file (``file_row_number``)."""


def keyable(mapped: Mapped) -> bool:
    """Whether :func:`stage_file` can give this file's rows their account keys as it reads them:
    a Parquet file read as it is (the reader numbers its rows), without a column of the
    reader's own name ``file_row_number``."""
    return (
        mapped.opened.source.is_parquet
        and not mapped.position
        and "file_row_number" not in (h.lower() for h in mapped.opened.header)
    )


STORED_STAGE = "_icploop_stage_"
"""Prefix of a stage kept in the database itself (``stored``), named by its file's index."""


def stage_file(
    con: Any, mapped: Mapped, src: int, *, stored: bool = False, keys_from: str | None = None
) -> Stage:
    """Read a mapped file once into the temp table ``_stage_<src>`` (see the module docstring).

    With ``stored`` the stage is a table of the database itself, ``_icploop_stage_<src>``,
    written as the canonical table would be (each column in its canonical type), so that a load
    into an empty table can keep it as the table instead of copying its rows again (the load
    drops it otherwise). Rows stay in file order, so a row's position in the stage gives its
    spreadsheet row (after a lookup's join, which does not keep the order, the joined table's
    ``_rid`` is kept as ``_pos``). Rows failing ``where`` or dropped as blank stay in the stage,
    flagged ``_out``.

    ``keys_from`` (a table of ``account_id`` and ``keys.KEY``) gives each row its account key
    as it is read, for a Parquet file (see :func:`keyable`) staged for a keyed table that it may
    become: the stage is then in the table's own shape and no pass over it adds the keys later.
    The join does not keep the file's order, so each row's place is read with it, as ``_pos``
    (the Parquet reader's row number: numbering rows in SQL would read the file in one thread)."""
    table = TABLES[mapped.opened.source.table]
    inner: list[str] = []  # the file's values: text, or the source's own type
    middle: list[str] = []  # typed, with whether a value was there
    outer: list[str] = []  # canonical names and the bit mask of values that did not convert
    bad: list[str] = []
    for j, column in enumerate(table.columns):
        name = ident(column.name)
        if column.name not in mapped.texts:
            outer.append(f"CAST(NULL AS {SQL_TYPES[column.type]}) AS {name}")
            continue
        plain = mapped.plain.get(column.name)
        native = plain and native_typed(column, f"_t{j}", mapped.types[plain])
        if plain and native:
            inner.append(f"{ident(plain)} AS _t{j}")
            middle.append(f"{native} AS _v{j}")
        else:
            inner.append(f"{mapped.texts[column.name]} AS _t{j}")
            middle.append(f"{typed(column, f'_t{j}')} AS _v{j}")
        # a stored stage may become the table: its columns in the table's types, exactly
        value = f"CAST(_v{j} AS {SQL_TYPES[column.type]})" if stored else f"_v{j}"
        outer.append(f"{value} AS {name}")
        if column.type in _EXPECTED_TYPE:
            middle.append(f"_t{j} IS NOT NULL AS _p{j}")
            bad.append(f"CASE WHEN _p{j} AND _v{j} IS NULL THEN {1 << j} ELSE 0 END")
    carried = [f"_x{i}" for i in range(len(mapped.extra_texts))]
    inner += [f"{text} AS _x{i}" for i, text in enumerate(mapped.extra_texts)]
    # 0: kept, 1: left out by `where`, 2: dropped as blank
    out = []
    if mapped.keep_if:
        out.append(f"WHEN NOT COALESCE({mapped.keep_if}, FALSE) THEN 1")
    if mapped.drop_if:
        out.append(f"WHEN {mapped.drop_if} THEN 2")
    if out:
        inner.append(f"CAST(CASE {' '.join(out)} ELSE 0 END AS UTINYINT) AS _out")
        carried.append("_out")
    if mapped.position:
        inner.append(f"{ident(mapped.position)} AS _pos")
        carried.append("_pos")
    relation, params = mapped.relation, list(mapped.params)
    if keys_from and not mapped.position:
        relation = f"read_parquet({bind(params, str(mapped.opened.source.path))}, {ROW_NUMBER})"
        inner.append("file_row_number AS _pos")
        carried.append("_pos")
    middle += carried
    outer += carried
    outer.append(f"CAST({' | '.join(bad) or '0'} AS INTEGER) AS _bad")
    name = f"{STORED_STAGE}{src}" if stored else f"_stage_{src}"
    kind = "TABLE main." if stored else "TEMP TABLE "
    select = (
        f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(middle) or '1'} FROM ("
        f"SELECT {', '.join(inner) or '1'} FROM {relation}))"
    )
    if keys_from:
        select = (
            f"SELECT s.*, k.{KEY} FROM ({select}) s "
            f"LEFT JOIN {keys_from} k ON k.account_id = s.account_id"
        )
    con.execute(f"CREATE OR REPLACE {kind}{name} AS {select}", params)
    counts = "count(*) FILTER (WHERE _out = 1), count(*) FILTER (WHERE _out = 2)" if out else "0, 0"
    rows, filtered, dropped = con.execute(f"SELECT count(*), {counts} FROM {name}").fetchall()[0]
    return Stage(
        mapped,
        src,
        name,
        int(rows) if mapped.rows_read is None else mapped.rows_read,
        int(filtered) + mapped.filtered,
        int(dropped) + mapped.dropped,
        int(rows),
        keyed=keys_from is not None,
    )


def staged_view(con: Any, table: str, stages: Sequence[Stage], refused: str | None = None) -> str:
    """The temp view ``_staged_<table>``: the kept rows of the table's stages, each with its
    file's index ``_src``, its place in the file ``_rid`` and its spreadsheet row ``_row``.
    ``refused`` names a table of ``(_src, _rid)`` rows quarantined out of the load."""
    parts = []
    for s in stages:
        rid = s.rid
        conds = ["_out = 0"] if s.mapped.keep_if or s.mapped.drop_if else []
        if refused:
            conds.append(
                f"NOT EXISTS (SELECT 1 FROM {refused} q WHERE q._src = {int(s.src)} "
                f"AND q._rid = {s.name}.{rid})"
            )
        keep = f" WHERE {' AND '.join(conds)}" if conds else ""
        first = int(s.mapped.opened.first_row)
        parts.append(
            f"SELECT *, {int(s.src)} AS _src, {rid} AS _rid, {rid} + {first} AS _row "
            f"FROM {s.name}{keep}"
        )
    view = f"_staged_{table}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {' UNION ALL BY NAME '.join(parts)}")
    return view


Expected = Callable[[str, int | None, int | None, Callable[[int], str]], str]
"""``expected(col, a, b, files)``: what a refused row should have held; ``files(src)`` names a
file of the load."""


def _always(text: str) -> Expected:
    def expected(col: str, a: int | None, b: int | None, files: Callable[[int], str]) -> str:
        return text

    return expected


@dataclass(frozen=True)
class Check:
    """A set-based check: ``sql`` selects the refused rows of a table's staged view as
    ``_src, _rid, _row, col, value, a, b``: the canonical column the problem is about, the
    value to show (NULL: the file's own text of ``col`` in that row) and two numbers of the
    check's own (``expected`` turns them into the expectation, given the file labels)."""

    table: str
    sql: str
    expected: Expected
    column_label: Callable[[str, Stage], str] | None = None
    any_sql: str | None = None
    """A cheaper query returning a row only when ``sql`` may refuse one (None: run ``sql``)."""


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else str(v)


def _column_checks(column: Column, j: int) -> list[tuple[str, str]]:
    """(SQL condition over the typed column and ``_bad``, expected) pairs, in priority order."""
    t = ident(column.name)
    bit = f"(_bad & {1 << j}) <> 0"
    checks: list[tuple[str, str]] = []
    if column.required:
        blank = f"{t} IS NULL AND NOT ({bit})" if column.type in _EXPECTED_TYPE else f"{t} IS NULL"
        checks.append((blank, "a value (this column is required)"))
    if column.type in _EXPECTED_TYPE:
        checks.append((bit, _EXPECTED_TYPE[column.type]))
    if column.allowed:
        allowed = ", ".join(f"'{a}'" for a in column.allowed)  # schema constants, not user text
        checks.append((f"{t} NOT IN ({allowed})", "one of " + ", ".join(column.allowed)))
    if column.name == "currency":
        codes = ", ".join(f"'{c}'" for c in sorted(KNOWN_CURRENCIES))
        checks.append((f"{t} NOT IN ({codes})", "an ISO 4217 currency code such as USD, EUR, GBP"))
    if column.minimum is not None:
        checks.append((f"{t} < {column.minimum!r}", f"at least {_fmt(column.minimum)}"))
    if column.maximum is not None:
        hint = (
            " (an MRR above that is usually cents loaded as units)"
            if column.maximum == MAX_MRR
            else ""
        )
        checks.append((f"{t} > {column.maximum!r}", f"at most {_fmt(column.maximum)}{hint}"))
    return checks


def column_checks(table: Table, staged: str) -> list[Check]:
    """Blank required values, types, allowed values, currencies and bounds of every column, in
    one scan: each refused row and column with the first check it fails."""
    kinds: dict[str, list[str]] = {}
    cases = []
    conds = []
    for j, column in enumerate(table.columns):
        checks = _column_checks(column, j)
        if not checks:
            continue
        kinds[column.name] = [expected for _, expected in checks]
        when = " ".join(f"WHEN {cond} THEN {i}" for i, (cond, _) in enumerate(checks))
        cases.append(f"CASE {when} END AS {ident(column.name)}")
        conds += [f"({cond})" for cond, _ in checks]
    if not cases:
        return []
    names = ", ".join(ident(c) for c in kinds)
    # only the rows failing a check are unpivoted (a clean load unpivots none)
    sql = (
        f"SELECT _src, _rid, _row, col, CAST(NULL AS VARCHAR) AS value, a, NULL AS b FROM ("
        f"UNPIVOT (SELECT _src, _rid, _row, {', '.join(cases)} FROM {staged} "
        f"WHERE {' OR '.join(conds)}) ON {names} INTO NAME col VALUE a)"
    )

    def expected(col: str, a: int | None, b: int | None, files: Callable[[int], str]) -> str:
        return kinds[col][int(a or 0)]

    return [Check(table.name, sql, expected)]


def key_check(table: Table, staged: str) -> Check:
    """Rows whose key repeats an earlier row of this load (files in load order, rows in order).

    Repeated keys are found by one hash aggregation; only their rows are then ordered to name
    the first occurrence, so a load without repeats never sorts the whole table."""
    keys = [ident(k) for k in table.key]
    part = ", ".join(keys)
    not_null = " AND ".join(f"{k} IS NOT NULL" for k in keys)
    shown = " || ' / ' || ".join(f"CAST({k} AS VARCHAR)" for k in keys)
    sql = (
        f"WITH keyed AS (SELECT _src, _rid, _row, {part} FROM {staged} WHERE {not_null}), "
        f"repeated AS (SELECT {part} FROM keyed GROUP BY {part} HAVING count(*) > 1) "
        f"SELECT _src, _rid, _row, '{table.key[0]}' AS col, v AS value, a, b FROM ("
        f"SELECT _src, _rid, _row, {shown} AS v, row_number() OVER w AS n, "
        f"first_value(_src) OVER w AS a, first_value(_row) OVER w AS b "
        f"FROM keyed SEMI JOIN repeated USING ({part}) "
        f"WINDOW w AS (PARTITION BY {part} ORDER BY _src, _row)) WHERE n > 1"
    )
    col = " + ".join(table.key)

    def expected(c: str, a: int | None, b: int | None, files: Callable[[int], str]) -> str:
        return f"a unique {col} (already on {files(int(a or 0))} row {b})"

    def label(c: str, stage: Stage) -> str:
        return stage.mapped.sources.get(c, c) if len(table.key) == 1 else col

    # one aggregation over the keys alone: the rows' places are read only when a key repeats
    repeats = f"SELECT 1 FROM {staged} WHERE {not_null} GROUP BY {part} HAVING count(*) > 1 LIMIT 1"
    return Check(table.name, sql, expected, label, repeats)


def date_order_checks(table: Table, staged: str) -> list[Check]:
    """Rows where an earlier date (e.g. period_start) is after its later one (period_end)."""
    return [
        Check(
            table.name,
            f"SELECT _src, _rid, _row, '{late}' AS col, CAST(NULL AS VARCHAR) AS value, "
            f"NULL AS a, NULL AS b FROM {staged} WHERE {ident(early)} > {ident(late)}",
            _always(f"a date on or after {early}"),
        )
        for early, late in table.date_order
    ]


def reference_checks(con: Any, table: Table, staged: str, views: dict[str, str]) -> list[Check]:
    """Rows whose reference (e.g. a deal's account) is neither in this load nor stored."""
    checks = []
    for ref in table.references:
        col, target = ident(ref.column), ident(ref.target)
        # where the referenced values are: this load's staged rows and the stored table
        known = [views[ref.table]] if ref.table in views else []
        if table_exists(con, ref.table):
            known.append(f"main.{ident(ref.table)}")
        cond = (
            " AND ".join(
                f"NOT EXISTS (SELECT 1 FROM {k} o WHERE o.{target} = s.{col})" for k in known
            )
            or "TRUE"
        )
        expected = f"a value present in {ref.table}.{ref.target} (in this load or already stored)"
        # the references alone against the known values, one anti join: the rows' places are
        # read only when some reference is unknown
        values = " UNION ALL ".join(f"SELECT {target} AS v FROM {k}" for k in known)
        unknown = (
            f"SELECT 1 FROM (SELECT {col} AS v FROM {staged} WHERE {col} IS NOT NULL) s "
            f"ANTI JOIN ({values}) o ON o.v = s.v LIMIT 1"
            if known
            else None
        )
        checks.append(
            Check(
                table.name,
                f"SELECT _src, _rid, _row, '{ref.column}' AS col, {col} AS value, NULL AS a, "
                f"NULL AS b FROM {staged} s WHERE {col} IS NOT NULL AND {cond}",
                _always(expected),
                any_sql=unknown,
            )
        )
    return checks


def overlap_check(staged: str) -> Check:
    """Periods of one subscription that overlap, so the line item would count twice in a month.

    An open-ended period followed by a later one of the same subscription ends the day before
    it (monthly exports list each month's start only); two such starts in one month overlap.
    """
    periods = (
        f"FROM {staged} WHERE period_start IS NOT NULL AND subscription_id IS NOT NULL "
        "WINDOW w AS (PARTITION BY subscription_id ORDER BY period_start, _src, _row)"
    )
    overlaps = (
        "WHERE prev_start IS NOT NULL AND (prev_end >= s OR (prev_end IS NULL "
        "AND date_trunc('month', prev_start) = date_trunc('month', s)))"
    )
    previous = "lag(period_end) OVER w AS prev_end, lag(period_start) OVER w AS prev_start"
    sql = (
        "SELECT _src, _rid, _row, 'period_start' AS col, "
        "subscription_id || ' from ' || CAST(s AS VARCHAR) AS value, a, b FROM ("
        f"SELECT _src, _rid, _row, subscription_id, {previous}, "
        f"period_start AS s, lag(_src) OVER w AS a, lag(_row) OVER w AS b {periods}) {overlaps}"
    )

    def expected(c: str, a: int | None, b: int | None, files: Callable[[int], str]) -> str:
        return (
            f"one period per subscription and month (overlaps {files(int(a or 0))} row {b}; "
            "give concurrent line items their own subscription_id)"
        )

    # the same window without the rows' places and texts carried through it
    any_overlap = (
        f"SELECT 1 FROM (SELECT period_start AS s, {previous} {periods}) {overlaps} LIMIT 1"
    )
    return Check("subscriptions", sql, expected, any_sql=any_overlap)


def checks_for(con: Any, table: Table, views: dict[str, str]) -> list[Check]:
    """Every check of one table's staged rows (``views`` maps this load's tables to theirs)."""
    staged = views[table.name]
    checks = [
        *column_checks(table, staged),
        key_check(table, staged),
        *date_order_checks(table, staged),
        *reference_checks(con, table, staged, views),
    ]
    if table.name == "subscriptions":
        checks.append(overlap_check(staged))
    return checks


def _source_label(col: str, stage: Stage) -> str:
    """A canonical column as the stage's file calls it."""
    return stage.mapped.sources.get(col, col)


def report(con: Any, checks: Sequence[Check], stages: dict[int, Stage]) -> Problems:
    """The problems of ``checks``: the first ``MAX_SHOWN`` of each (by file and row) with the
    values as their files wrote them, the rest counted, and each cause's count and row span."""
    found = Problems()
    for check in checks:
        if not may_refuse(con, check):
            continue
        refused = refusals(con, check, stages, MAX_SHOWN)
        if not refused:
            continue
        found.extend([p for _, _, p in refused], refused_count(con, check))
        found.extents.update(extents(con, check, stages))
    return found


def may_refuse(con: Any, check: Check) -> bool:
    """Whether ``check`` may refuse a row: its cheaper first query (``any_sql``) finds one."""
    return check.any_sql is None or bool(con.execute(check.any_sql).fetchall())


def refusals(
    con: Any, check: Check, stages: dict[int, Stage], limit: int | None
) -> list[tuple[int, int, Problem]]:
    """The rows ``check`` refuses as ``(src, rid, problem)``, by file and row, the first
    ``limit`` (all when None), with the values as their files wrote them."""
    cap = f" LIMIT {int(limit)}" if limit is not None else ""
    rows = con.execute(f"SELECT * FROM ({check.sql}) ORDER BY _src, _row, col{cap}").fetchall()
    wanted = [(src, rid, col) for src, rid, _, col, value, *_ in rows if value is None]
    texts = source_texts(con, stages, wanted)
    out = []
    for src, rid, row, col, value, a, b in rows:
        stage = stages[src]
        label = (check.column_label or _source_label)(col, stage)
        shown = texts.get((src, rid, col)) if value is None else value
        expected = check.expected(col, a, b, lambda i: stages[i].label)
        out.append((int(src), int(rid), Problem(stage.label, int(row), label, shown, expected)))
    return out


def refused_count(con: Any, check: Check) -> int:
    return int(con.execute(f"SELECT count(*) FROM ({check.sql})").fetchall()[0][0])


def extents(con: Any, check: Check, stages: dict[int, Stage]) -> dict[Cause, Extent]:
    """Each cause of ``check`` (file, column, expectation) with its row count and span."""
    rows = con.execute(
        f"SELECT _src, col, a, b, count(*), min(_row), max(_row) FROM ({check.sql}) GROUP BY ALL"
    ).fetchall()
    out: dict[Cause, Extent] = {}
    for src, col, a, b, n, first, last in rows:
        stage = stages[src]
        label = (check.column_label or _source_label)(col, stage)
        cause = (stage.label, label, check.expected(col, a, b, lambda i: stages[i].label))
        before = out.get(cause, (0, None, None))
        lo = min(x for x in (before[1], first) if x is not None)
        hi = max(x for x in (before[2], last) if x is not None)
        out[cause] = (before[0] + int(n), int(lo), int(hi))
    return out


def source_texts(
    con: Any, stages: dict[int, Stage], wanted: Sequence[tuple[int, int, str]]
) -> dict[tuple[int, int, str], str | None]:
    """The text the files hold (after the mapping) at ``(src, rid, column)`` places.

    The stage keeps typed values only; the text of a few rows is read again from the file, in
    the same order as the stage was (so places agree), or picked by ``_rid`` from a lookup's
    joined table. Used only when there are problems to show."""
    by_src: dict[int, dict[str, set[int]]] = {}
    for src, rid, col in wanted:
        by_src.setdefault(src, {}).setdefault(col, set()).add(int(rid))
    out: dict[tuple[int, int, str], str | None] = {}
    for src, columns in by_src.items():
        mapped = stages[src].mapped
        present = [c for c in columns if c in mapped.texts]
        if not present:
            continue
        rids = sorted(set().union(*(columns[c] for c in present)))
        select = ", ".join(f"{mapped.texts[c]} AS {ident(c)}" for c in present)
        if mapped.position:
            place = ident(mapped.position)
            rows = con.execute(
                f"SELECT {place}, {select} FROM {mapped.relation} "
                f"WHERE list_contains(${len(mapped.params) + 1}, {place})",
                [*mapped.params, rids],
            ).fetchall()
        else:
            text = f"_text_{int(src)}"
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {text} AS SELECT {select} FROM {mapped.relation}",
                mapped.params,
            )
            rows = con.execute(
                f"SELECT rowid, {', '.join(ident(c) for c in present)} FROM {text} "
                "WHERE list_contains($1, rowid)",
                [rids],
            ).fetchall()
            con.execute(f"DROP TABLE {text}")
        for rid, *values in rows:
            for col, value in zip(present, values, strict=True):
                out[(src, int(rid), col)] = value
    return out

"""Validation in SQL over the staged text: every problem of every file, before anything is stored.

Types are found with TRY_CAST (a value that is present but does not cast is a problem), keys
with window counts, references with anti-joins against this load and the stored tables. Each
problem names the file, the spreadsheet row, the column (as the source file calls it), the value
and what was expected. Only the first ``MAX_SHOWN`` are kept; the rest are counted.
"""

# SQL here is assembled from schema names, generated temp-table names and ident()-quoted
# column names; every user value is a bound parameter (see icploop.ingest.sql).
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from icploop.errors import Problem, ValidationError
from icploop.ingest.schema import KNOWN_CURRENCIES, MAX_MRR, TABLES, Column, Table
from icploop.ingest.sql import ident, table_exists

MAX_SHOWN = 50
MIN_YEAR, MAX_YEAR = 1900, 2200


@dataclass
class Problems:
    """Problems found so far, capped at ``MAX_SHOWN`` shown, the rest counted."""

    shown: list[Problem] = field(default_factory=list)
    hidden: int = 0

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

    def __bool__(self) -> bool:
        return bool(self.shown) or self.hidden > 0

    def raise_if_any(self) -> None:
        if self:
            ordered = sorted(self.shown, key=lambda p: (p.file, p.row or 0, p.column or ""))
            raise ValidationError(ordered, self.hidden)


def typed(column: Column, x: str) -> str:
    """SQL turning text ``x`` into the column's canonical type; NULL when it does not convert.

    Money (``decimal``) is DECIMAL(18,2): exact cents up to 10^16. Dates outside 1900-2200 are
    treated as bad (they are typos or placeholder values such as 0001-01-01 or 9999-12-31).
    """
    if column.type == "int":
        return f"TRY_CAST({x} AS BIGINT)"
    if column.type == "float":
        return f"CASE WHEN isfinite(TRY_CAST({x} AS DOUBLE)) THEN TRY_CAST({x} AS DOUBLE) END"
    if column.type == "decimal":
        return f"TRY_CAST({x} AS DECIMAL(18,2))"
    if column.type == "date":
        d = f"TRY_CAST({x} AS DATE)"
        return f"CASE WHEN year({d}) BETWEEN {MIN_YEAR} AND {MAX_YEAR} THEN {d} END"
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


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else str(v)


def _column_checks(column: Column) -> list[tuple[str, str]]:
    """(SQL condition over ``v`` (text) and ``t`` (typed), expected) pairs, in priority order."""
    checks: list[tuple[str, str]] = []
    if column.required:
        checks.append(("v IS NULL", "a value (this column is required)"))
    if column.type in _EXPECTED_TYPE:
        checks.append(("v IS NOT NULL AND t IS NULL", _EXPECTED_TYPE[column.type]))
    if column.allowed:
        allowed = ", ".join(f"'{a}'" for a in column.allowed)  # schema constants, not user text
        checks.append((f"t NOT IN ({allowed})", "one of " + ", ".join(column.allowed)))
    if column.name == "currency":
        codes = ", ".join(f"'{c}'" for c in sorted(KNOWN_CURRENCIES))
        checks.append((f"t NOT IN ({codes})", "an ISO 4217 currency code such as USD, EUR, GBP"))
    if column.minimum is not None:
        checks.append((f"t < {column.minimum!r}", f"at least {_fmt(column.minimum)}"))
    if column.maximum is not None:
        hint = (
            " (an MRR above that is usually cents loaded as units)"
            if column.maximum == MAX_MRR
            else ""
        )
        checks.append((f"t > {column.maximum!r}", f"at most {_fmt(column.maximum)}{hint}"))
    return checks


def _fetch(
    con: Any, sql: str, params: list[Any] | None = None
) -> tuple[list[tuple[Any, ...]], int]:
    """Rows of a query that has a ``_total`` window count as its last column, capped."""
    rows = con.execute(f"{sql} LIMIT {MAX_SHOWN}", params or []).fetchall()
    total = int(rows[0][-1]) if rows else 0
    return [r[:-1] for r in rows], total


def check_columns(
    con: Any, table: Table, stage: str, labels: dict[tuple[str, str], str]
) -> Problems:
    """Blank required values, types, allowed values, currencies and bounds of every column."""
    found = Problems()
    for column in table.columns:
        checks = _column_checks(column)
        if not checks:
            continue
        c = ident(column.name)
        kind = " ".join(f"WHEN {cond} THEN {i}" for i, (cond, _) in enumerate(checks))
        sql = (
            f"SELECT _file, _row, v, k, count(*) OVER () FROM ("
            f"SELECT _file, _row, v, CASE {kind} END AS k FROM ("
            f"SELECT _file, _row, {c} AS v, {typed(column, c)} AS t FROM {stage})) "
            f"WHERE k IS NOT NULL ORDER BY _file, _row"
        )
        rows, total = _fetch(con, sql)
        problems = [
            Problem(f, r, labels.get((f, column.name), column.name), v, checks[k][1])
            for f, r, v, k in rows
        ]
        found.extend(problems, total)
    return found


def check_keys(con: Any, table: Table, stage: str, labels: dict[tuple[str, str], str]) -> Problems:
    """Rows whose key repeats an earlier row of this load (files in order, rows in order).

    Repeated keys are found by one hash aggregation; only their rows are then ordered to name
    the first occurrence, so a load without repeats never sorts the whole table."""
    found = Problems()
    keys = [typed(table.column(k), ident(k)) for k in table.key]
    names = [f"_k{i}" for i in range(len(keys))]
    part = ", ".join(names)
    not_null = " AND ".join(f"{k} IS NOT NULL" for k in keys)
    shown = " || ' / ' || ".join(f"CAST({k} AS VARCHAR)" for k in names)
    keyed = ", ".join(f"{k} AS {n}" for k, n in zip(keys, names, strict=True))
    sql = (
        f"WITH keyed AS (SELECT _file, _row, {keyed} FROM {stage} WHERE {not_null}), "
        f"repeated AS (SELECT {part} FROM keyed GROUP BY {part} HAVING count(*) > 1) "
        f"SELECT _file, _row, v, first_file, first_row, count(*) OVER () FROM ("
        f"SELECT _file, _row, {shown} AS v, "
        f"row_number() OVER w AS n, first_value(_file) OVER w AS first_file, "
        f"first_value(_row) OVER w AS first_row FROM keyed SEMI JOIN repeated USING ({part}) "
        f"WINDOW w AS (PARTITION BY {part} ORDER BY _file, _row)) WHERE n > 1 ORDER BY _file, _row"
    )
    rows, total = _fetch(con, sql)
    col = " + ".join(table.key)
    problems = [
        Problem(
            f,
            r,
            labels.get((f, table.key[0]), col) if len(table.key) == 1 else col,
            v,
            f"a unique {col} (already on {ff} row {fr})",
        )
        for f, r, v, ff, fr in rows
    ]
    found.extend(problems, total)
    return found


def check_date_order(
    con: Any, table: Table, stage: str, labels: dict[tuple[str, str], str]
) -> Problems:
    """Rows where an earlier date (e.g. period_start) is after its later one (period_end)."""
    found = Problems()
    for early, late in table.date_order:
        a = typed(table.column(early), ident(early))
        b = typed(table.column(late), ident(late))
        sql = (
            f"SELECT _file, _row, {ident(late)}, count(*) OVER () FROM {stage} "
            f"WHERE {a} > {b} ORDER BY _file, _row"
        )
        rows, total = _fetch(con, sql)
        found.extend(
            [
                Problem(f, r, labels.get((f, late), late), v, f"a date on or after {early}")
                for f, r, v in rows
            ],
            total,
        )
    return found


def check_references(
    con: Any, table: Table, stage: str, stages: dict[str, str], labels: dict[tuple[str, str], str]
) -> Problems:
    """Rows whose reference (e.g. a deal's account) is neither in this load nor stored."""
    found = Problems()
    for ref in table.references:
        col = ident(ref.column)
        exists = []
        if ref.table in stages:
            exists.append(
                f"SELECT 1 FROM {stages[ref.table]} o WHERE o.{ident(ref.target)} = s.{col}"
            )
        if table_exists(con, ref.table):
            exists.append(
                f"SELECT 1 FROM main.{ident(ref.table)} o WHERE o.{ident(ref.target)} = s.{col}"
            )
        cond = " AND ".join(f"NOT EXISTS ({e})" for e in exists) or "TRUE"
        sql = (
            f"SELECT _file, _row, {col}, count(*) OVER () FROM {stage} s "
            f"WHERE {col} IS NOT NULL AND {cond} ORDER BY _file, _row"
        )
        rows, total = _fetch(con, sql)
        expected = f"a value present in {ref.table}.{ref.target} (in this load or already stored)"
        found.extend(
            [
                Problem(f, r, labels.get((f, ref.column), ref.column), v, expected)
                for f, r, v in rows
            ],
            total,
        )
    return found


def check_duplicate_months(con: Any, stage: str) -> Problems:
    """Periods of one subscription that overlap, so the line item would count twice in a month.

    An open-ended period followed by a later one of the same subscription ends the day before
    it (monthly exports list each month's start only); two such starts in one month overlap.
    """
    table = TABLES["subscriptions"]
    start = typed(table.column("period_start"), "period_start")
    end = typed(table.column("period_end"), "period_end")
    sql = (
        f"SELECT _file, _row, v, pf, pr, count(*) OVER () FROM ("
        f"SELECT _file, _row, subscription_id || ' from ' || period_start AS v, "
        f"lag({end}) OVER w AS prev_end, lag({start}) OVER w AS prev_start, {start} AS s, "
        f"lag(_file) OVER w AS pf, lag(_row) OVER w AS pr FROM {stage} "
        f"WHERE {start} IS NOT NULL AND subscription_id IS NOT NULL "
        f"WINDOW w AS (PARTITION BY subscription_id ORDER BY {start}, _file, _row)) "
        f"WHERE prev_start IS NOT NULL AND (prev_end >= s OR (prev_end IS NULL "
        f"AND date_trunc('month', prev_start) = date_trunc('month', s))) ORDER BY _file, _row"
    )
    rows, total = _fetch(con, sql)
    found = Problems()
    found.extend(
        [
            Problem(
                f,
                r,
                "period_start",
                v,
                f"one period per subscription and month (overlaps {pf} row {pr}; give concurrent "
                "line items their own subscription_id)",
            )
            for f, r, v, pf, pr in rows
        ],
        total,
    )
    return found

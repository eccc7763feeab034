"""Loading: read, map, validate, then store all-or-nothing in one transaction.

Nothing is stored unless every file of the load is valid. Storing upserts each table by its key
(rows whose key arrives again are replaced), so loading the same files twice gives the same
state and a later load with new months appends. A table that is empty (a first load) takes the
one file's stage as it is, kept in the database for that, instead of copying its rows again.
The derived tables are rebuilt and the load is recorded in ``_icploop_loads`` in the same
transaction; any failure rolls all of it back (a kept stage is dropped with the load's temp
tables). A refused first load stores nothing, but the database file keeps the space its stages
took as free blocks, which the next load reuses (a workspace writes each load into a copy of the
warehouse and removes the copy of a refused one, see :mod:`icploop.generations`).
"""

# SQL here is assembled from schema names, generated temp-table names and ident()-quoted
# column names; every user value is a bound parameter (see icploop.ingest.sql).
# ruff: noqa: S608

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from ibis.backends import BaseBackend

from icploop.config import DEFAULT_CURRENCY, DEFAULT_LOAD_MEMORY, MEMORY_SIZE
from icploop.errors import IcploopError, Problem
from icploop.ingest import derive, keys, quarantine, read, transform, validate
from icploop.ingest.mapping import Mapping
from icploop.ingest.schema import KNOWN_CURRENCIES, LOADABLE_TABLES, TABLES
from icploop.ingest.sql import duckdb_connection, ident, idents, table_exists

LOADS_TABLE = "_icploop_loads"
ProgressCallback = Callable[[int, int, str], None]
"""Called as ``progress(done, total, what)``: one step per file read, then validate and store."""


@dataclass(frozen=True)
class FileRecord:
    """One file of a load: where it went, its content hash, rows read and rows dropped."""

    path: str
    table: str
    sha256: str
    rows: int
    dropped: int = 0
    rejected: int = 0


@dataclass(frozen=True)
class TableCount:
    table: str
    inserted: int
    replaced: int


@dataclass(frozen=True)
class LoadResult:
    """What a load stored; ``notes`` are things a user should know (dropped rows, unused columns)."""

    load_id: int
    files: list[FileRecord]
    tables: dict[str, TableCount]
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reporting_currency: str = DEFAULT_CURRENCY
    rejected: int = 0
    """Rows set aside by quarantine (``max_rejects``), written to the rejects file."""


def create_tables(con: Any) -> None:
    """Create every canonical table (if missing) with canonical types, and the load log."""
    for table in TABLES.values():
        cols = ", ".join(f"{ident(c.name)} {validate.SQL_TYPES[c.type]}" for c in table.columns)
        if table.name in keys.KEYED_TABLES:
            cols += f", {keys.KEY} BIGINT"
        con.execute(f"CREATE TABLE IF NOT EXISTS main.{ident(table.name)} ({cols})")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS main.{LOADS_TABLE} (load_id BIGINT, loaded_at TIMESTAMP, "
        "table_name VARCHAR, files VARCHAR, rows_inserted BIGINT, rows_replaced BIGINT)"
    )


def _upsert(con: Any, table: str, staged: str) -> TableCount:
    """Replace stored rows whose key arrives again, then insert the staged rows."""
    t = TABLES[table]
    on = " AND ".join(f"t.{ident(k)} = s.{ident(k)}" for k in t.key)
    replaced = con.execute(
        f"DELETE FROM main.{ident(table)} t USING {staged} s WHERE {on}"
    ).fetchall()[0][0]
    cols = idents(t.column_names)
    if table in keys.KEYED_TABLES:
        # every staged row's account is stored (the reference check), so every row gets a key
        picked = ", ".join(f"s.{ident(c)}" for c in t.column_names)
        inserted = con.execute(
            f"INSERT INTO main.{ident(table)} ({cols}, {keys.KEY}) SELECT {picked}, k.{keys.KEY} "
            f"FROM {staged} s LEFT JOIN main.{keys.ACCOUNT_KEYS} k ON k.account_id = s.account_id"
        ).fetchall()[0][0]
    else:
        inserted = con.execute(
            f"INSERT INTO main.{ident(table)} ({cols}) SELECT {cols} FROM {staged}"
        ).fetchall()[0][0]
    return TableCount(table, int(inserted), int(replaced))


def _upsert_attributes(con: Any, staged_accounts: str, attributes: str) -> None:
    """Incoming accounts' attributes replace all their stored attributes."""
    con.execute(
        "DELETE FROM main.account_attributes t USING (SELECT DISTINCT account_id FROM "
        f"{staged_accounts}) s WHERE t.account_id = s.account_id"
    )
    con.execute(
        f"INSERT INTO main.account_attributes SELECT account_id, attribute, any_value(value) "
        f"FROM {attributes} GROUP BY account_id, attribute"
    )


def _upsert_roles(con: Any, roles: list[tuple[str, str, str]]) -> None:
    """A mapping's ``role:`` entries replace the stored role of the same attribute."""
    for table, attribute, role in roles:
        con.execute(
            "DELETE FROM main.attribute_roles WHERE source_table = $1 AND attribute = $2",
            [table, attribute],
        )
        con.execute(
            "INSERT INTO main.attribute_roles VALUES ($1, $2, $3)", [table, attribute, role]
        )


def _role_overrides(mapped: list[transform.Mapped]) -> list[tuple[str, str, str]]:
    """(table, attribute, role) for each ``role:`` entry of the mapping. A key naming a canonical
    column, or the source column mapped onto one, means that column; any other key is an extra
    attribute's source column, named as it is stored (snake_case)."""
    found: dict[tuple[str, str], str] = {}
    for m in mapped:
        entry = m.opened.source.entry
        if entry is None:
            continue
        canonical = TABLES[entry.table].column_names
        by_source = {s.column: name for name, s in entry.columns.items() if s.column is not None}
        for key, role in entry.role.items():
            name = key if key in canonical else by_source.get(key, transform.snake(key))
            found[(entry.table, name)] = role
    return [(table, name, role) for (table, name), role in found.items()]


class StoreFailed(Exception):
    """The engine could not write the load's transaction (its message says why)."""


def _spill_folder(con: Any) -> str:
    try:
        return str(con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0])
    except duckdb.Error:
        return "the analytics database's .tmp folder"


class _Temp:
    """Temp tables and views created during one load, dropped at the end whatever happens."""

    def __init__(self, con: Any) -> None:
        self.con = con
        self.tables: list[str] = []
        self.views: list[str] = []

    def drop(self) -> None:
        for name in self.views:
            # a file's view is one of the database itself (DuckDB's relations make it so)
            self.con.execute(f"DROP VIEW IF EXISTS temp.{ident(name)}")
            self.con.execute(f"DROP VIEW IF EXISTS main.{ident(name)}")
        for name in self.tables:
            schema = "main" if name.startswith(validate.STORED_STAGE) else "temp"
            self.con.execute(f"DROP TABLE IF EXISTS {schema}.{ident(name)}")


def _drop_leftover_stages(con: Any) -> None:
    """Drop the stages kept in the database (``validate.STORED_STAGE``) that a killed load left."""
    names = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND schema_name = 'main' "
        "AND database_name = current_database() AND starts_with(table_name, $1)",
        [validate.STORED_STAGE],
    ).fetchall()
    for (name,) in names:
        con.execute(f"DROP TABLE IF EXISTS main.{ident(name)}")


def _empty(con: Any, table: str) -> bool:
    """Whether stored table ``table`` is missing or has no rows."""
    return (
        not table_exists(con, table)
        or not con.execute(f"SELECT count(*) FROM main.{ident(table)}").fetchall()[0][0]
    )


def _into_empty(
    con: Any, sources: list[read.SourceFile], opened: dict[int, read.OpenedFile], quarantined: bool
) -> set[int]:
    """The files whose stage can become their table: the one file of its table in this load, into
    a table that is missing or empty, without quarantine (which leaves rows of a stage out)."""
    if quarantined:
        return set()
    per_table: dict[str, list[int]] = {}
    for i, source in enumerate(sources):
        if i in opened and source.table in LOADABLE_TABLES:
            per_table.setdefault(source.table, []).append(i)
    return {
        found[0] for table, found in per_table.items() if len(found) == 1 and _empty(con, table)
    }


def load_paths(
    backend: BaseBackend,
    paths: list[Path],
    mapping: Mapping | None = None,
    *,
    reporting_currency: str | None = DEFAULT_CURRENCY,
    progress: ProgressCallback | None = None,
    loaded_at: datetime | None = None,
    memory_limit: str = DEFAULT_LOAD_MEMORY,
    max_rejects: int | None = None,
    rejects: Path | None = None,
) -> LoadResult:
    """Load CSV/Parquet files and folders into the analytics DuckDB, all or nothing.

    ``paths`` are files or folders (a folder loads every recognised file in it). With
    ``mapping`` files are matched to its entries; without, by canonical name. Raises
    ``ValidationError`` listing every problem (first 50 shown) and stores nothing; raises
    ``IcploopError`` when no file is recognised. ``loaded_at`` defaults to now (UTC).
    ``reporting_currency`` is the ISO code money is converted into; None (a workspace that
    records none yet) takes the one currency this load's accounts and subscriptions name when
    nothing is stored yet, else USD (``LoadResult.reporting_currency`` says which).
    ``memory_limit`` (e.g. ``2GB``) caps DuckDB's memory during the load: the staging copies
    spill to disk beyond it instead of growing with the input (by default DuckDB would hold them
    in up to 80% of the machine's memory).
    With ``max_rejects`` and ``rejects`` (both or neither), up to that many refused rows are
    set aside into the ``rejects`` CSV with their problems and the rest loads (see
    :mod:`icploop.ingest.quarantine`); more refused rows refuse the load as without them.
    """
    quarantine.check_limit(max_rejects, rejects)
    if reporting_currency is not None and reporting_currency not in KNOWN_CURRENCIES:
        raise IcploopError(
            f"unknown reporting currency {reporting_currency!r}", "use an ISO 4217 code like USD"
        )
    if not re.fullmatch(MEMORY_SIZE, memory_limit):
        raise IcploopError(
            f"memory limit {memory_limit!r} is not a size", "use a size such as 2GB or 512MB"
        )
    con = duckdb_connection(backend)
    sources, skipped = read.discover(paths, mapping)
    read.drop_leftover_views(con)  # what a killed load left behind
    _drop_leftover_stages(con)
    temp = _Temp(con)
    hashing = read.Hashing()
    try:
        with (
            _memory_limited(con, memory_limit),
            tempfile.TemporaryDirectory(prefix="icploop-load-") as tmp,
        ):
            return _load(
                con,
                sources,
                skipped,
                temp,
                Path(tmp),
                reporting_currency,
                progress,
                loaded_at,
                (max_rejects, rejects) if max_rejects is not None and rejects else None,
                hashing,
            )
    except duckdb.OutOfMemoryException as exc:
        if "offload" in str(exc):  # DuckDB's words when the spill folder's disk is full
            raise IcploopError(
                f"the disk holding the load's spill folder ({_spill_folder(con)}) ran out of "
                "space; nothing was loaded",
                "free disk space there, or raise ICPLOOP_LOAD_MEMORY_LIMIT so less is spilled",
            ) from None
        raise IcploopError(
            f"the load ran out of memory under its limit of {memory_limit}; nothing was loaded",
            "raise the limit (ICPLOOP_LOAD_MEMORY_LIMIT, e.g. 4GB) or load fewer files at once",
        ) from exc
    except StoreFailed as exc:
        raise IcploopError(
            f"the load could not be stored ({exc}); nothing was loaded",
            "free disk space beside the analytics database and load again",
        ) from None
    finally:
        hashing.close()
        temp.drop()


@contextmanager
def _memory_limited(con: Any, limit: str) -> Iterator[None]:
    """DuckDB's memory limit set to ``limit`` (checked against MEMORY_SIZE) for the block, then
    set back.

    DuckDB shows its limit truncated to one decimal ("18.8 GiB" for 18.8-18.9) and ``RESET``
    changes the shown setting but not the limit in force, so the limit is set back to the middle
    of the shown step: within 0.05 of a unit, and showing the same text again, so repeated loads
    do not drift."""
    before = str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
    shown = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]i?B)", before)
    restore = f"{float(shown[1]) + 0.05:.2f} {shown[2]}" if shown else before
    con.execute(f"SET memory_limit = '{limit}'")
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = '{restore}'")


def _formula_note(con: Any, stage: validate.Stage) -> str | None:
    """The stage's text columns (canonical and kept extras) holding formula-like values."""
    table = TABLES[stage.table]
    columns = [
        (stage.mapped.sources.get(c.name, c.name), c.name)
        for c in table.columns
        if c.type in ("string", "list") and c.name in stage.mapped.texts
    ]
    columns += [(name, f"_x{i}") for i, name in enumerate(stage.mapped.extra)]
    row = f"{stage.rid} + {int(stage.mapped.opened.first_row)}"
    return read.formula_note(con, stage.label, stage.name, columns, row)


def _load(
    con: Any,
    sources: list[read.SourceFile],
    skipped: list[Path],
    temp: _Temp,
    tmp: Path,
    reporting: str | None,
    progress: ProgressCallback | None,
    loaded_at: datetime | None,
    limit: tuple[int, Path] | None,
    hashing: read.Hashing,
) -> LoadResult:
    """Read each file once into its typed stage, check the staged rows, then store them.
    ``limit`` (max rejects, rejects file) sets refused rows aside instead of refusing all;
    ``hashing`` computes the files' digests meanwhile."""
    total = len(sources) + 2
    found: list[Problem] = []
    opened: dict[int, read.OpenedFile] = {}
    for i, source in enumerate(sources):
        temp.tables += [f"_stage_{i}", f"_raw_{i}", f"_join_{i}", f"_evt_{i}", f"_rej_{i}"]
        temp.tables += [f"_rejscan_{i}", f"{validate.STORED_STAGE}{i}"]
        temp.views.append(f"_src_{i}")
        file = read.open_file(con, source, i, tmp, found, hashing)
        if file is not None:
            opened[i] = file
    # files read only to be looked up are joined into the entries that name them
    lookups = [f for f in opened.values() if f.source.table == read.LOOKUP]
    # a file into an empty table is staged in the database, to become the table if it is valid
    into_empty = _into_empty(con, sources, opened, limit is not None)
    stages: dict[int, validate.Stage] = {}
    planned: str | None = None
    # keyed tables last: a Parquet stage that may become its table is given the accounts' keys
    # as it is read, planned from the accounts staged before it
    order = sorted(range(len(sources)), key=lambda i: sources[i].table in keys.KEYED_TABLES)
    for done, i in enumerate(order, start=1):
        source = sources[i]
        file = opened.get(i)
        if file is not None and source.table != read.LOOKUP:
            mapped = transform.map_columns(con, file, i, found, lookups)
            if mapped.texts:
                try:
                    # rows a mapping leaves out, or a lookup's reordering, keep the stage apart
                    whole = not (mapped.keep_if or mapped.drop_if or mapped.position)
                    stored = whole and i in into_empty
                    keys_from = None
                    if stored and source.table in keys.KEYED_TABLES and validate.keyable(mapped):
                        planned = planned or _plan_keys(con, stages, temp)
                        keys_from = planned
                    stages[i] = validate.stage_file(
                        con, mapped, i, stored=stored, keys_from=keys_from
                    )
                    rejected = read.rejected_lines(con, file)
                except duckdb.OutOfMemoryException:
                    raise  # the engine's memory, not the file: the load reports it as such
                except duckdb.Error as exc:  # the file's bytes, found while reading it
                    rejected = [read.unreadable(file, exc)]
                if rejected:
                    found.extend(rejected)
                    stages.pop(i, None)
        if progress:
            progress(done, total, f"read {source.label}")
    problems = validate.Problems()
    problems.extend(found)
    problems.raise_if_any()

    set_aside = None
    temp.tables.append(quarantine.REFUSED)
    if limit is None:
        views = quarantine.staged_views(con, stages, None)
        temp.views += list(views.values())
        for table in views:
            checks = validate.checks_for(con, TABLES[table], views)
            problems.merge(validate.report(con, checks, stages))
        problems.raise_if_any()
    else:
        views, set_aside = quarantine.quarantine(con, stages, *limit)
        temp.views += list(views.values())

    attributes = _stage_attributes(con, stages, views, temp)
    if progress:
        progress(total - 1, total, "validated")

    files = [
        FileRecord(
            str(s.mapped.opened.source.path),
            s.table,
            s.mapped.opened.sha256,
            s.rows,
            s.dropped,
            set_aside.per_file.get(src, 0) if set_aside else 0,
        )
        for src, s in stages.items()
    ]
    if reporting is None:
        reporting = _only_currency(con, views) or DEFAULT_CURRENCY
    roles = _role_overrides([s.mapped for s in stages.values()])
    # read from the stages, which the store may turn into tables
    formulas = [note for s in stages.values() if (note := _formula_note(con, s))]
    try:
        result = _store(con, views, attributes, files, reporting, loaded_at, stages, roles, planned)
    except BaseException:
        if set_aside is not None and set_aside.path is not None:
            set_aside.path.unlink(missing_ok=True)  # nothing loaded, nothing set aside
        raise
    if progress:
        progress(total, total, "stored")
    notes = []
    if set_aside is not None and set_aside.total:
        notes.append(f"{set_aside.total:,} row(s) refused and written to {set_aside.path}")
    notes += [
        f"{s.label}: kept {s.rows - s.filtered:,} of {s.rows:,} row(s) where "
        f"{' and '.join(c.describe() for c in s.mapped.opened.source.entry.where)}"
        for s in stages.values()
        if s.mapped.opened.source.entry is not None and s.mapped.opened.source.entry.where
    ]
    notes += [
        f"{s.label}: {s.mapped.events:,} event(s) counted into "
        f"{s.staged:,} usage row(s) (one per account, day and feature)"
        for s in stages.values()
        if s.mapped.events
    ]
    notes += [
        f"{s.label}: dropped {s.dropped} row(s) with a blank "
        f"{', '.join(s.mapped.opened.source.entry.drop_if_blank)}"
        for s in stages.values()
        if s.dropped and s.mapped.opened.source.entry is not None
    ]
    # a file read for two tables (accounts and subscriptions of one snapshot) loads a column
    # when either entry does: only the columns that none of its entries used are not loaded
    unused: dict[str, list[str]] = {}
    for s in stages.values():
        before = unused.get(s.label)
        unused[s.label] = [c for c in s.mapped.ignored if before is None or c in before]
    notes += [
        f"{label}: columns not loaded: {', '.join(columns)}"
        for label, columns in unused.items()
        if columns
    ]
    notes += formulas
    carried = derive.carried_forward(con) if "subscriptions" in views else None
    if carried is not None:
        notes.append(carried.note())
    return LoadResult(
        result[0],
        files,
        result[1],
        [str(p) for p in skipped],
        notes,
        reporting,
        set_aside.total if set_aside else 0,
    )


def _only_currency(con: Any, views: dict[str, str]) -> str | None:
    """The one currency this load's accounts and subscriptions name, when nothing is stored yet
    (a workspace's first money load); None when there are several, none, or stored revenue.
    ``views`` are the load's staged tables."""
    if (
        table_exists(con, "subscriptions")
        and con.execute("SELECT count(*) FROM main.subscriptions").fetchall()[0][0]
    ):
        return None
    parts = [
        f"SELECT DISTINCT currency AS c FROM {views[t]} WHERE currency IS NOT NULL"
        for t in ("accounts", "subscriptions")
        if t in views
    ]
    if not parts:
        return None
    found = con.execute(" UNION ".join(parts)).fetchall()
    return str(found[0][0]) if len(found) == 1 else None


def _plan_keys(con: Any, stages: dict[int, validate.Stage], temp: _Temp) -> str:
    """The load's planned account keys (``keys.plan``) from the accounts staged so far."""
    accounts = [s for s in stages.values() if s.table == "accounts"]
    temp.tables.append(keys.PLANNED)
    temp.views.append("_staged_accounts")  # made again with the others once all are staged
    return keys.plan(con, validate.staged_view(con, "accounts", accounts) if accounts else None)


def _stage_attributes(
    con: Any, stages: dict[int, validate.Stage], views: dict[str, str], temp: _Temp
) -> str | None:
    """The temp table ``_stage_attrs`` of kept extra account columns (account_id, attribute,
    value), or None when no accounts file keeps any."""
    parts = [
        transform.attribute_rows_sql(s.mapped, views["accounts"], src)
        for src, s in stages.items()
        if s.table == "accounts" and s.mapped.extra
    ]
    parts = [(sql, params) for sql, params in parts if sql]
    if not parts:
        return None
    temp.tables.append("_stage_attrs")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _stage_attrs AS {parts[0][0]}", parts[0][1])
    for sql, params in parts[1:]:
        con.execute(f"INSERT INTO _stage_attrs {sql}", params)
    return "_stage_attrs"


def _stored_stage(stages: dict[int, validate.Stage], table: str) -> validate.Stage | None:
    """The load's stage of ``table`` kept in the database (see ``_into_empty``), if any."""
    found = [
        s for s in stages.values() if s.table == table and s.name.startswith(validate.STORED_STAGE)
    ]
    return found[0] if found else None


def _keep_stage(con: Any, table: str, stages: dict[int, validate.Stage]) -> TableCount | None:
    """Inside the store's transaction: the stage of ``table`` kept in the database becomes the
    table, when the table is still empty (its rows are not copied a second time): the stage's
    columns beyond the table's are dropped. None (nothing done) when there is no such stage or
    the table has rows. A keyed stage keeps the account keys it was read with; a keyed table's
    stage read without them gets them from ``keys.fill``."""
    stage = _stored_stage(stages, table)
    if stage is None or not _empty(con, table):
        return None
    con.execute(f"DROP TABLE main.{ident(table)}")
    con.execute(f"ALTER TABLE main.{ident(stage.name)} RENAME TO {ident(table)}")
    canonical = set(TABLES[table].column_names)
    if stage.keyed:
        canonical.add(keys.KEY)
    columns = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' "
        "AND database_name = current_database() AND table_name = $1",
        [table],
    ).fetchall()
    for (column,) in columns:
        if column not in canonical:
            con.execute(f"ALTER TABLE main.{ident(table)} DROP COLUMN {ident(column)}")
    return TableCount(table, stage.staged, 0)


def _store(
    con: Any,
    views: dict[str, str],
    attributes: str | None,
    files: list[FileRecord],
    reporting: str,
    loaded_at: datetime | None,
    stages: dict[int, validate.Stage],
    roles: list[tuple[str, str, str]],
    planned: str | None,
) -> tuple[int, dict[str, TableCount]]:
    """The load's one write, a transaction: upserts of the staged rows, the derived tables, the
    load record; rolled back on any failure. Everything before it only reads and stages.
    ``planned`` names the account keys a kept keyed stage was given (``keys.plan``)."""
    con.execute("BEGIN TRANSACTION")
    try:
        create_tables(con)
        # accounts first: their keys are assigned before the keyed tables are stored
        kept = {t: c for t in views if (c := _keep_stage(con, t, stages)) is not None}
        stored = dict(kept)
        if "accounts" in views and "accounts" not in kept:
            stored["accounts"] = _upsert(con, "accounts", views["accounts"])
        keys.assign(con, planned)  # numbers the accounts
        keys.fill(con, [t for t in keys.KEYED_TABLES if t not in kept])  # stored before keys
        for table in kept:
            # the staged rows are the table's own now: the same view over it (same file rows);
            # a keyed stage's places (_pos) are not kept, and nothing reads its view again
            if (stage := _stored_stage(stages, table)) is not None and not stage.keyed:
                table_name = f"main.{ident(table)}"
                validate.staged_view(con, table, [dataclasses.replace(stage, name=table_name)])
        counts = {t: stored.get(t) or _upsert(con, t, view) for t, view in views.items()}
        if attributes and "accounts" in views:
            _upsert_attributes(con, views["accounts"], attributes)
        _upsert_roles(con, roles)
        derive.check_and_rebuild(
            con, reporting, views.get("subscriptions"), lambda src: stages[src].label
        )
        keys.fill(con, kept)  # a kept keyed stage read without its keys (CSV) gets them
        load_id = con.execute(
            f"SELECT COALESCE(max(load_id), 0) + 1 FROM {LOADS_TABLE}"
        ).fetchall()[0][0]
        when = loaded_at or datetime.now(UTC).replace(tzinfo=None)
        for table, count in counts.items():
            listed = [
                {"path": f.path, "sha256": f.sha256, "rows": f.rows, "rejected": f.rejected}
                for f in files
                if f.table == table
            ]
            con.execute(
                f"INSERT INTO {LOADS_TABLE} VALUES ($1, $2, $3, $4, $5, $6)",
                [load_id, when, table, json.dumps(listed), count.inserted, count.replaced],
            )
        con.execute("COMMIT")
    except BaseException as exc:
        with contextlib.suppress(duckdb.Error):  # a failed COMMIT has ended the transaction
            con.execute("ROLLBACK")
        if isinstance(exc, duckdb.Error) and not isinstance(exc, duckdb.OutOfMemoryException):
            # the engine failing to write (a full disk at commit): one line with its cause
            raise StoreFailed(str(exc).splitlines()[0]) from exc
        raise
    return int(load_id), counts


def load_from_tables(
    backend: BaseBackend,
    source_backend: BaseBackend,
    tables: dict[str, str],
    mapping: Mapping | None = None,
    **options: Any,
) -> LoadResult:
    """Load tables any Ibis backend can reach, through the same validation as files.

    ``tables`` maps each canonical table to a table name in ``source_backend``. Without a
    mapping the source columns must carry canonical names; with one, its entries' ``files``
    globs are matched against ``<source table name>.parquet``. Each source is exported to
    Parquet in a temp folder first (streamed by the source backend, not held in Python).
    ``options`` are passed to ``load_paths``.
    """
    with tempfile.TemporaryDirectory(prefix="icploop-tables-") as tmp:
        paths = []
        for canonical, source_name in tables.items():
            if mapping is None and canonical not in LOADABLE_TABLES:
                raise IcploopError(
                    f"unknown table {canonical!r}", f"choose from {', '.join(LOADABLE_TABLES)}"
                )
            try:
                expr = source_backend.table(source_name)
            except Exception as exc:  # each backend raises its own "not found"
                raise IcploopError(f"cannot read table {source_name!r}: {exc}") from None
            name = canonical if mapping is None else source_name
            path = Path(tmp) / f"{name}.parquet"
            expr.to_parquet(path)
            paths.append(path)
        return load_paths(backend, paths, mapping, **options)

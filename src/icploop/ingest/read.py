"""Finding the files of a load and opening each as a relation (CSV as text, Parquet typed).

Opening checks what DuckDB cannot report well itself: empty files, the encoding (with the line
of the first bad byte), blank and duplicate headers. Ragged rows are caught by DuckDB's
``store_rejects`` with their line numbers when the file is read. Nothing here reads rows into
Python objects, and nothing here copies a file: the load reads each file once, into its stage.
"""

# SQL here is assembled from schema names, generated temp-table names and ident()-quoted
# column names; every user value is a bound parameter (see icploop.ingest.sql).
# ruff: noqa: S608

from __future__ import annotations

import csv
import fnmatch
import hashlib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from icploop.errors import IcploopError, Problem
from icploop.ingest.mapping import Mapping, TableMapping
from icploop.ingest.schema import LOADABLE_TABLES
from icploop.ingest.sql import ident
from icploop.spreadsheet import NUMBER_SQL_PATTERN

SUFFIXES = (".csv", ".parquet")
_CHUNK = 1 << 20
#: the longest line (in bytes) a CSV may have, given to DuckDB as its ``max_line_size``. DuckDB
#: reports a longer line as a rejected row, except one longer than its read buffer, which it
#: skips without a word: every physical line is measured here first, so no row is ever dropped
#: silently.
MAX_LINE = 2_000_000
LOOKUP = "_lookup"
"""The ``table`` of a file read only to be looked up by a mapping entry (``lookup:``)."""


@dataclass(frozen=True)
class SourceFile:
    """One file of a load and the canonical table it fills (through ``entry`` when mapped)."""

    path: Path
    table: str
    entry: TableMapping | None = None
    encoding: str = "utf-8"
    delimiter: str = ","

    @property
    def label(self) -> str:
        return self.path.name

    @property
    def is_parquet(self) -> bool:
        return self.path.suffix.lower() == ".parquet"


@dataclass(frozen=True)
class OpenedFile:
    """A file opened as the relation ``view`` (not yet read): its header and, for Parquet, the
    engine's type of each column (CSV columns are all ``VARCHAR``). Data row ``n`` (counted
    from 0 in file order) is spreadsheet row ``n + first_row``."""

    source: SourceFile
    view: str
    header: tuple[str, ...]
    types: tuple[str, ...]
    digest: Future[str]
    first_row: int
    rejects: str | None = None  # CSV: the table DuckDB fills with ragged lines while scanning

    @property
    def sha256(self) -> str:
        """The file's SHA-256 (waits for the background hashing, see :class:`Hashing`)."""
        return self.digest.result()


def _expand(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """(explicit files, files found in folders), each sorted, in the order given."""
    explicit: list[Path] = []
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(
                sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in SUFFIXES)
            )
        elif p.is_file():
            explicit.append(p)
        else:
            raise IcploopError(f"no such file or folder: {p}", "check the path and try again")
    return explicit, found


def discover(paths: list[Path], mapping: Mapping | None) -> tuple[list[SourceFile], list[Path]]:
    """The files to load and the files skipped (in folders, not recognised).

    Without a mapping a file is recognised by its canonical name (``deals.csv``,
    ``usage.parquet``). With one, by every entry whose glob matches its name (one export can
    fill several tables, e.g. accounts and subscriptions from one snapshot), and once more as a
    lookup source (table ``LOOKUP``) when an entry's ``lookup`` names it. A file named
    explicitly that nothing recognises is an error; one found in a folder is skipped.
    """
    explicit, found = _expand(paths)
    sources: list[SourceFile] = []
    skipped: list[Path] = []
    for path in [*explicit, *found]:
        matched = _recognise(path, mapping)
        if matched:
            sources.extend(matched)
        elif path in explicit:
            what = "no entry of the mapping matches it" if mapping else "its name is not a table"
            raise IcploopError(
                f"cannot tell which table {path.name} is for: {what}",
                "name it after a table (e.g. accounts.csv, deals.csv) or pass --mapping/--preset",
            )
        else:
            skipped.append(path)
    if not sources:
        raise IcploopError(
            "nothing to load: no recognised CSV or Parquet file in " + ", ".join(map(str, paths)),
            f"canonical names are {', '.join(LOADABLE_TABLES)} (.csv or .parquet)",
        )
    return sources, skipped


def _recognise(path: Path, mapping: Mapping | None) -> list[SourceFile]:
    if path.suffix.lower() not in SUFFIXES:
        return []
    if mapping is None:
        if path.stem.lower() in LOADABLE_TABLES:
            return [SourceFile(path, path.stem.lower())]
        return []
    found = [
        SourceFile(path, e.table, e, mapping.encoding_for(e), mapping.delimiter_for(e))
        for e in mapping.tables
        if any(matches(path.name, g) for g in e.files)
    ]
    if any(matches(path.name, lk.file) for e in mapping.tables for lk in e.lookup):
        found.append(SourceFile(path, LOOKUP, None, mapping.encoding, mapping.delimiter))
    return found


def matches(name: str, glob: str) -> bool:
    """Whether a file name matches a mapping's glob (case-insensitively)."""
    return fnmatch.fnmatch(name.lower(), glob.lower())


def sha256_of(path: Path, stop: threading.Event | None = None) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks; with ``stop``, given up (``Abandoned``)
    once it is set."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            if stop is not None and stop.is_set():
                raise Abandoned(path)
            digest.update(chunk)
    return digest.hexdigest()


class Abandoned(Exception):
    """A file's digest given up because its load ended first."""


class Hashing:
    """The digests of a load's files, computed in one background thread while the engine reads
    the files: hashing is single-threaded (about 2.5 s per GB on this machine kind, 8 s for a
    million accounts' files) and hashlib lets other threads run meanwhile. :meth:`close` gives
    up the digests not done (a refused load does not wait for them)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="icploop-sha256")
        self._stop = threading.Event()

    def submit(self, path: Path) -> Future[str]:
        return self._pool.submit(sha256_of, path, self._stop)

    def close(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True)


def _too_long(source: SourceFile, line: int, size: int) -> Problem:
    return Problem(
        source.label,
        line,
        None,
        None,
        f"a line of at most {MAX_LINE:,} bytes (this one has {size:,} or more: a field too long "
        "to load, or a quote left open)",
    )


def _check_encoding(source: SourceFile) -> Problem | None:
    """The first line that does not decode, or that is longer than :data:`MAX_LINE`; chunks end
    at a newline (never inside a character). A chunk is shorter than ``MAX_LINE``, so only the
    unfinished line carried from chunk to chunk can be too long."""
    line = 1
    carry = b""
    with source.path.open("rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            data = carry + chunk
            cut = data.rfind(b"\n") + 1 if chunk else len(data)
            first_end = data.find(b"\n")
            if (first_end if first_end >= 0 else len(data)) > MAX_LINE:
                return _too_long(source, line, first_end if first_end >= 0 else len(data))
            block, carry = data[:cut], data[cut:]
            try:
                block.decode(source.encoding)
            except UnicodeDecodeError as exc:
                bad_line = line + block.count(b"\n", 0, exc.start)
                return Problem(
                    source.label,
                    bad_line,
                    None,
                    repr(block[exc.start : exc.start + 4]),
                    f"text in {source.encoding} (save the file as UTF-8, or set "
                    "'encoding: latin-1' in the mapping if that is what it is)",
                )
            except LookupError:
                return Problem(source.label, None, None, source.encoding, "a known text encoding")
            line += block.count(b"\n")
            if not chunk:
                return None


def _to_utf8(source: SourceFile, tmp: Path) -> Path:
    """A UTF-8 copy of a file in another encoding (DuckDB reads UTF-8 only)."""
    out = tmp / f"utf8-{sha256_of(source.path)[:16]}.csv"
    with (
        source.path.open("r", encoding=source.encoding, newline="") as src,
        out.open("w", encoding="utf-8", newline="") as dst,
    ):
        while text := src.read(_CHUNK):
            dst.write(text)
    return out


def _header(source: SourceFile, path: Path, problems: list[Problem]) -> list[str] | None:
    """The whole first record (however long; lines were measured before), or None with a
    problem when it is not valid CSV."""
    limit = csv.field_size_limit()
    try:
        csv.field_size_limit(MAX_LINE)  # a header name may be as long as a line
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            return next(csv.reader(fh, delimiter=source.delimiter, quotechar='"'), [])
    except csv.Error as exc:
        problems.append(Problem(source.label, 1, None, None, f"a CSV header line ({exc})"))
        return None
    finally:
        csv.field_size_limit(limit)


def _header_problems(source: SourceFile, header: list[str]) -> list[Problem]:
    problems = []
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if not name.strip():
            problems.append(Problem(source.label, 1, None, name, f"a name for column {i}"))
        key = name.strip().lower()  # DuckDB names are case-insensitive
        if key in seen:
            problems.append(
                Problem(
                    source.label, 1, name, name, f"a unique column name (also column {seen[key]})"
                )
            )
        seen.setdefault(key, i)
    return problems


_REJECT_EXPECTED = {
    "MISSING COLUMNS": "as many fields as the header ({n})",
    "TOO MANY COLUMNS": "as many fields as the header ({n})",
    "UNQUOTED VALUE": "a field quoted with matching double quotes",
    "INVALID STATE": "a well-formed CSV line (check the quotes)",
    "INVALID ENCODING": "UTF-8 text",
    "LINE SIZE OVER MAXIMUM": "a line shorter than DuckDB's maximum line size",
}


def open_file(
    con: Any,
    source: SourceFile,
    index: int,
    tmp: Path,
    problems: list[Problem],
    hashing: Hashing,
) -> OpenedFile | None:
    """Open one file as the temp view ``_src_<index>`` (CSV: every column ``VARCHAR``;
    Parquet: its own types), after the checks DuckDB cannot report well itself.

    Nothing is read into a table here: the load reads each file once, into its typed stage.
    Returns None (with problems appended) when the file cannot be read as a table: empty,
    undecodable, bad header or not Parquet. Ragged CSV rows are found while the file is read
    (see :func:`rejected_lines`).
    """
    view = f"_src_{index}"
    if source.path.stat().st_size == 0:
        problems.append(
            Problem(source.label, None, None, None, "a header line (the file is empty)")
        )
        return None
    if source.is_parquet:
        try:
            rel = con.read_parquet(str(source.path))
            rel.create_view(view, replace=True)
        except duckdb.OutOfMemoryException:
            raise  # the engine's memory, not the file: the load reports it as such
        except duckdb.Error as exc:
            problems.append(Problem(source.label, None, None, None, f"a Parquet file ({exc})"))
            return None
        types = tuple(str(t) for t in rel.types)
        return OpenedFile(source, view, tuple(rel.columns), types, hashing.submit(source.path), 1)

    bad = _check_encoding(source)
    if bad is not None:
        problems.append(bad)
        return None
    path = source.path if source.encoding.lower() in ("utf-8", "utf8") else _to_utf8(source, tmp)
    header = _header(source, path, problems)
    if header is None:
        return None
    if not any(h.strip() for h in header):
        problems.append(Problem(source.label, 1, None, None, "a header line naming the columns"))
        return None
    header_problems = _header_problems(source, header)
    if header_problems:
        problems.extend(header_problems)
        return None
    try:
        rel = con.read_csv(
            str(path),
            header=True,
            auto_detect=False,
            columns={h: "VARCHAR" for h in header},
            delimiter=source.delimiter,
            quotechar='"',
            escapechar='"',
            max_line_size=MAX_LINE,
            null_padding=False,
            store_rejects=True,
            rejects_table=f"_rej_{index}",
            rejects_scan=f"_rejscan_{index}",
        )
        rel.create_view(view, replace=True)
    except duckdb.OutOfMemoryException:
        raise  # the engine's memory, not the file: the load reports it as such
    except duckdb.Error as exc:
        problems.append(Problem(source.label, None, None, None, f"a readable CSV file ({exc})"))
        return None
    types = ("VARCHAR",) * len(header)
    digest = hashing.submit(source.path)
    return OpenedFile(source, view, tuple(header), types, digest, 2, f"_rej_{index}")


def drop_leftover_views(con: Any) -> int:
    """Drop the ``_src_*`` views a killed load left in the database (DuckDB's relations make
    them views of the database itself, not temporary ones); how many there were."""
    names = [
        row[0]
        for row in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT temporary AND schema_name = 'main' "
            "AND database_name = current_database() AND view_name LIKE '\\_src\\_%' ESCAPE '\\'"
        ).fetchall()
    ]
    for name in names:
        con.execute(f"DROP VIEW IF EXISTS main.{ident(name)}")
    return len(names)


# the characters a formula begins with, as SQL (prefix() compares bytes: cheaper than left())
_FORMULA_STARTS = ("'='", "'+'", "'-'", "'@'", "chr(9)", "chr(13)")


def formula_note(
    con: Any, label: str, relation: str, columns: list[tuple[str, str]], row: str
) -> str | None:
    """A note when ``relation`` (a file's stage) holds values a spreadsheet would run as
    formulas (see :mod:`icploop.spreadsheet`): how many, and where the first one is.
    ``columns`` pairs the name shown with the text column of ``relation``; ``row`` is the SQL of
    a row's spreadsheet line."""
    if not columns:
        return None
    parts = []
    flags = []
    for i, (_, column) in enumerate(columns):
        c = ident(column)
        starts = " OR ".join(f"prefix({c}, {x})" for x in _FORMULA_STARTS)
        flags.append(f"(({starts}) AND NOT regexp_full_match({c}, $1)) AS _h{i}")
        parts.append(f"count(*) FILTER (WHERE _h{i}), min(_r) FILTER (WHERE _h{i})")
    # each value is tested once, and only the rows with a hit reach the counts
    found = con.execute(
        f"SELECT {', '.join(parts)} FROM (SELECT {row} AS _r, {', '.join(flags)} "
        f"FROM {relation}) WHERE {' OR '.join(f'_h{i}' for i in range(len(columns)))}",
        [NUMBER_SQL_PATTERN],
    )
    values = found.fetchall()[0]
    hits = [
        (int(values[2 * i + 1]), name, int(values[2 * i]))
        for i, (name, _) in enumerate(columns)
        if values[2 * i]
    ]
    if not hits:
        return None
    first, column, _ = min(hits)
    return (
        f"{label}: {sum(n for _, _, n in hits)} value(s) begin with =, +, -, @, a tab or a "
        f"carriage return (first at row {first}, column '{column}'); a spreadsheet may run them "
        "as formulas, so the CSV files icploop writes put a ' before them"
    )


def unreadable(opened: OpenedFile, exc: Exception) -> Problem:
    """The problem of a file DuckDB could open but not read through (e.g. a CSV whose quoting
    its parser cannot follow, a Parquet file cut short)."""
    what = "a Parquet file" if opened.source.is_parquet else "a readable CSV file"
    return Problem(opened.source.label, None, None, None, f"{what} ({exc})")


def rejected_lines(con: Any, opened: OpenedFile) -> list[Problem]:
    """The CSV lines DuckDB skipped while the file was read (ragged rows, bad quoting), with
    their line numbers; empty for Parquet and for well-formed CSV."""
    if opened.rejects is None:
        return []
    rejects = con.execute(
        f"SELECT line, column_name, CAST(error_type AS VARCHAR), csv_line "
        f"FROM {opened.rejects} ORDER BY line LIMIT 50"
    ).fetchall()
    problems = []
    for line, column, error_type, csv_line in rejects:
        expected = _REJECT_EXPECTED.get(error_type, error_type.lower()).format(n=len(opened.header))
        value = (csv_line or "").strip()[:80]
        problems.append(Problem(opened.source.label, int(line), column, value, expected))
    return problems

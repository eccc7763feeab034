"""Quarantine: a load that keeps the rows that pass and sets the refused ones aside.

With ``max_rejects`` a load does not stop at the first problem rows: the set-based checks of
:mod:`icploop.ingest.validate` select the rows they refuse, those rows go into the temp table
``_refused`` (file index, place in the file) and the staged views leave them out. The checks run
again over what is left, because a refused row can take others with it (a deal whose account
was refused), until no new row is refused. If more than ``max_rejects`` rows are refused in all,
the load refuses everything, as it would without quarantine; else every refused row is written
to the rejects CSV with all its problems and the row's values, and the rest load.

Problems of whole files (unreadable lines, a missing column, a lookup that finds nothing) and the
FX checks of the stored revenue are not row refusals: they still refuse the whole load.
"""

# SQL here is assembled from generated temp-table names; no user text is pasted into it.
# ruff: noqa: S608

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icploop.errors import IcploopError, Problem
from icploop.ingest import validate
from icploop.ingest.schema import LOADABLE_TABLES, TABLES
from icploop.spreadsheet import neutralise

REFUSED = "_refused"
MAX_ROUNDS = 10
"""Rounds of checks at most: each can only refuse rows that depend on rows refused before."""


@dataclass(frozen=True)
class Quarantined:
    """The rows a load set aside: how many per file index, and where they were written."""

    per_file: dict[int, int]
    path: Path | None

    @property
    def total(self) -> int:
        return sum(self.per_file.values())


def check_limit(max_rejects: int | None, rejects: Path | None) -> None:
    """Both options or neither, and a limit of 0 or more."""
    if (max_rejects is None) != (rejects is None):
        raise IcploopError(
            "--max-rejects and --rejects go together",
            "e.g. --max-rejects 100 --rejects rejects.csv (the refused rows are written there)",
        )
    if max_rejects is not None and max_rejects < 0:
        raise IcploopError(f"--max-rejects {max_rejects} is below 0", "give a number of rows")


def staged_views(
    con: Any, stages: dict[int, validate.Stage], refused: str | None
) -> dict[str, str]:
    """The staged view of each table of the load (without the ``refused`` rows, when named)."""
    views: dict[str, str] = {}
    for table in LOADABLE_TABLES:
        parts = [s for s in stages.values() if s.table == table]
        if parts:
            views[table] = validate.staged_view(con, table, parts, refused)
    return views


def quarantine(
    con: Any,
    stages: dict[int, validate.Stage],
    max_rejects: int,
    rejects: Path,
) -> tuple[dict[str, str], Quarantined]:
    """Refuse rows into ``_refused`` until the checks pass; returns the staged views (without
    the refused rows) and what was set aside, written to ``rejects``.

    Raises ``ValidationError`` (grouped by cause, nothing written) when more than
    ``max_rejects`` rows are refused."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {REFUSED} (_src INTEGER, _rid BIGINT)")
    views = staged_views(con, stages, REFUSED)
    found: list[tuple[int, int, Problem]] = []
    problems = validate.Problems()
    for _ in range(MAX_ROUNDS):
        checks = [c for t in views for c in validate.checks_for(con, TABLES[t], views)]
        refused_now: set[tuple[int, int]] = set()
        for check in checks:
            if not validate.may_refuse(con, check):
                continue
            rows = validate.refusals(con, check, stages, max_rejects + 1)
            if not rows:
                continue
            problems.extend([p for _, _, p in rows], validate.refused_count(con, check))
            problems.extents.update(validate.extents(con, check, stages))
            found += rows
            refused_now |= {(src, rid) for src, rid, _ in rows}
        if not refused_now:
            break
        con.executemany(f"INSERT INTO {REFUSED} VALUES ($1, $2)", sorted(refused_now))
        total = con.execute(f"SELECT count(*) FROM {REFUSED}").fetchall()[0][0]
        if total > max_rejects:
            problems.raise_if_any(
                f"{total:,} rows refused, more than --max-rejects {max_rejects}: fix them, or "
                "raise the limit to load the others and set these aside"
            )
    per_file: dict[int, int] = {}
    for (src,) in con.execute(f"SELECT _src FROM {REFUSED}").fetchall():
        per_file[int(src)] = per_file.get(int(src), 0) + 1
    _write(con, stages, found, rejects)
    return views, Quarantined(per_file, rejects)


def _write(
    con: Any,
    stages: dict[int, validate.Stage],
    found: Sequence[tuple[int, int, Problem]],
    path: Path,
) -> None:
    """The rejects CSV: one line per refused row (file, spreadsheet row, its problems, and its
    values as the mapping read them, as JSON), no cell a spreadsheet would run as a formula."""
    by_row: dict[tuple[int, int], list[Problem]] = {}
    for src, rid, problem in found:
        listed = by_row.setdefault((src, rid), [])
        if problem not in listed:
            listed.append(problem)
    wanted = [(src, rid, col) for src, rid in by_row for col in stages[src].mapped.texts]
    texts = validate.source_texts(con, stages, wanted)
    try:
        with path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(["file", "row", "table", "problems", "values"])
            for (src, rid), listed in sorted(
                by_row.items(), key=lambda kv: (stages[kv[0][0]].label, kv[1][0].row or 0)
            ):
                stage = stages[src]
                values = {c: texts.get((src, rid, c)) for c in stage.mapped.texts}
                cells = [
                    stage.label,
                    listed[0].row,
                    stage.table,
                    " | ".join(_problem_text(p) for p in listed),
                    json.dumps(values, ensure_ascii=False, default=str),
                ]
                out.writerow([neutralise(cell) for cell in cells])
    except OSError as exc:
        raise IcploopError(
            f"cannot write the rejects file {path}: {exc.strerror}; nothing was loaded"
        ) from None


def _problem_text(p: Problem) -> str:
    column = f"column '{p.column}': " if p.column else ""
    got = "" if p.value is None else f"got {p.value!r}; "
    return f"{column}{got}expected {p.expected}"

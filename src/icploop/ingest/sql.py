"""Safe SQL fragments: the one place identifiers are quoted.

User text never reaches SQL by pasting: file paths go through the DuckDB Python API, values are
bound parameters, and column names (which come from files and mappings) go through ``ident``.
"""

from __future__ import annotations

from typing import Any


def ident(name: str) -> str:
    """Quote an identifier for DuckDB, doubling embedded double quotes (``a"b`` -> ``"a""b"``)."""
    if "\x00" in name:
        raise ValueError("identifiers cannot contain NUL")
    return '"' + name.replace('"', '""') + '"'


def idents(names: list[str] | tuple[str, ...]) -> str:
    """A comma-separated list of quoted identifiers."""
    return ", ".join(ident(n) for n in names)


def table_exists(con: Any, name: str) -> bool:
    """Whether a (non-temporary) table of that name exists in the analytics database."""
    rows = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE NOT temporary AND schema_name = 'main' "
        "AND database_name = current_database() AND table_name = $1",
        [name],
    ).fetchall()
    return bool(rows[0][0])


def duckdb_connection(backend: Any) -> Any:
    """The DuckDB connection under an Ibis DuckDB backend (bulk reads and transactions).

    Checked with isinstance: DuckDB 2.0's connection class lives in module ``_duckdb``.
    """
    import duckdb

    from icploop.errors import IcploopError

    con = getattr(backend, "con", None)
    if not isinstance(con, duckdb.DuckDBPyConnection):
        raise IcploopError(
            "loading needs the DuckDB analytics backend",
            "unset ICPLOOP_ANALYTICS_URL (or pass a duckdb:// URL) to load into the workspace",
        )
    return con

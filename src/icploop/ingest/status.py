"""What the workspace holds: each canonical table's row count and date range, and the loads."""

# SQL here is assembled from schema names, generated temp-table names and ident()-quoted
# column names; every user value is a bound parameter (see icploop.ingest.sql).
# ruff: noqa: S608

from __future__ import annotations

import json
from typing import Any

from ibis.backends import BaseBackend

from icploop.ingest.attributes import workspace_catalog
from icploop.ingest.load import LOADS_TABLE
from icploop.ingest.schema import TABLES
from icploop.ingest.sql import duckdb_connection, ident, table_exists

# The date that places a table's rows in time (the range status shows).
MAIN_DATE = {
    "accounts": "created_date",
    "deals": "close_date",
    "subscriptions": "period_start",
    "mrr_monthly": "month",
    "usage": "date",
    "contacts": "valid_from",
    "tickets": "created_date",
    "notes": "date",
    "costs": "month",
    "fx_rates": "valid_from",
}


def status(backend: BaseBackend) -> dict[str, Any]:
    """``{"tables": [...], "attributes": [...], "loads": [...]}`` for the analytics DuckDB.

    Each table entry: ``table``, ``rows`` (0 when never loaded), ``date_column``, ``min_date``
    and ``max_date`` (ISO strings, None when the table has no date column or no dated rows).
    Each load entry: ``load_id``, ``loaded_at`` (UTC, ISO), ``table``, ``files`` (path and
    sha256), ``rows_inserted``, ``rows_replaced``; oldest first. Each attribute entry: ``table``
    (accounts or deals), ``attribute``, ``role``, ``origin`` (schema, mapping or inferred),
    ``subject``, ``searched`` (by segment search by default) and ``reason``.
    """
    con = duckdb_connection(backend)
    tables = []
    for name in TABLES:
        entry: dict[str, Any] = {
            "table": name,
            "rows": 0,
            "date_column": MAIN_DATE.get(name),
            "min_date": None,
            "max_date": None,
        }
        if table_exists(con, name):
            date_col = MAIN_DATE.get(name)
            dates = f"min({ident(date_col)}), max({ident(date_col)})" if date_col else "NULL, NULL"
            rows, lo, hi = con.execute(
                f"SELECT count(*), {dates} FROM main.{ident(name)}"
            ).fetchall()[0]
            entry.update(
                rows=int(rows),
                min_date=lo.isoformat() if lo else None,
                max_date=hi.isoformat() if hi else None,
            )
        tables.append(entry)
    loads = []
    if table_exists(con, LOADS_TABLE):
        for load_id, at, table, files, inserted, replaced in con.execute(
            f"SELECT * FROM {LOADS_TABLE} ORDER BY load_id, table_name"
        ).fetchall():
            loads.append(
                {
                    "load_id": int(load_id),
                    "loaded_at": at.isoformat(),
                    "table": table,
                    "files": json.loads(files),
                    "rows_inserted": int(inserted),
                    "rows_replaced": int(replaced),
                }
            )
    return {"tables": tables, "attributes": _attributes(backend, con), "loads": loads}


def _attributes(backend: BaseBackend, con: Any) -> list[dict[str, Any]]:
    """The attribute catalogue of the stored accounts and deals (``icploop.ingest.attributes``)."""

    def opt(name: str) -> Any:
        return backend.table(name) if table_exists(con, name) else None

    catalogs = workspace_catalog(
        opt("accounts"), opt("deals"), opt("account_attributes"), opt("attribute_roles")
    )
    return [{"table": t, **r} for t, c in catalogs.items() for r in c.records()]

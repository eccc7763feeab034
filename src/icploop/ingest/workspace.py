"""Workspace settings that touch the stored data: changing the reporting currency.

Money in ``mrr_monthly`` (and what is derived from it) is stored converted into the reporting
currency, so changing the currency of a workspace that holds revenue converts the stored figures
at once, in one transaction, through the same FX checks as a load.
"""

from __future__ import annotations

from ibis.backends import BaseBackend

from icploop.errors import IcploopError
from icploop.ingest import derive
from icploop.ingest.schema import KNOWN_CURRENCIES
from icploop.ingest.sql import duckdb_connection, table_exists


def has_revenue(backend: BaseBackend) -> bool:
    """Whether the analytics database holds subscription rows."""
    con = duckdb_connection(backend)
    if not table_exists(con, "subscriptions"):
        return False
    return bool(con.execute("SELECT count(*) FROM main.subscriptions").fetchall()[0][0])


def convert_figures(backend: BaseBackend, currency: str) -> None:
    """Rebuild the derived tables in ``currency`` (all or nothing).

    Raises ``ValidationError`` naming the subscription periods without an ``fx_rates`` row into
    the new currency, and leaves the stored figures as they were."""
    if currency not in KNOWN_CURRENCIES:
        raise IcploopError(f"unknown currency {currency!r}", "use an ISO 4217 code such as EUR")
    con = duckdb_connection(backend)
    con.execute("BEGIN TRANSACTION")
    try:
        derive.check_and_rebuild(con, currency, None)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise

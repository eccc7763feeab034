"""Integer account keys: a dense number for each account, assigned at load.

Account ids are text (``"ACME-0042"``, a CRM's 18-character id). Joining 100M usage rows to the
accounts by text id reads and hashes every id; by an integer the fit signals' usage step takes
about 40% less CPU (``bench/RESULTS.md``, bench_fit). The load therefore numbers the accounts in
``account_keys`` (``account_id`` text, ``account_key`` 1, 2, ...) and stores the number beside
the text id in ``usage`` (``account_key``). ``mrr_monthly`` and ``account_months`` stay grouped
by the text id: keying them was measured and bought nothing (bench_load). The text id stays
everywhere for display and for joining back.

A key, once given, never changes: a later load numbers only the accounts it brings that have
none (in order of their id, after the largest key so far), so loading the same files again
gives the same keys. Every stored usage row's account is in ``accounts`` (the load's reference
check), so every stored usage row has a key.

The keys a load will give are planned before it stores anything (:func:`plan`), so that a first
Parquet usage file is read with its keys, straight into the table it becomes; at 1M accounts
adding them afterwards (a column and an update of 100M rows, written again at the commit) cost
about 12% of the load's CPU seconds (bench_load).

A warehouse loaded before keys existed has no ``account_keys`` and usage without
``account_key``: the analytics then join and group by the text id as before (same results), and
the next load adds the keys to what is stored (:func:`assign`).
"""

# SQL here is assembled from the constant names below; no user value reaches it.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from icploop.ingest.sql import table_exists

ACCOUNT_KEYS = "account_keys"
KEY = "account_key"
#: the stored tables that carry ``account_key`` beside ``account_id``
KEYED_TABLES: tuple[str, ...] = ("usage",)


def create(con: Any) -> None:
    """The ``account_keys`` table, if missing."""
    con.execute(
        f"CREATE TABLE IF NOT EXISTS main.{ACCOUNT_KEYS} "
        f"(account_id VARCHAR NOT NULL, {KEY} BIGINT NOT NULL)"
    )


PLANNED = "_planned_keys"
"""The temp table of :func:`plan`."""


def _numbered(ids: list[str], known: str) -> str:
    """How every key is given: the accounts of the ``ids`` queries that ``known`` (a relation
    of ``account_id`` and ``KEY``) has no key for, numbered after its largest key in order of
    their id."""
    if not ids:
        return f"SELECT account_id, {KEY} FROM {known} LIMIT 0"
    return (
        f"SELECT account_id, (SELECT COALESCE(max({KEY}), 0) FROM {known}) "
        "+ row_number() OVER (ORDER BY account_id) "
        f"FROM (SELECT DISTINCT account_id FROM ({' UNION ALL '.join(ids)}) "
        f"WHERE account_id IS NOT NULL EXCEPT SELECT account_id FROM {known})"
    )


def plan(con: Any, staged_accounts: str | None) -> str:
    """Before the load stores anything: the temp table ``_planned_keys`` of the key every
    account will have once the load is stored (the stored accounts and the rows of
    ``staged_accounts``, this load's staged view of them), numbered as :func:`assign` numbers
    them. A stage of a keyed table joins it as it is read (``validate.stage_file``), and
    :func:`assign` then stores these keys, so both agree by construction."""
    known = (
        f"SELECT account_id, {KEY} FROM main.{ACCOUNT_KEYS}"
        if table_exists(con, ACCOUNT_KEYS)
        else f"SELECT CAST(NULL AS VARCHAR) AS account_id, CAST(NULL AS BIGINT) AS {KEY} LIMIT 0"
    )
    ids = [f"SELECT account_id FROM {staged_accounts}"] if staged_accounts else []
    if table_exists(con, "accounts"):
        ids.append("SELECT account_id FROM main.accounts")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {PLANNED} AS WITH known AS ({known}) "
        f"SELECT account_id, {KEY} FROM known UNION ALL {_numbered(ids, 'known')}"
    )
    return PLANNED


def assign(con: Any, planned: str | None = None) -> None:
    """Inside the load's transaction, after ``accounts`` is stored: a key for every stored
    account that has none; the keys ``planned`` (:func:`plan`) first, when the load made them."""
    create(con)
    stored = f"main.{ACCOUNT_KEYS}"
    if planned:
        con.execute(
            f"INSERT INTO {stored} SELECT account_id, {KEY} FROM {planned} "
            f"ANTI JOIN {stored} USING (account_id)"
        )
    con.execute(
        f"INSERT INTO {stored} {_numbered(['SELECT account_id FROM main.accounts'], stored)}"
    )


def fill(con: Any, tables: Iterable[str] = KEYED_TABLES) -> None:
    """Inside the load's transaction, after :func:`assign`: a key in every row of those keyed
    ``tables`` that have no ``account_key`` column (a table stored before keys existed, or a
    load's CSV stage kept as the table), which gain the column here. A kept stage is filled last
    in the transaction: the updated rows are held in memory until the commit, and the
    derivations then run before they take it."""
    for table in (t for t in tables if t in KEYED_TABLES):
        if table_exists(con, table) and not has_key(con, table):
            con.execute(f"ALTER TABLE main.{table} ADD COLUMN {KEY} BIGINT")
            con.execute(
                f"UPDATE main.{table} SET {KEY} = k.{KEY} FROM main.{ACCOUNT_KEYS} k "
                f"WHERE main.{table}.account_id = k.account_id"
            )


def has_key(con: Any, table: str) -> bool:
    """Whether stored table ``table`` has the ``account_key`` column."""
    rows = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'main' "
        "AND database_name = current_database() AND table_name = $1 AND column_name = $2",
        [table, KEY],
    ).fetchall()
    return bool(rows[0][0])

"""Hand-made canonical tables for fit tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import ibis
import ibis.expr.datatypes as dtypes
import ibis.expr.types as ir
import pyarrow as pa

from icploop.fit.signals import FitInputs
from icploop.ingest.schema import TABLES

_IBIS_TYPES = {
    "string": dtypes.string,
    "int": dtypes.int64,
    "float": dtypes.float64,
    "decimal": dtypes.float64,
    "date": dtypes.date,
    "bool": dtypes.boolean,
    "list": dtypes.string,
}


def canonical(table: str, rows: list[dict[str, Any]]) -> ir.Table:
    """A memtable with every canonical column of ``table`` (absent values are null)."""
    columns = TABLES[table].columns
    schema = ibis.schema({c.name: _IBIS_TYPES[c.type] for c in columns})
    data = {c.name: [row.get(c.name) for row in rows] for c in columns}
    return ibis.memtable(pa.table(data, schema=schema.to_pyarrow()))


CLOSE = dt.date(2025, 1, 1)
AS_OF = dt.date(2026, 10, 31)


def weekly_usage(
    account: str, use_case: str, first_day: int, last_day: int, events: int = 10
) -> list[dict[str, Any]]:
    """One usage row a week, days ``first_day``..``last_day`` after CLOSE."""
    return [
        {
            "account_id": account,
            "date": CLOSE + dt.timedelta(days=day),
            "feature": f"{use_case}-feature",
            "use_case": use_case,
            "active_users": 3,
            "events": events,
        }
        for day in range(first_day, last_day + 1, 7)
    ]


def inputs(
    accounts: list[dict[str, Any]],
    usage: list[dict[str, Any]] = (),  # type: ignore[assignment]
    contacts: list[dict[str, Any]] = (),  # type: ignore[assignment]
    committed: dict[str, list[str]] | None = None,
    mrr: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> FitInputs:
    """FitInputs where every account closed one won deal on CLOSE with its committed use cases."""
    committed = committed or {}
    deals = [
        {
            "deal_id": f"D-{a['account_id']}",
            "account_id": a["account_id"],
            "outcome": "won",
            "close_date": a.get("close_date", CLOSE),
            "deal_type": "new",
        }
        for a in accounts
    ]
    use_cases = [
        {"deal_id": f"D-{acc}", "account_id": acc, "use_case": uc}
        for acc, ucs in committed.items()
        for uc in ucs
    ]
    return FitInputs(
        accounts=canonical("accounts", accounts),
        deals=canonical("deals", deals),
        deal_use_cases=canonical("deal_use_cases", use_cases),
        usage=canonical("usage", list(usage)),
        contacts=canonical("contacts", list(contacts)),
        mrr_monthly=canonical("mrr_monthly", list(mrr)),
    )


def keyed(plain: FitInputs) -> FitInputs:
    """``plain`` with integer account keys as a load stores them: ``account_keys`` numbering
    every account (in reverse order of id, so that keys and ids sort differently) and usage
    carrying ``account_key``."""
    ids = sorted(plain.accounts.select("account_id").to_pyarrow().column(0).to_pylist())
    keys = ibis.memtable(pa.table({"account_id": ids, "account_key": list(range(len(ids), 0, -1))}))
    usage = plain.usage.join(keys, "account_id", how="left")
    return replace(plain, usage=usage, account_keys=keys)

"""Tiny canonical tables for the metrics tests, built in memory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import ibis
import pandas as pd
import pytest

from icploop.metrics.tables import CanonicalTables


def month(i: int, year: int = 2023) -> dt.date:
    """The first day of month i (1-based) counted from January of ``year``; 13 = next January."""
    return dt.date(year + (i - 1) // 12, (i - 1) % 12 + 1, 1)


def mrr_frame(rows: Iterable[Sequence[Any]]) -> pd.DataFrame:
    """Rows of (account_id, month number, mrr[, mrr_local, currency, forever, limited])."""
    out = []
    for r in rows:
        acc, m, mrr = r[0], r[1], float(r[2])
        local = float(r[3]) if len(r) > 3 else mrr
        ccy = r[4] if len(r) > 4 else "USD"
        forever = float(r[5]) if len(r) > 5 else 0.0
        limited = float(r[6]) if len(r) > 6 else 0.0
        out.append(
            {
                "account_id": acc,
                "month": month(m),
                "mrr_local": local,
                "currency": ccy,
                "mrr": mrr,
                "discount_forever": forever,
                "discount_limited": limited,
                "seats": 10,
            }
        )
    frame = pd.DataFrame(
        out,
        columns=[
            "account_id", "month", "mrr_local", "currency", "mrr",
            "discount_forever", "discount_limited", "seats",
        ],
    )  # fmt: skip
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    return frame


def tables_from(
    rows: Iterable[Sequence[Any]],
    accounts: pd.DataFrame | None = None,
    deals: pd.DataFrame | None = None,
    attributes: pd.DataFrame | None = None,
) -> CanonicalTables:
    """Canonical tables as Ibis memtables (the DuckDB default backend runs them)."""
    schema = {
        "account_id": "string", "month": "date", "mrr_local": "float64", "currency": "string",
        "mrr": "float64", "discount_forever": "float64", "discount_limited": "float64",
        "seats": "int64",
    }  # fmt: skip
    return CanonicalTables(
        mrr_monthly=ibis.memtable(mrr_frame(rows), schema=schema),
        accounts=None if accounts is None else ibis.memtable(accounts),
        deals=None if deals is None else ibis.memtable(deals),
        account_attributes=None if attributes is None else ibis.memtable(attributes),
    )


@pytest.fixture
def make_tables() -> Any:
    return tables_from

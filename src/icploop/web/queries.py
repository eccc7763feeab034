"""Reading accounts from the warehouse for pages and the API, as Ibis expressions.

User text (search, filters) only ever becomes a bound literal inside an Ibis expression, never
SQL text. The fit tag lives in the app store, so a tag filter is applied as a list of account ids.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from icploop.errors import IcploopError
from icploop.formatting import is_unknown
from icploop.web.errors import NotFound

LIST_COLUMNS = ("account_id", "name", "segment", "industry", "region", "owner_ae", "csm")
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class AccountPage:
    """One page of accounts and the total that matched."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    page_size: int


def _plain(value: Any) -> Any:
    """A cell of a pandas row as a plain Python value for a page: an unknown value (None, NaN,
    NaT, pandas' NA) is None, a timestamp its date, a numpy scalar its Python value."""
    if is_unknown(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):
        return value.item()
    return value


def list_accounts(
    backend: BaseBackend,
    *,
    search: str | None,
    segment: str | None,
    only_ids: list[str] | None,
    owner: tuple[str, str] | None,
    page: int,
    page_size: int,
) -> AccountPage:
    """Accounts matching a search (id or name contains it), a segment, a set of ids and an owner
    column (``("csm", person)``), ordered by id; ``page`` starts at 1."""
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise IcploopError("page starts at 1 and page_size is 1-200", "e.g. page=1&page_size=50")
    t = backend.table("accounts")
    cols = [c for c in LIST_COLUMNS if c in t.columns]
    if search:
        needle = ibis.literal(search.lower())
        t = t.filter(
            t.account_id.lower().contains(needle) | t.name.fill_null("").lower().contains(needle)
        )
    if segment:
        t = t.filter(t.segment == ibis.literal(segment))
    if only_ids is not None:
        t = t.filter(t.account_id.isin(only_ids)) if only_ids else t.filter(ibis.literal(False))
    if owner is not None and owner[0] in ("csm", "owner_ae", "cs_manager"):
        t = t.filter(t[owner[0]] == ibis.literal(owner[1]))
    total = int(t.count().to_pandas())
    frame = t.select(*cols).order_by("account_id").limit(page_size, offset=(page - 1) * page_size)
    rows = [{k: _plain(v) for k, v in r.items()} for r in frame.to_pandas().to_dict("records")]
    return AccountPage(rows=rows, total=total, page=page, page_size=page_size)


def segments(backend: BaseBackend) -> list[str]:
    """The segment values, for the filter."""
    t = backend.table("accounts")
    values = t.select("segment").distinct().order_by("segment").to_pandas()["segment"]
    return [str(v) for v in values if v is not None and not pd.isna(v)]


def account(backend: BaseBackend, account_id: str) -> dict[str, Any]:
    """One account's attributes; NotFound when there is no such account."""
    t = backend.table("accounts")
    frame = t.filter(t.account_id == ibis.literal(account_id)).limit(1).to_pandas()
    if frame.empty:
        raise NotFound(f"no account {account_id!r}", "search the accounts list")
    return {k: _plain(v) for k, v in frame.iloc[0].to_dict().items()}


def mrr_history(backend: BaseBackend, account_id: str) -> list[tuple[dt.date, float]]:
    """The account's MRR by month (reporting currency)."""
    t = backend.table("mrr_monthly")
    value = "mrr" if "mrr" in t.columns else "mrr_local"
    frame = (
        t.filter(t.account_id == ibis.literal(account_id))
        .group_by("month")
        .aggregate(mrr=t[value].sum())
        .order_by("month")
        .to_pandas()
    )
    return [
        (pd.Timestamp(m).date(), float(v))
        for m, v in zip(frame["month"], frame["mrr"], strict=True)
    ]


def usage_summary(backend: BaseBackend, account_id: str, limit: int = 12) -> list[dict[str, Any]]:
    """Events and active users per feature, most used first (empty without usage data)."""
    try:
        t = backend.table("usage")
    except Exception:  # no usage table loaded: the page shows none
        return []
    frame = (
        t.filter(t.account_id == ibis.literal(account_id))
        .group_by("feature")
        .aggregate(events=t.events.sum(), last=t.date.max())
        .order_by(ibis.desc("events"))
        .limit(limit)
        .to_pandas()
    )
    return [{k: _plain(v) for k, v in r.items()} for r in frame.to_dict("records")]

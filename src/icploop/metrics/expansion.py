"""Which account profiles grow: net expansion at 12 months and NRR by attribute."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from icploop.ingest.paying import DEFAULT_SETTINGS, MovementSettings, index_of, paying_months
from icploop.metrics.facts import as_of_view, stored_facts
from icploop.metrics.tables import CanonicalTables, account_dimensions


@dataclass(frozen=True)
class ExpansionResult:
    """Per group of accounts with 12 months of exposure (first month + 12 <= as_of month).

    ``frame`` columns: the ``by`` dimensions, ``n_accounts``, ``n_expanded`` (MRR at month 12 of
    tenure above MRR in the first month), ``expansion_share`` = n_expanded / n_accounts,
    ``mrr_first`` and ``mrr_month_12`` (currency units; churned accounts count 0 at month 12),
    ``nrr_12`` = mrr_month_12 / mrr_first (the 12-month NRR of the profile from its start).
    """

    frame: pd.DataFrame
    as_of: dt.date
    by: tuple[str, ...]
    caveats: tuple[str, ...] = field(default=())


def expansion_by_profile(
    tables: CanonicalTables,
    as_of: dt.date,
    by: Sequence[str],
    settings: MovementSettings = DEFAULT_SETTINGS,
    min_group: int = 30,
) -> ExpansionResult:
    """Share of accounts with net expansion 12 months after their first month, and NRR-12, by ``by``."""
    stored = stored_facts(tables, settings)
    if stored is not None:
        # each account's first month already knows its MRR twelve months on
        s = as_of_view(stored, index_of(as_of))
        s = s.filter((s.m == s.first_m) & (s.first_m + 12 <= index_of(as_of)))
        j = s.select("account_id", c0=s.cents, c12=s.c12.fill_null(0))
    else:
        pos = paying_months(tables.mrr_monthly, as_of, settings)
        first = pos.group_by("account_id").agg(first_m=pos.m.min())
        start = pos.join(first, [pos.account_id == first.account_id, pos.m == first.first_m])
        start = start.select(account_id=pos.account_id, first_m=first.first_m, c0=pos.cents)
        start = start.filter(start.first_m + 12 <= index_of(as_of))
        later = pos.select(l_account=pos.account_id, l_m=pos.m, c12=pos.cents)
        j = start.left_join(
            later, [start.account_id == later.l_account, start.first_m + 12 == later.l_m]
        )
        j = j.select("account_id", "c0", c12=j.c12.fill_null(0))
    dims = list(by)
    if dims:
        j = j.join(account_dimensions(tables, dims), "account_id")
    agg = j.group_by(dims) if dims else j
    out = agg.aggregate(
        n_accounts=j.account_id.count(),
        n_expanded=(j.c12 > j.c0).sum(),
        mrr_first=j.c0.sum().cast("float64") / 100,
        mrr_month_12=j.c12.sum().cast("float64") / 100,
    )
    frame = out.to_pandas()
    if dims:
        frame = frame.sort_values(dims).reset_index(drop=True)
    frame["expansion_share"] = frame.n_expanded / frame.n_accounts.where(frame.n_accounts > 0)
    frame["nrr_12"] = frame.mrr_month_12 / frame.mrr_first.where(frame.mrr_first > 0)
    caveats = tuple(
        f"{', '.join(f'{d}={r[d]}' for d in dims) or 'all accounts'}: only {int(r.n_accounts)} accounts"
        for _, r in frame.iterrows()
        if r.n_accounts < min_group
    )
    return ExpansionResult(frame=frame, as_of=as_of, by=tuple(dims), caveats=caveats)

"""Measurements of the demo company's effects from its files alone (pandas + numpy).

These deliberately do not import the generator: they read the canonical CSVs and truth.json and
compute each outcome the way an analyst would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

START_MONTH = pd.Period("2021-10", "M")
LAST = pd.Period("2026-10", "M")
N_MONTHS = (LAST - START_MONTH).n + 1
DATES = {
    "accounts": ["created_date"],
    "deals": ["created_date", "close_date"],
    "subscriptions": ["period_start", "period_end", "cancel_requested_date"],
    "contacts": ["valid_from", "valid_to"],
    "tickets": ["created_date", "resolved_date"],
    "notes": ["date"],
    "costs": ["month"],
    "fx_rates": ["valid_from"],
    "usage": ["date"],
}


@dataclass
class Company:
    dir: Path
    tables: dict[str, pd.DataFrame]
    truth: dict[str, Any]
    mrr: np.ndarray  # accounts x months, USD, month-end rule
    account_ids: np.ndarray

    def effect(self, effect_id: str) -> dict[str, Any]:
        return next(e for e in self.truth["effects"] if e["id"] == effect_id)


def load(out: Path) -> Company:
    tables = {}
    for name, cols in DATES.items():
        path = out / f"{name}.csv"
        if not path.exists():
            path = out / f"{name}.parquet"
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, keep_default_na=False, na_values=[""], low_memory=False)
        for col in cols:
            df[col] = pd.to_datetime(df[col])
        tables[name] = df
    truth = json.loads((out / "truth.json").read_text())
    ids, mrr = monthly_mrr(tables["subscriptions"], tables["fx_rates"], tables["accounts"])
    return Company(out, tables, truth, mrr, ids)


def month_index(d: pd.Series) -> np.ndarray:
    return ((d.dt.year - 2021) * 12 + d.dt.month - 10).to_numpy()


def monthly_mrr(
    subs: pd.DataFrame, fx: pd.DataFrame, accounts: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """USD MRR per account and month: a period counts in month M if active on M's last day."""
    ids = accounts["account_id"].to_numpy()
    pos = pd.Series(np.arange(len(ids)), index=ids)
    m0 = month_index(subs["period_start"])
    end = subs["period_end"]
    end_is_eom = end.dt.is_month_end.fillna(False).to_numpy()
    m1 = np.where(end.isna(), N_MONTHS - 1, month_index(end.fillna(pd.Timestamp("2100-01-01"))) - 1)
    m1 = np.where(end.notna() & end_is_eom, m1 + 1, m1)
    m1 = np.minimum(m1, N_MONTHS - 1)
    # convert at the rate of the period's start month
    rate = np.ones(len(subs))
    for ccy, g in fx.groupby("currency"):
        series = g.set_index(month_index(g["valid_from"]))["rate"]
        sel = (subs["currency"] == ccy).to_numpy()
        rate[sel] = series.reindex(np.clip(m0[sel], 0, N_MONTHS - 1)).to_numpy()
    usd = subs["mrr"].to_numpy() * rate
    out = np.zeros((len(ids), N_MONTHS))
    row = pos[subs["account_id"]].to_numpy()
    lens = np.maximum(m1 - m0 + 1, 0)
    r = np.repeat(np.arange(len(subs)), lens)
    months = m0[r] + np.arange(len(r)) - np.repeat(np.cumsum(lens) - lens, lens)
    np.add.at(out, (row[r], months), usd[r])
    return ids, out


def first_year_churn(co: Company) -> pd.DataFrame:
    """Per customer: first MRR month, exposure (12 months observed) and first-year churn."""
    paid = co.mrr > 0
    has = paid.any(axis=1)
    first = np.where(has, paid.argmax(axis=1), -1)
    exposed = has & (first + 12 <= N_MONTHS - 1)
    churn = np.zeros(len(first), bool)
    for k in range(1, 13):
        col = np.clip(first + k, 0, N_MONTHS - 1)
        churn |= exposed & ~paid[np.arange(len(first)), col]
    df = pd.DataFrame(
        {"account_id": co.account_ids, "first": first, "exposed": exposed, "churn": churn}
    )
    return df[has].merge(co.tables["accounts"], on="account_id")


def nrr(co: Company, mask: np.ndarray, months: range = range(48, 60)) -> float:
    """Pooled 12-month cohort NRR over the given months (as_of months M, base M-12)."""
    num = den = 0.0
    for m in months:
        base = co.mrr[:, m - 12]
        sel = mask & (base > 0)
        num += co.mrr[sel, m].sum()
        den += base[sel].sum()
    return num / den


def account_mask(co: Company, column: str, values: Any) -> np.ndarray:
    acc = co.tables["accounts"].set_index("account_id").reindex(co.account_ids)
    return acc[column].isin(values if isinstance(values, list) else [values]).to_numpy()


def days_to_quarter_end(d: pd.Series) -> pd.Series:
    q_end = d.dt.to_period("Q").dt.end_time.dt.normalize()
    return (q_end - d).dt.days


def new_deals(co: Company) -> pd.DataFrame:
    deals = co.tables["deals"]
    return deals[deals["deal_type"] == "new"]

"""What is known about an account before its deal closes, and what happened after.

The fit model and the points table read only pre-close attributes: firmographics (industry,
segment, region, employees), the deal (seats, annual amount, discount, the AE, whether it closed
in the last two weeks of a quarter, how many use cases were committed), the lead source, the
intent score and the stated use case. Nothing known only after close (usage, tickets, MRR) is a
feature. Outcomes (first-year churn, 12-month NRR) come from the retention engine and respect
censoring: an account with under 12 months of history has no outcome yet.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from icploop.metrics.calendar import index_of
from icploop.metrics.movements import DEFAULT_SETTINGS, MovementSettings, paying_months
from icploop.metrics.survival import durations
from icploop.metrics.tables import CanonicalTables

CATEGORICAL = ("industry", "segment", "region", "lead_source", "use_case", "ae", "quarter_end_deal")
NUMERIC = ("seats", "employees", "intent_score", "discount", "deal_amount", "committed_use_cases")
FEATURES = (*CATEGORICAL, *NUMERIC)
QUARTER_END_DAYS = 14

#: Source columns (accounts or deals layout) that feed a feature, in order of preference.
SOURCES: dict[str, tuple[str, ...]] = {
    "industry": ("industry",),
    "segment": ("segment",),
    "region": ("region",),
    "lead_source": ("lead_source",),
    "use_case": ("use_case",),
    "ae": ("ae", "closing_ae", "owner_ae"),
    "seats": ("seats", "seats_at_close"),
    "employees": ("employees",),
    "intent_score": ("intent_score",),
    "discount": ("discount",),
    "deal_amount": ("deal_amount", "amount"),
}
ACCOUNT_COLUMNS = (
    "industry",
    "segment",
    "region",
    "lead_source",
    "use_case",
    "owner_ae",
    "seats_at_close",
    "employees",
    "intent_score",
)
DEAL_COLUMNS = (
    "deal_id",
    "account_id",
    "close_date",
    "outcome",
    "deal_type",
    "amount",
    "discount",
    "ae",
    "lead_source",
    "seats",
    "committed_use_cases",
)


def quarter_end_flag(dates: pd.Series) -> pd.Series:
    """``yes`` when a date falls in the last two weeks of its quarter, ``no`` if not, else missing."""
    days = pd.to_datetime(dates, errors="coerce")
    to_end = (days + pd.offsets.QuarterEnd(0) - days).dt.days
    flag = pd.Series(np.where(to_end < QUARTER_END_DAYS, "yes", "no"), index=dates.index)
    return flag.where(days.notna())


def committed_count(values: pd.Series) -> pd.Series:
    """How many use cases a ``;``-separated committed list names (missing stays missing)."""
    text = values.astype("string")
    count = text.str.split(";").map(
        lambda items: float(sum(1 for i in items if i.strip())) if isinstance(items, list) else None
    )
    return count.astype("float64")


def feature_frame(records: pd.DataFrame) -> pd.DataFrame:
    """The model's feature columns from rows in the accounts or deals layout.

    Each feature is taken from the first present, non-blank source column (``seats`` from
    ``seats`` or ``seats_at_close``, ``ae`` from ``ae`` or ``owner_ae``, ...); the quarter-end
    flag from ``close_date``, the committed count from ``committed_use_cases``. Features with
    no source are missing, which the model and the points table handle as their own value.
    """
    out = pd.DataFrame(index=records.index)
    for feature, sources in SOURCES.items():
        value = pd.Series(np.nan, index=records.index, dtype="object")
        for source in sources:
            if source in records.columns:
                col = records[source]
                col = col.mask(col.astype(str).str.strip() == "")
                value = value.where(value.notna(), col)
        out[feature] = value
    if "quarter_end_deal" in records.columns:
        out["quarter_end_deal"] = records["quarter_end_deal"]
    elif "close_date" in records.columns:
        out["quarter_end_deal"] = quarter_end_flag(records["close_date"])
    else:
        out["quarter_end_deal"] = np.nan
    if "committed_use_cases" in records.columns:
        col = records["committed_use_cases"]
        numeric = pd.api.types.is_numeric_dtype(col)
        out["committed_use_cases"] = col.astype("float64") if numeric else committed_count(col)
    else:
        out["committed_use_cases"] = np.nan
    for name in NUMERIC:
        out[name] = pd.to_numeric(out[name], errors="coerce").astype("float64")
    for name in CATEGORICAL:
        col = out[name]
        out[name] = col.where(col.isna(), col.astype(str)).astype("object")
    return out[list(FEATURES)]


def _deals_with_accounts(tables: CanonicalTables, deals: ir.Table) -> pd.DataFrame:
    cols = [c for c in DEAL_COLUMNS if c in deals.columns]
    frame = deals.select(*cols).to_pandas()
    if tables.accounts is not None:
        acc = tables.accounts
        acc_cols = [c for c in ACCOUNT_COLUMNS if c in acc.columns]
        accounts = acc.select("account_id", *acc_cols).to_pandas()
        frame = frame.merge(accounts, on="account_id", how="left", suffixes=("", "_account"))
        for col in ("lead_source",):
            if f"{col}_account" in frame.columns:
                frame[col] = frame[col].fillna(frame.pop(f"{col}_account"))
    return frame


def customer_history(
    tables: CanonicalTables, as_of: dt.date, settings: MovementSettings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """One row per customer: its first won deal's features and its outcomes as of ``as_of``.

    Columns: ``account_id``, ``close_date`` (first won deal, else the first paid month),
    ``first_month``, the :data:`FEATURES`, ``start_mrr`` (first paid month), ``mrr_12m`` (12
    months later, 0 after churn), ``first_year_churn`` (1/0; missing under 12 months of
    history), ``nrr_12m`` (``mrr_12m / start_mrr``; missing under 12 months).
    """
    as_of_m = index_of(as_of)
    pos = paying_months(tables.mrr_monthly, as_of, settings)
    d = durations(tables, as_of, settings)
    j = pos.join(d.select("account_id", "first_m"), "account_id")
    money = j.group_by("account_id").agg(
        start=j.cents.sum(where=j.m == j.first_m), at12=j.cents.sum(where=j.m == j.first_m + 12)
    )
    out = d.join(money, "account_id")
    age = as_of_m - out.first_m
    labelled = age >= 12
    outcomes = out.select(
        "account_id",
        first_month=ibis.date(out.first_m // 12, out.first_m % 12 + 1, 1),
        start_mrr=out.start.cast("float64") / 100,
        mrr_12m=ibis.ifelse(labelled, out.at12.fill_null(0).cast("float64") / 100, None),
        first_year_churn=ibis.ifelse(
            labelled, (out.event & (out.duration <= 12)).cast("float64"), None
        ),
    ).to_pandas()
    outcomes["nrr_12m"] = outcomes["mrr_12m"] / outcomes["start_mrr"]
    if tables.deals is not None:
        deals = tables.deals
        won = deals.filter((deals.outcome == "won") & deals.close_date.notnull())
        records = _deals_with_accounts(tables, won)
        records = records.sort_values(["account_id", "close_date", "deal_id"])
        records = records.drop_duplicates("account_id", keep="first")
    elif tables.accounts is not None:
        acc_cols = [c for c in ACCOUNT_COLUMNS if c in tables.accounts.columns]
        records = tables.accounts.select("account_id", *acc_cols).to_pandas()
    else:
        records = pd.DataFrame({"account_id": outcomes["account_id"]})
    frame = outcomes.merge(
        records, on="account_id", how="inner" if "close_date" in records else "left"
    )
    if "close_date" not in frame.columns:
        frame["close_date"] = frame["first_month"]
    frame["close_date"] = pd.to_datetime(frame["close_date"]).dt.date
    frame["first_month"] = pd.to_datetime(frame["first_month"]).dt.date
    features = feature_frame(frame)
    keep = ["account_id", "close_date", "first_month"]
    result = pd.concat([frame[keep], features, frame[list(OUTCOMES)]], axis=1)
    return result.sort_values("account_id").reset_index(drop=True)


OUTCOMES = ("start_mrr", "mrr_12m", "first_year_churn", "nrr_12m")


def deal_history(
    tables: CanonicalTables, outcomes: tuple[str, ...] = ("won", "lost")
) -> pd.DataFrame:
    """New-business deals with the given outcomes, with their features and account attributes.

    Columns: ``deal_id``, ``account_id``, ``close_date``, ``outcome``, ``won`` (1/0), the
    :data:`FEATURES`, and the raw account and deal columns (for rules such as
    ``seats_at_close >= 50``). Expansion and renewal deals are left out.
    """
    if tables.deals is None:
        return pd.DataFrame(columns=["deal_id", "account_id", "close_date", "outcome", "won"])
    deals = tables.deals
    chosen = deals.filter(deals.outcome.isin(list(outcomes)))
    if "deal_type" in deals.columns:
        chosen = chosen.filter(chosen.deal_type.isnull() | (chosen.deal_type == "new"))
    frame = _deals_with_accounts(tables, chosen)
    frame["close_date"] = pd.to_datetime(frame["close_date"]).dt.date
    frame["won"] = (frame["outcome"] == "won").astype(int)
    features = feature_frame(frame)
    raw = frame.drop(columns=[c for c in features.columns if c in frame.columns])
    return pd.concat([raw, features], axis=1).reset_index(drop=True)

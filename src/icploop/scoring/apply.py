"""Scoring a batch of leads or open deals: fill what the batch lacks from the warehouse, score
it, and give open deals the deal-time fit check. One function for the CLI and the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from icploop.metrics.tables import CanonicalTables
from icploop.rules import Rule
from icploop.scoring.deal_check import ae_patterns, check_deals
from icploop.scoring.features import (
    FeatureSet,
    customer_history,
    feature_frame,
    quarter_end_flag,
)
from icploop.scoring.model import FitModel
from icploop.scoring.points import PointsTable
from icploop.scoring.train import score_records


def fill_from_accounts(records: pd.DataFrame, tables: CanonicalTables | None) -> pd.DataFrame:
    """Account columns the batch lacks, taken from the warehouse by ``account_id``."""
    if tables is None or tables.accounts is None or "account_id" not in records.columns:
        return records
    accounts = tables.accounts.to_pandas()
    missing = [c for c in accounts.columns if c not in records.columns]
    if not missing:
        return records
    merged = records.merge(accounts[["account_id", *missing]], on="account_id", how="left")
    merged.index = records.index
    return merged


def is_deal_batch(records: pd.DataFrame) -> bool:
    """Open opportunities (rows with ``deal_id`` or ``outcome``) rather than leads."""
    return "deal_id" in records.columns or "outcome" in records.columns


def score_batch(
    records: pd.DataFrame,
    model: FitModel,
    points: PointsTable,
    tables: CanonicalTables | None,
    criteria: Sequence[Rule],
    do_not_close: Sequence[Rule],
    as_of: dt.date,
) -> pd.DataFrame:
    """``records`` with the fit score, tier, points, tier by points and reasons; open deals also
    get ``at_risk`` and ``risks`` (below an ICP criterion, on the do-not-close list, or in an AE
    pattern that churned as of ``as_of``). ``tables`` may be None (no warehouse: no filling, no
    AE patterns)."""
    records = fill_from_accounts(records, tables)
    scored = score_records(records, model, points)
    if not is_deal_batch(records):
        return scored
    patterns = ae_patterns(customer_history(tables, as_of)) if tables is not None else []
    features = feature_frame(records, model.features_)
    both = pd.concat(
        [records.drop(columns=list(features.columns), errors="ignore"), features], axis=1
    )
    if "ae" not in both.columns:
        both["ae"] = feature_frame(records, FeatureSet(("ae",), ()))["ae"]
    if "quarter_end_deal" not in both.columns and "close_date" in both.columns:
        both["quarter_end_deal"] = quarter_end_flag(both["close_date"])
    check = check_deals(both, list(criteria), list(do_not_close), patterns)
    scored["at_risk"] = check["at_risk"]
    scored["risks"] = check["risks"]
    return scored

"""Scoring a batch of leads or open deals: fill what the batch lacks from the warehouse, score
it, and give open deals the deal-time fit check. One function for the CLI and the API.

The warehouse is read once (:func:`warehouse_inputs`: the accounts, and for open deals the AE
patterns that churned), then the model works on what was read (:func:`score_with`) without
holding the warehouse: the web app scores uploads while other requests use it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from icploop.metrics.tables import CanonicalTables
from icploop.rules import Rule
from icploop.scoring.deal_check import AePattern, ae_patterns, check_deals
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
    if tables is None or tables.accounts is None:
        return records
    return _fill(records, tables.accounts.to_pandas())


def _fill(records: pd.DataFrame, accounts: pd.DataFrame | None) -> pd.DataFrame:
    if accounts is None or "account_id" not in records.columns:
        return records
    missing = [c for c in accounts.columns if c not in records.columns]
    if not missing:
        return records
    merged = records.merge(accounts[["account_id", *missing]], on="account_id", how="left")
    merged.index = records.index
    return merged


def is_deal_batch(records: pd.DataFrame) -> bool:
    """Open opportunities (rows with ``deal_id`` or ``outcome``) rather than leads."""
    return "deal_id" in records.columns or "outcome" in records.columns


@dataclass(frozen=True)
class WarehouseInputs:
    """What scoring reads from the warehouse: the accounts (to fill what a batch lacks) and,
    for open deals, the AE patterns that churned."""

    accounts: pd.DataFrame | None
    patterns: tuple[AePattern, ...] = ()


def warehouse_inputs(
    tables: CanonicalTables | None, as_of: dt.date, deals: bool = True
) -> WarehouseInputs:
    """The warehouse's part of :func:`score_batch` (``deals``: also the AE patterns)."""
    if tables is None:
        return WarehouseInputs(None)
    accounts = tables.accounts.to_pandas() if tables.accounts is not None else None
    patterns = tuple(ae_patterns(customer_history(tables, as_of))) if deals else ()
    return WarehouseInputs(accounts, patterns)


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
    inputs = warehouse_inputs(tables, as_of, is_deal_batch(records))
    return score_with(records, model, points, inputs, criteria, do_not_close)


def score_with(
    records: pd.DataFrame,
    model: FitModel,
    points: PointsTable,
    inputs: WarehouseInputs,
    criteria: Sequence[Rule],
    do_not_close: Sequence[Rule],
) -> pd.DataFrame:
    """:func:`score_batch` on warehouse inputs read before (:func:`warehouse_inputs`)."""
    records = _fill(records, inputs.accounts)
    scored = score_records(records, model, points)
    if not is_deal_batch(records):
        return scored
    features = feature_frame(records, model.features_)
    both = pd.concat(
        [records.drop(columns=list(features.columns), errors="ignore"), features], axis=1
    )
    if "ae" not in both.columns:
        both["ae"] = feature_frame(records, FeatureSet(("ae",), ()))["ae"]
    if "quarter_end_deal" not in both.columns and "close_date" in both.columns:
        both["quarter_end_deal"] = quarter_end_flag(both["close_date"])
    check = check_deals(both, list(criteria), list(do_not_close), list(inputs.patterns))
    scored["at_risk"] = check["at_risk"]
    scored["risks"] = check["risks"]
    return scored

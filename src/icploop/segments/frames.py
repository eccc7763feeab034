"""The frames the analyses read: one row per customer account, one row per closed deal, and the
frame of each outcome's search, so that the pack, the CLI and the web app search the same frame. The account frame carries the derived attribute ``quarter_end_deal`` (first deal
closed in the last 14 days of a quarter, ``yes``/``no``) and the closing AE, so that the bad-fit
AE pattern (``closing_ae = X AND quarter_end_deal = yes``) is a segment the search can find.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from icploop.errors import IcploopError
from icploop.metrics.tables import CanonicalTables
from icploop.segments.catalog import OutcomeSpec, column_outcome, scan_thresholds
from icploop.segments.outcomes import (
    ACTIVATION_DAYS,
    VALUE_DAYS,
    account_outcomes,
    activation_outcomes,
    attribute_catalog,
    deal_outcomes,
)
from icploop.segments.thresholds import ThresholdResult
from icploop.warehouse import Warehouse


def account_frame(backend: Any, as_of: dt.date) -> pd.DataFrame:
    """Per customer account: attributes at close and outcomes as of ``as_of``
    (``icploop.segments.outcomes.account_outcomes``), with adoption when usage is loaded."""
    warehouse = Warehouse(backend)
    return account_outcomes(
        warehouse.tables, as_of, warehouse.optional("usage"), warehouse.optional("deal_use_cases")
    )


def deal_frame(backend: Any, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Won and lost deals closed from ``start`` to ``end`` (both included), with the account's
    attributes: ``won`` (0/1), ``discount`` (fraction of list price), ``ae``, ``close_date``.

    Open deals are left out: a close rate counts decided deals only. Deals of accounts missing
    from the accounts table keep missing attributes.
    """
    tables = CanonicalTables.from_backend(backend)
    if tables.deals is None or tables.accounts is None:
        raise IcploopError("close rates need the deals and accounts tables", "load them first")
    deals = tables.deals
    deals = deals.filter(
        deals.outcome.isin(["won", "lost"])
        & (deals.close_date >= start)
        & (deals.close_date <= end)
    )
    wanted = ("industry", "segment", "use_case", "lead_source", "intent_score", "seats_at_close")
    cols = [c for c in wanted if c in tables.accounts.columns]
    frame = deals.select("account_id", "outcome", "discount", "ae", "close_date")
    frame = frame.left_join(tables.accounts.select("account_id", *cols), "account_id")
    out = frame.to_pandas()
    out = out.drop(columns=[c for c in out.columns if c.endswith("_right")])
    out["won"] = (out["outcome"] == "won").astype(int)
    out["closing_ae"] = out["ae"]
    return out


def outcome_frame(backend: Any, as_of: dt.date, spec: OutcomeSpec) -> pd.DataFrame:
    """The frame the search of ``spec`` runs on: per account, per deal (``win``) or per started
    account (``activation``, ``time-to-value``)."""
    if spec.frame == "deals":
        return deal_outcomes(CanonicalTables.from_backend(backend))
    if spec.frame == "activation":
        days = spec.horizon_days or ACTIVATION_DAYS
        return activation_outcomes(
            CanonicalTables.from_backend(backend),
            as_of,
            Warehouse(backend).optional("usage"),
            days=days if spec.name == "activation" else ACTIVATION_DAYS,
            value_days=days if spec.name == "time-to-value" else VALUE_DAYS,
        )
    return account_frame(backend, as_of)


def recommended_thresholds(
    backend: Any, as_of: dt.date, spec: OutcomeSpec
) -> list[ThresholdResult]:
    """The thresholds with a recommended limit of ``spec``'s outcome as of ``as_of``: the one
    scan (:func:`icploop.segments.catalog.scan_thresholds`) on the frame and attribute catalogue
    ``icploop segments`` searches (every searched measure, family-wise); empty for an outcome
    that is not binary."""
    frame = outcome_frame(backend, as_of, spec)
    catalog = attribute_catalog(CanonicalTables.from_backend(backend), frame, (spec.column,))
    if spec.custom:
        frame, spec = column_outcome(frame, spec)
    return [t for t in scan_thresholds(frame, spec, catalog) if t.recommended is not None]

"""What the executive page of the pack needs beyond the sections: the headline a quarter and a
year earlier (the trend of NRR and GRR), and each proposal's size in MRR.

A proposal is about a group of accounts: the segment its evidence names (``industry = Hospitality
AND close_year = 2023``) or the side of a threshold that churns more (accounts under 50 seats).
Its size is the MRR those accounts lost to churn up to the quarter's end, beside their share of
all churned MRR; a group whose attribute the account frame lacks has no size (unknown, with the
reason).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from icploop.formatting import finite
from icploop.metrics.headline import headline
from icploop.metrics.tables import CanonicalTables
from icploop.review.proposals_base import conditions
from icploop.review.quarters import Quarter


def headline_history(tables: CanonicalTables, quarter: Quarter) -> list[dict[str, Any]]:
    """MRR, NRR and GRR at the end of the quarter a year before and the quarter before
    (oldest first; the quarter's own headline is the pack's ``headline``)."""
    out = []
    for back, label in ((4, "a year earlier"), (1, "a quarter earlier")):
        head = headline(tables, quarter.shift(-back).end).to_dict()
        out.append({"label": label, **{k: head[k] for k in ("as_of", "mrr", "nrr", "grr")}})
    return out


def _matches(frame: pd.DataFrame, attribute: str, op: str, value: str) -> pd.Series | None:
    if attribute not in frame.columns:
        return None
    column = frame[attribute]
    if op == "=":
        return column.astype(str) == value
    numbers = pd.to_numeric(column, errors="coerce")
    cut = float(value)
    return (numbers < cut) if op == "<" else (numbers >= cut)


def _group(frame: pd.DataFrame, evidence: dict[str, Any]) -> tuple[str, pd.Series | None]:
    """The proposal's accounts: a description and their mask (None when unknown)."""
    if evidence.get("segment"):
        mask = pd.Series(True, index=frame.index)
        for attribute, op, value in conditions(evidence["segment"]):
            part = _matches(frame, attribute, op, value)
            if part is None:
                return evidence["segment"], None
            mask &= part
        return evidence["segment"], mask
    name, cut = evidence.get("attribute"), evidence.get("cut")
    if name is None or cut is None:
        return "", None
    below = "rate_below_lo" in evidence  # the side whose interval is given is the one at risk
    text = f"{name} {'<' if below else '>='} {cut:g}"
    mask = _matches(frame, str(name), "<" if below else ">=", str(cut))
    return text, mask


def proposal_sizes(accounts: pd.DataFrame, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per proposal (in order): ``group`` (the accounts it is about), ``churned_mrr`` (the MRR
    they lost to churn), ``churned_share`` (of all churned MRR), ``accounts`` and
    ``ratio`` (their first-year churn against the rest); sizes are None with ``unknown``
    saying why when the account frame lacks the group's attribute."""
    churned = (
        pd.to_numeric(accounts["churned_mrr"], errors="coerce")
        if "churned_mrr" in accounts.columns
        else None
    )
    total = float(np.nansum(churned)) if churned is not None else 0.0
    out = []
    for item in items:
        group, mask = _group(accounts, item.get("evidence", {}))
        row: dict[str, Any] = {"group": group, "ratio": finite(item["evidence"].get("ratio"))}
        if mask is None or churned is None:
            reason = "no group of accounts" if not group else "attribute not in the account data"
            out.append({**row, "churned_mrr": None, "churned_share": None, "accounts": None,
                        "unknown": reason})  # fmt: skip
            continue
        lost = float(np.nansum(churned[mask.fillna(False).to_numpy(bool)]))
        out.append(
            {**row, "churned_mrr": lost, "churned_share": lost / total if total else None,
             "accounts": int(mask.sum()), "unknown": None}
        )  # fmt: skip
    return out


def executive_evidence(
    tables: CanonicalTables, accounts: pd.DataFrame, quarter: Quarter, items: list[dict[str, Any]]
) -> dict[str, Any]:
    """The executive page's own evidence (JSON-friendly)."""
    return {
        "history": headline_history(tables, quarter),
        "sizes": proposal_sizes(accounts, items),
    }

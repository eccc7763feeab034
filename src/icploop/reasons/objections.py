"""Objections that return: reasons raised while selling that come back as churn reasons.

Lost deals say what stops buyers (``deals.lost_reason``, else the classified lost-reason note);
sales notes of won accounts say what buyers worried about before signing. An objection
*returns* when a won account's sales notes raised a reason and the account later churned (in the
window) for that same reason. For each reason: lost deals, won accounts that raised it, how many
of those churned for it (``returned``) and the return rate next to the same churn rate among
accounts that never raised it; then the returned objections counted by segment and AE.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from icploop.reasons.classify import ReasonClassifier
from icploop.reasons.evidence import ReasonTables
from icploop.reasons.hypothesis import Comparison, compare_accounts
from icploop.reasons.taxonomy import Taxonomy, load_taxonomy


@dataclass(frozen=True)
class ReturningObjections:
    """Per reason, and per reason, segment and AE."""

    by_reason: pd.DataFrame
    by_owner: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        # a rate with no account to divide by is unknown (None), never NaN
        return {
            "by_reason": self.by_reason.astype(object)
            .where(self.by_reason.notna(), None)
            .to_dict("records"),
            "by_segment_and_ae": self.by_owner.to_dict("records"),
        }


def _lost_deal_reasons(tables: ReasonTables, classifier: ReasonClassifier) -> pd.DataFrame:
    deals = tables.canonical.deals
    if deals is None:
        return pd.DataFrame(columns=["account_id", "reason", "ae"])
    lost = deals.filter(deals.outcome == "lost")
    frame = lost.select(
        "account_id", reason=lost.lost_reason.cast("string"), ae=lost.ae.cast("string")
    ).to_pandas()
    if tables.notes is not None and frame["reason"].isna().any():
        n = tables.notes
        notes = n.filter(n.kind == "lost_reason").select("account_id", "text").to_pandas()
        notes["guess"] = [m.reason for m in classifier.predict(notes["text"].fillna("").tolist())]
        guess = notes.dropna(subset=["guess"]).groupby("account_id")["guess"].last()
        frame["reason"] = frame["reason"].fillna(frame["account_id"].map(guess))
    return frame


def returning_objections(
    tables: ReasonTables,
    as_of: dt.date,
    window_months: int = 12,
    taxonomy: Taxonomy | None = None,
    comparison: Comparison | None = None,
) -> ReturningObjections:
    """Objections from lost deals and sales notes that returned as churn reasons in the window."""
    tax = taxonomy or load_taxonomy()
    clf = ReasonClassifier(tax).fit()
    comp = comparison or compare_accounts(tables, as_of, window_months, taxonomy=tax)
    lost = _lost_deal_reasons(tables, clf)
    accounts = comp.accounts[["account_id", "churned"]].copy()
    info = tables.canonical.accounts
    if info is not None:
        cols = [c for c in ("segment", "owner_ae") if c in info.columns]
        extra = info.select("account_id", *cols).to_pandas()
        accounts = accounts.merge(extra, on="account_id", how="left")
    for col in ("segment", "owner_ae"):
        if col not in accounts.columns:
            accounts[col] = None
    accounts[["segment", "owner_ae"]] = accounts[["segment", "owner_ae"]].fillna("(none)")
    sales = comp.evidence[
        (comp.evidence["source"] == "sales_note") & comp.evidence["match"].notna()
    ]
    raised = sales.groupby("account_id")["match"].agg(set)
    churn_reason = comp.assigned.set_index("account_id")["reason"]
    accounts["raised"] = (
        accounts["account_id"].map(raised).apply(lambda s: s if isinstance(s, set) else set())
    )
    accounts["churn_reason"] = accounts["account_id"].map(churn_reason)
    rows, owners = [], []
    for code in tax.codes:
        has = accounts["raised"].apply(lambda s, c=code: c in s)
        churned_for = (accounts["churned"] == 1) & (accounts["churn_reason"] == code)
        n_obj, n_rest = int(has.sum()), int((~has).sum())
        returned = int((has & churned_for).sum())
        rest = int((~has & churned_for).sum())
        n_lost = int((lost["reason"] == code).sum())
        if not (n_lost or n_obj or returned):
            continue
        rows.append(
            {
                "reason": code,
                "label": tax.label(code),
                "lost_deals": n_lost,
                "won_accounts_raised": n_obj,
                "returned": returned,
                "return_rate": round(returned / n_obj, 4) if n_obj else None,
                "rate_without_objection": round(rest / n_rest, 4) if n_rest else None,
            }
        )
        back = accounts[has & churned_for]
        for (seg, ae), g in back.groupby(["segment", "owner_ae"]):
            owners.append(
                {
                    "reason": code,
                    "segment": seg,
                    "ae": ae,
                    "returned": len(g),
                    "accounts": sorted(g["account_id"])[:5],
                },
            )
    by_reason = pd.DataFrame(rows)
    if not by_reason.empty:
        by_reason = by_reason.sort_values(["returned", "lost_deals"], ascending=False)
    by_owner = pd.DataFrame(owners, columns=["reason", "segment", "ae", "returned", "accounts"])
    by_owner = by_owner.sort_values(["returned", "reason"], ascending=[False, True])
    return ReturningObjections(by_reason.reset_index(drop=True), by_owner.reset_index(drop=True))

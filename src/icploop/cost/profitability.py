"""Profitability by tier and segment, and moving unprofitable high-touch accounts down a tier.

The move (per month, reporting currency), for an unprofitable account in a high-touch tier:

- ``target``: the next tier in ``tier_order`` (the lower-touch service model);
- ``target_cost_ratio``: the median cost per unit of MRR (``cost / revenue``) of the target
  tier's accounts in the same window: what that tier's service model costs per dollar;
- ``expected_cost = target_cost_ratio x mrr``;
- ``margin_gain = cost_per_month - expected_cost`` (x 12 for a year);
- ``contribution_after = margin_per_month - expected_cost``;
- ``break_even_churn``: the chance of losing the account that the move can bear and still not
  leave the business worse off: ``1 - contribution_now / contribution_after`` when the account
  is still profitable (never here: the move is only recommended when it is not), so ``1``: the
  move pays even if the account then churns, because losing an account that costs more than it
  earns raises margin too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from icploop.cost.serve import CostSettings, cost_per_account
from icploop.metrics.tables import CanonicalTables

MOVE_COLUMNS = (
    *("account_id", "link", "tier", "segment", "target_tier", "mrr", "margin_per_month"),
    *("cost_per_month", "contribution_now", "target_cost_ratio", "expected_cost"),
    *("contribution_after", "margin_gain_month", "margin_gain_year", "break_even_churn"),
)


def by_tier_and_segment(accounts: pd.DataFrame, settings: CostSettings) -> pd.DataFrame:
    """Accounts, revenue, margin, cost, contribution and unprofitable share per tier x segment,
    with a total row per tier (segment ``all``); tiers in ``tier_order`` first."""
    paying = accounts[accounts["revenue"] > 0]
    parts = []
    for keys in (["tier", "segment"], ["tier"]):
        g = paying.groupby(keys)
        t = pd.DataFrame(
            {
                "accounts": g.size(),
                "revenue": g["revenue"].sum(),
                "margin": g["margin"].sum(),
                "cost": g["cost"].sum(),
                "unprofitable": g["unprofitable"].sum(),
            }
        ).reset_index()
        if "segment" not in t.columns:
            t["segment"] = "all"
        parts.append(t)
    out = pd.concat(parts, ignore_index=True)
    out["contribution"] = out["margin"] - out["cost"]
    out["contribution_margin"] = (out["contribution"] / out["revenue"]).round(4)
    out["cost_to_margin"] = (out["cost"] / out["margin"]).round(4)
    out["unprofitable_share"] = (out["unprofitable"] / out["accounts"]).round(4)
    rank = {t: i for i, t in enumerate(settings.tier_order)}
    out["_r"] = out["tier"].map(rank).fillna(len(rank))
    out["_a"] = out["segment"] != "all"
    out = out.sort_values(["_r", "tier", "_a", "segment"]).drop(columns=["_r", "_a"])
    for col in ("revenue", "margin", "cost", "contribution"):
        out[col] = out[col].round(2)
    out["unprofitable"] = out["unprofitable"].astype(int)
    return out.reset_index(drop=True)


def recommend_moves(accounts: pd.DataFrame, settings: CostSettings) -> pd.DataFrame:
    """Unprofitable paying accounts of the high-touch tiers, each with the tier to move it to
    and the expected effect on its monthly margin (see the module's arithmetic)."""
    order = list(settings.tier_order)
    paying = accounts[accounts["revenue"] > 0]
    ratio = (paying["cost"] / paying["revenue"]).groupby(paying["tier"]).median()
    rows = []
    heavy = paying[paying["unprofitable"] & paying["tier"].isin(settings.high_touch)]
    for r in heavy.itertuples(index=False):
        i = order.index(r.tier) if r.tier in order else -1
        if i < 0 or i + 1 >= len(order) or order[i + 1] not in ratio.index:
            continue
        target = order[i + 1]
        expected = float(ratio[target]) * float(r.mrr)
        now = float(r.margin_per_month) - float(r.cost_per_month)
        after = float(r.margin_per_month) - expected
        rows.append(
            {
                "account_id": r.account_id,
                "link": f"/accounts/{r.account_id}",
                "tier": r.tier,
                "segment": r.segment,
                "target_tier": target,
                "mrr": round(float(r.mrr), 2),
                "margin_per_month": round(float(r.margin_per_month), 2),
                "cost_per_month": round(float(r.cost_per_month), 2),
                "contribution_now": round(now, 2),
                "target_cost_ratio": round(float(ratio[target]), 4),
                "expected_cost": round(expected, 2),
                "contribution_after": round(after, 2),
                "margin_gain_month": round(float(r.cost_per_month) - expected, 2),
                "margin_gain_year": round(12 * (float(r.cost_per_month) - expected), 2),
                "break_even_churn": 1.0 if now <= 0 else round(1 - now / after, 4),
            }
        )
    out = pd.DataFrame(rows, columns=MOVE_COLUMNS)
    return out.sort_values("contribution_now").reset_index(drop=True)


@dataclass(frozen=True)
class CostToServe:
    """Per-account costs, the tier x segment table and the recommended moves."""

    accounts: pd.DataFrame
    tiers: pd.DataFrame
    moves: pd.DataFrame
    settings: CostSettings
    as_of: dt.date
    caveats: tuple[str, ...] = field(default=())

    def to_dict(self, top: int = 20) -> dict[str, Any]:
        gain = float(self.moves["margin_gain_year"].sum()) if len(self.moves) else 0.0
        return {
            "as_of": self.as_of.isoformat(),
            "window_months": self.settings.window_months,
            "gross_margin": self.settings.gross_margin,
            "rates": dict(self.settings.rates),
            "tier_by": self.settings.tier_by,
            "high_touch": list(self.settings.high_touch),
            "tiers": self.tiers.to_dict("records"),
            "moves": self.moves.head(top).to_dict("records"),
            "moves_total": len(self.moves),
            "margin_gain_year_total": round(gain, 2),
            "caveats": list(self.caveats),
        }


def cost_to_serve(
    tables: CanonicalTables,
    costs: ir.Table,
    as_of: dt.date,
    settings: CostSettings | None = None,
) -> CostToServe:
    """Cost to serve against gross margin, by tier and segment, with recommended tier moves."""
    accounts, used = cost_per_account(tables, costs, as_of, settings)
    caveats = []
    if used.tier_by == "mrr_band" and (settings is None or settings.tier_by != "mrr_band"):
        caveats.append("no plan tier in the data: tiers are MRR bands (top 20% high, next 40% mid)")
    no_rev = int(((accounts["revenue"] == 0) & (accounts["cost"] > 0)).sum())
    if no_rev:
        caveats.append(f"{no_rev} accounts had costs but no revenue in the window (left out)")
    if not np.isfinite(accounts["cost"]).all():
        caveats.append("some costs could not be computed")
    return CostToServe(
        accounts=accounts,
        tiers=by_tier_and_segment(accounts, used),
        moves=recommend_moves(accounts, used),
        settings=used,
        as_of=as_of,
        caveats=tuple(caveats),
    )

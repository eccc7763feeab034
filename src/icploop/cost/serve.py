"""Cost to serve per account against its gross margin, by revenue tier and segment.

Over the ``window_months`` up to ``as_of``: an account's cost is the sum of its ``costs`` rows
(``amount`` when given, else ``hours`` x the team's hourly rate); its gross margin is
``gross_margin`` x its MRR summed over the months it paid. ``contribution = margin - cost``; an
account is unprofitable when it is negative. Monthly figures divide by the months it paid in the
window. The arithmetic, defaults and the tier move are in ``docs/reasons.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from icploop.errors import IcploopError
from icploop.ingest.paying import DEFAULT_SETTINGS, index_of, paying_months
from icploop.metrics.calendar import date_of
from icploop.metrics.tables import CanonicalTables

#: Default fully loaded hourly rates by team, in the reporting currency.
DEFAULT_RATES: Mapping[str, float] = MappingProxyType(
    {"cs": 95.0, "support": 60.0, "services": 140.0, "product": 120.0}
)
DEFAULT_GROSS_MARGIN = 0.80
MRR_TIERS = ("high", "mid", "low")


@dataclass(frozen=True)
class CostSettings:
    """Rates, margin and tiers. ``tier_by`` names an account column or attribute; when the data
    has none, tiers are MRR bands (top 20% ``high``, next 40% ``mid``, rest ``low``).
    ``tier_order`` lists tiers from the highest touch down; ``high_touch`` are the tiers whose
    unprofitable accounts get a move recommended."""

    rates: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))
    gross_margin: float = DEFAULT_GROSS_MARGIN
    window_months: int = 12
    tier_by: str = "plan_tier"
    tier_order: tuple[str, ...] = ("premium", "growth", "starter")
    high_touch: tuple[str, ...] = ("premium",)

    def __post_init__(self) -> None:
        if not 0 < self.gross_margin <= 1:
            raise IcploopError("gross margin must be in (0, 1]", "e.g. --gross-margin 0.8")
        bad = [t for t, r in self.rates.items() if r < 0]
        if bad:
            raise IcploopError(f"negative hourly rate for {', '.join(bad)}")
        if self.window_months < 1:
            raise IcploopError("the window must be at least one month")


def _dimension(tables: CanonicalTables, name: str) -> pd.DataFrame | None:
    acc = tables.accounts
    if acc is not None and name in acc.columns:
        return acc.select("account_id", acc[name].cast("string").name(name)).to_pandas()
    attrs = tables.account_attributes
    if attrs is not None:
        f = attrs.filter(attrs.attribute == name).select("account_id", attrs.value.name(name))
        frame = f.to_pandas()
        if not frame.empty:
            return frame
    return None


def cost_per_account(
    tables: CanonicalTables,
    costs: ir.Table,
    as_of: dt.date,
    settings: CostSettings | None = None,
) -> tuple[pd.DataFrame, CostSettings]:
    """One row per account that paid or cost anything in the window, and the settings used
    (tiers fall back to MRR bands when ``tier_by`` is missing from the data)."""
    s = settings or CostSettings()
    end_m = index_of(as_of)
    start_m = end_m - s.window_months + 1
    pos = paying_months(tables.mrr_monthly, as_of, DEFAULT_SETTINGS)
    pos = pos.filter(pos.m >= start_m)
    rev = (
        pos.group_by("account_id").agg(revenue=pos.cents.sum(), months=pos.m.nunique()).to_pandas()
    )
    rev["revenue"] = rev["revenue"].astype(float) / 100
    c = costs.filter((costs.month >= date_of(start_m)) & (costs.month <= as_of))
    amount = c.amount.cast("float64") if "amount" in c.columns else None
    cols = {"team": c.team.cast("string"), "hours": c.hours.cast("float64").fill_null(0)}
    if amount is not None:
        cols["amount"] = amount
    rows = c.select("account_id", **cols).to_pandas()
    if rows.empty:
        # no cost rows is an unknown cost, never a cost of zero
        raise IcploopError(
            f"cost to serve needs cost rows (hours or amounts per account and month); this "
            f"workspace has none from {date_of(start_m)} to {as_of}",
            "load a costs file (icploop load costs.csv; docs/data-model.md describes it)",
        )
    unknown = sorted(set(rows["team"].dropna()) - set(s.rates))
    if unknown:
        raise IcploopError(
            f"no hourly rate for team(s) {', '.join(unknown)}",
            "pass a rate for each team (e.g. --rate product=120)",
        )
    money = rows["hours"] * rows["team"].map(s.rates).fillna(0.0)
    if "amount" in rows.columns:
        money = rows["amount"].where(rows["amount"].notna(), money)
    rows["cost"] = money
    by_team = rows.pivot_table(index="account_id", columns="team", values="cost", aggfunc="sum")
    by_team = by_team.reindex(columns=sorted(s.rates)).fillna(0.0).add_prefix("cost_")
    out = rev.merge(by_team.reset_index(), on="account_id", how="outer").fillna(
        {"revenue": 0.0, "months": 0}
    )
    team_cols = [col for col in out.columns if col.startswith("cost_")]
    out[team_cols] = out[team_cols].fillna(0.0)
    out["cost"] = out[team_cols].sum(axis=1)
    out["margin"] = s.gross_margin * out["revenue"]
    out["contribution"] = out["margin"] - out["cost"]
    months = out["months"].clip(lower=1)
    out["mrr"] = out["revenue"] / months
    out["cost_per_month"] = out["cost"] / months
    out["margin_per_month"] = out["margin"] / months
    safe = out["margin"].where(out["margin"] > 0, 1.0)
    out["cost_to_margin"] = np.where(out["margin"] > 0, out["cost"] / safe, np.inf)
    out["unprofitable"] = out["contribution"] < 0
    tiers = _dimension(tables, s.tier_by)
    if tiers is None:
        q80, q40 = out["mrr"].quantile(0.8), out["mrr"].quantile(0.4)
        out["tier"] = np.select([out["mrr"] >= q80, out["mrr"] >= q40], ["high", "mid"], "low")
        s = CostSettings(s.rates, s.gross_margin, s.window_months, "mrr_band", MRR_TIERS, ("high",))
    else:
        out = out.merge(tiers.rename(columns={s.tier_by: "tier"}), on="account_id", how="left")
        out["tier"] = out["tier"].fillna("(none)")
    seg = _dimension(tables, "segment")
    out = (
        out.merge(seg, on="account_id", how="left") if seg is not None else out.assign(segment=None)
    )
    out["segment"] = out["segment"].fillna("(none)")
    return out.sort_values("account_id").reset_index(drop=True), s

"""Cost to serve: the unprofitable part of the planted premium tier is found, and the tier move's
margin arithmetic matches a hand-worked case."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pytest

from icploop.cost.profitability import cost_to_serve
from icploop.cost.serve import CostSettings, cost_per_account
from icploop.engine import connect
from icploop.errors import IcploopError
from icploop.metrics.tables import CanonicalTables

AS_OF = dt.date(2026, 10, 31)


@pytest.fixture(scope="module")
def demo(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    copy = tmp_path_factory.mktemp("cost") / "analytics.duckdb"
    shutil.copy(demo_warehouse, copy)
    backend = connect(f"duckdb://{copy}")
    yield CanonicalTables.from_backend(backend), backend.table("costs")
    backend.disconnect()


def test_the_unprofitable_part_of_the_premium_tier_is_found(
    demo: Any, demo_company: dict[str, Any]
) -> None:
    tables, costs = demo
    truth = next(
        e for e in demo_company["truth"]["effects"] if e["id"] == "premium_cost_exceeds_margin"
    )["planted"]
    result = cost_to_serve(tables, costs, AS_OF)
    tiers = result.tiers[result.tiers["segment"] == "all"].set_index("tier")
    assert tiers.loc["premium", "unprofitable_share"] == pytest.approx(
        truth["share_premium"], abs=0.07
    )
    assert tiers.loc["growth", "unprofitable_share"] < 0.08
    assert tiers.loc["starter", "unprofitable_share"] == pytest.approx(truth["share_starter"])
    assert set(result.moves["tier"]) == {"premium"}
    assert set(result.moves["target_tier"]) == {"growth"}
    assert len(result.moves) == tiers.loc["premium", "unprofitable"]
    assert (result.moves["margin_gain_month"] > 0).all()


def test_the_tier_table_adds_up_to_the_accounts(demo: Any) -> None:
    tables, costs = demo
    result = cost_to_serve(tables, costs, AS_OF)
    paying = result.accounts[result.accounts["revenue"] > 0]
    totals = result.tiers[result.tiers["segment"] == "all"]
    assert totals["accounts"].sum() == len(paying)
    assert totals["cost"].sum() == pytest.approx(paying["cost"].sum(), rel=1e-6)
    by_seg = result.tiers[result.tiers["segment"] != "all"]
    assert by_seg["accounts"].sum() == len(paying)


def _hand_worked() -> tuple[CanonicalTables, Any]:
    """Three accounts over a 2-month window (Sep-Oct 2026), gross margin 0.8, default rates
    (cs 95, support 60 per hour).

    P (premium): MRR 1,000 both months -> revenue 2,000, margin 1,600. Costs: cs 10 h a month
    (950 each) and support 5 h in October (300): cost 2,200, contribution -600, per month
    margin 800, cost 1,100.
    G1, G2 (growth): MRR 500 and 1,000; costs 100 and 300 a month as amounts -> cost/revenue
    0.2 and 0.3, median 0.25.
    Moving P to growth: expected cost = 0.25 x 1,000 = 250 a month; gain = 1,100 - 250 = 850 a
    month (10,200 a year); contribution after = 800 - 250 = 550 (from -300 now).
    """
    months = [dt.date(2026, 9, 1), dt.date(2026, 10, 1)]
    mrr = pd.DataFrame(
        [
            {"account_id": a, "month": m, "mrr": v, "mrr_local": v, "currency": "USD"}
            for a, v in (("P", 1000.0), ("G1", 500.0), ("G2", 1000.0))
            for m in months
        ]
    )
    accounts = pd.DataFrame(
        {
            "account_id": ["P", "G1", "G2"],
            "segment": ["Enterprise", "SMB", "SMB"],
            "plan_tier": ["premium", "growth", "growth"],
        }
    )
    costs = pd.DataFrame(
        [
            {"account_id": "P", "month": m, "team": "cs", "hours": 10.0, "amount": None}
            for m in months
        ]
        + [{"account_id": "P", "month": months[1], "team": "support", "hours": 5.0, "amount": None}]
        + [
            {"account_id": a, "month": m, "team": "cs", "hours": 0.0, "amount": amt}
            for a, amt in (("G1", 100.0), ("G2", 300.0))
            for m in months
        ]
    )
    costs["amount"] = costs["amount"].astype("float64")
    tables = CanonicalTables(mrr_monthly=ibis.memtable(mrr), accounts=ibis.memtable(accounts))
    return tables, ibis.memtable(costs)


def test_the_move_to_a_lower_touch_tier_matches_the_hand_worked_arithmetic() -> None:
    tables, costs = _hand_worked()
    settings = CostSettings(window_months=2)
    result = cost_to_serve(tables, costs, AS_OF, settings)
    p = result.accounts.set_index("account_id").loc["P"]
    assert (p["revenue"], p["margin"], p["cost"]) == pytest.approx((2000, 1600, 2200))
    assert p["contribution"] == pytest.approx(-600)
    assert (p["cost_cs"], p["cost_support"]) == pytest.approx((1900, 300))
    (move,) = result.moves.to_dict("records")
    assert move["account_id"] == "P" and move["target_tier"] == "growth"
    assert move["target_cost_ratio"] == pytest.approx(0.25)
    assert move["expected_cost"] == pytest.approx(250)
    assert move["margin_gain_month"] == pytest.approx(850)
    assert move["margin_gain_year"] == pytest.approx(10_200)
    assert move["contribution_now"] == pytest.approx(-300)
    assert move["contribution_after"] == pytest.approx(550)
    assert move["break_even_churn"] == 1.0


def test_rates_change_the_cost_and_an_unknown_team_is_a_user_error() -> None:
    tables, costs = _hand_worked()
    cheap = CostSettings(window_months=2, rates={"cs": 50.0, "support": 60.0})
    frame, _ = cost_per_account(tables, costs, AS_OF, cheap)
    assert frame.set_index("account_id").loc["P", "cost"] == pytest.approx(1000 + 300)
    with pytest.raises(IcploopError, match="no hourly rate for team"):
        cost_per_account(tables, costs, AS_OF, CostSettings(window_months=2, rates={"x": 1.0}))


def test_without_a_plan_tier_the_tiers_are_mrr_bands() -> None:
    tables, costs = _hand_worked()
    result = cost_to_serve(tables, costs, AS_OF, CostSettings(window_months=2, tier_by="nope"))
    assert result.settings.tier_by == "mrr_band"
    assert set(result.accounts["tier"]) <= {"high", "mid", "low"}
    assert any("MRR bands" in c for c in result.caveats)

"""The deal-time fit check: criteria, the do-not-close list and AE patterns, each with evidence."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from icploop.rules import Rule
from icploop.scoring.deal_check import ae_patterns, check_deals

HADDAD = "ae.haddad@demo.icploop.dev"


def test_the_planted_quarter_end_pattern_of_one_ae_is_found_on_the_demo_company(
    demo_inputs: dict[str, Any],
) -> None:
    patterns = ae_patterns(demo_inputs["history"])
    assert [(p.ae, p.quarter_end_only) for p in patterns if p.quarter_end_only] == [(HADDAD, True)]
    found = next(p for p in patterns if p.quarter_end_only)
    assert found.ratio > 2 and found.q_value < 0.01
    assert "quarter-end deals churned" in found.describe()


def test_no_ae_pattern_on_a_null_company(null_inputs: dict[str, Any]) -> None:
    assert ae_patterns(null_inputs["history"]) == []


def test_each_risk_is_reported_with_its_evidence() -> None:
    rng = np.random.default_rng(3)
    n = 400
    history = pd.DataFrame(
        {
            "ae": np.where(np.arange(n) < 60, "bad.ae", "good.ae"),
            "quarter_end_deal": "no",
            "first_year_churn": np.where(
                np.arange(n) < 60, rng.random(n) < 0.6, rng.random(n) < 0.1
            ).astype(float),
        }
    )
    patterns = ae_patterns(history)
    assert [p.ae for p in patterns] == ["bad.ae"]
    deals = pd.DataFrame(
        {
            "deal_id": ["D1", "D2", "D3"],
            "seats": [22.0, 120.0, np.nan],
            "use_case": ["customer_health", "revenue_forecasting", "revenue_forecasting"],
            "ae": ["good.ae", "bad.ae", "good.ae"],
            "quarter_end_deal": ["no", "yes", "no"],
        }
    )
    out = check_deals(
        deals,
        criteria=[Rule(attribute="seats_at_close", op=">=", value=50)],
        do_not_close=[Rule(attribute="use_case", op="==", value="customer_health")],
        patterns=patterns,
    )
    assert list(out["risk_count"]) == [2, 1, 0]
    assert (
        "misses the ICP criterion seats_at_close >= 50 (seats_at_close 22)" in out.loc[0, "risks"]
    )
    assert "do-not-close list: use_case == customer_health" in out.loc[0, "risks"]
    assert out.loc[1, "risks"].startswith("AE pattern: bad.ae's deals churned")
    assert "q <0.001)" in out.loc[1, "risks"] and "e-" not in out.loc[1, "risks"]  # not 1e-15
    assert not out.loc[2, "at_risk"] and "unknown for the ICP" in out.loc[2, "risks"]

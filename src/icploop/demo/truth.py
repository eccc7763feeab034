"""``truth.json``: what was planted, in data terms, so that analyses can be checked against it.

Each effect names its segment as the columns of the canonical tables define it, the outcome and
how it is measured, the expected direction, and the planted parameters. ``realized`` figures are
computed from the generator's own lifetimes (before any file is written); tests measure the same
effects independently from the files.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from icploop.demo import company as C
from icploop.demo import dates as D
from icploop.demo import effects as E
from icploop.demo import vocab as V

Arr = NDArray[Any]
FIRST_YEAR_CHURN = (
    "first-year logo churn: MRR is 0 at some month end within the 12 months after the first "
    "month with MRR > 0; only accounts whose first MRR month is at least 12 months before as_of"
)


def _rate(x: Arr, mask: Arr) -> float | None:
    return round(float(x[mask].mean()), 4) if mask.any() else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def effects(
    c: dict[str, Arr], f: dict[str, Arr], life: dict[str, Arr], org: C.Org, null: bool
) -> list[dict[str, Any]]:
    """The list of planted effects (the same definitions, marked absent, for the null company)."""
    exposed = c["month"] + 12 <= D.N_MONTHS - 1
    y1 = life["life"] <= 12
    rest = exposed & ~f["small"]

    def churn_vs(seg: Arr) -> dict[str, float | None]:
        a, b = _rate(y1, exposed & seg), _rate(y1, exposed & ~seg)
        return {"segment": a, "rest": b, "ratio": _ratio(a, b)}

    bad_ae = org.ae_ids[C.BAD_AE]
    items: list[dict[str, Any]] = [
        {
            "id": "small_seats_first_year_churn",
            "description": "Accounts under 50 seats at close churn about 3x more in their first year.",
            "segment": {"attribute": "seats_at_close", "op": "<", "value": C.SEAT_THRESHOLD},
            "outcome": FIRST_YEAR_CHURN,
            "direction": "higher",
            "planted": {"first_year_churn_multiplier": E.SEAT_MULT, "expected_ratio": 3.0},
            "realized": churn_vs(f["small"]) | {"rest": _rate(y1, rest)},
        },
        {
            "id": "best_use_case_nrr",
            "description": "One use case retains and expands far better; within it one industry even more.",
            "segment": {"attribute": "use_case", "op": "==", "value": "revenue_forecasting"},
            "subsegment": {
                "all": [
                    {"attribute": "industry", "op": "==", "value": "Software"},
                    {"attribute": "use_case", "op": "==", "value": "revenue_forecasting"},
                ]
            },
            "outcome": "12-month NRR (cohort method) and first-year churn",
            "direction": "higher NRR, lower churn",
            "planted": {
                "first_year_churn_multiplier": E.BEST_UC_MULT,
                "subsegment_first_year_churn_multiplier": E.COMBO_MULT,
                "expansion_chance_multiplier": 2.3,
                "subsegment_expansion_chance_multiplier": 3.4,
                "expected_nrr_points_above_rest": 15,
            },
            "realized": {
                "first_year_churn": churn_vs(f["best_uc"]),
                "subsegment": churn_vs(f["combo"]),
            },
        },
        {
            "id": "ae_quarter_end_bad_fit",
            "description": "One AE's quarter-end deals (last 14 days of a quarter) churn much more and carry deep discounts.",
            "segment": {
                "all": [
                    {"attribute": "owner_ae", "op": "==", "value": bad_ae},
                    {"attribute": "deals.close_date", "op": "days_to_quarter_end <", "value": 14},
                    {"attribute": "deals.deal_type", "op": "==", "value": "new"},
                ]
            },
            "outcome": FIRST_YEAR_CHURN + "; and deals.discount",
            "direction": "higher churn, higher discount",
            "planted": {
                "first_year_churn_multiplier": E.BAD_QE_MULT,
                "first_year_churn_floor": E.BAD_QE_FLOOR,
                "seats_sold_multiplier": C.BAD_AE_SEAT_INFLATION,
                "discount_range": [0.30, 0.50],
                "discount_rest": "0 for 40% of deals, else 0.05-0.22",
                "share_of_this_ae_deals_pulled_to_quarter_end": 0.45,
                "extra_share_of_all_deals": C.BAD_AE_EXTRA_SHARE,
                "story": "the team's top closer by volume: high on bookings, low on retained bookings",
            },
            "realized": churn_vs(f["bad_qe"]),
        },
        {
            "id": "hospitality_2023_push",
            "description": "Hospitality was targeted hard in 2023: many deals, high win rate, ~50% first-year churn, stalled adoption.",
            "segment": {
                "all": [
                    {"attribute": "industry", "op": "==", "value": "Hospitality"},
                    {"attribute": "first won deal close_date year", "op": "==", "value": 2023},
                ]
            },
            "outcome": FIRST_YEAR_CHURN + "; win rate of new deals; usage growth of survivors",
            "direction": "more deals, higher win rate, higher churn, lower usage growth",
            "planted": {
                "share_of_2023_new_logos": 0.20,
                "share_other_years": V.INDUSTRY_WEIGHTS[C.HOSPITALITY],
                "win_rate": E.WIN_HOSP23,
                "win_rate_base": E.WIN_BASE,
                "first_year_churn": E.HOSP23_P1,
                "stalled_adoption_share": E.STALL_HOSP23,
                "stalled_adoption_share_base": E.STALL_BASE,
            },
            "realized": churn_vs(f["hosp23"])
            | {"stalled_share": _rate(life["stalled"], f["hosp23"])},
        },
        {
            "id": "intent_trap",
            "description": "Leads from the intent vendor score high on intent and win more, but retain poorly.",
            "segment": {"attribute": "lead_source", "op": "==", "value": "intent_vendor"},
            "outcome": FIRST_YEAR_CHURN + "; intent_score; NRR",
            "direction": "higher intent score, higher churn",
            "planted": {
                "intent_score_mean": V.INTENT_MEANS[C.INTENT_VENDOR],
                "intent_score_mean_others": "44-60 by source",
                "first_year_churn_multiplier": E.INTENT_MULT,
                "win_rate": E.WIN_INTENT,
            },
            "realized": churn_vs(f["intent"]),
        },
        {
            "id": "support_not_cause",
            "description": "The hypothesis 'support causes churn' is false: churned accounts do not have more tickets or slower resolution; support_quality is a rare reason.",
            "segment": {"attribute": "churned", "op": "==", "value": True},
            "outcome": "tickets per paid month, resolution days, share of churn reasons",
            "direction": "no difference in support experience; top reasons elsewhere",
            "planted": {
                "ticket_volume_depends_on": "seats only",
                "support_quality_reason_share": V.CHURN_REASON_WEIGHTS[6],
                "top_reasons": ["missing_integration", "low_adoption", "budget_cuts"],
            },
            "realized": {"reason_shares": _reason_shares(life)},
        },
        {
            "id": "premium_cost_exceeds_margin",
            "description": "Part of the premium tier costs more to serve than its gross margin.",
            "segment": {"attribute": "plan_tier", "op": "==", "value": "premium"},
            "outcome": "share of accounts whose lifetime cost (hours x rate) exceeds gross margin",
            "direction": "higher",
            "planted": {
                "share_premium": E.HEAVY_PREMIUM,
                "share_growth": E.HEAVY_GROWTH,
                "share_starter": 0.0,
                "gross_margin": E.GROSS_MARGIN,
                "hourly_rates_usd": E.RATES_USD,
                "margin_definition": "gross_margin x MRR converted to USD at fx_rates",
            },
        },
        {
            "id": "champion_departure_precedes_churn",
            "description": "Accounts whose champion leaves churn much more in the following months.",
            "segment": {
                "attribute": "contacts",
                "op": "champion row with valid_to set and no later row for the contact",
                "value": "departure date = valid_to",
            },
            "outcome": "churn (MRR reaches 0) within 12 months after the departure",
            "direction": "higher",
            "planted": {
                "chance_departure_ends_account": E.CHAMPION_TRIGGER,
                "within_months": "6 (monthly billing) or at the next renewal (annual)",
                "departure_rate": "about 14% a year after month 3",
            },
            "realized": {"departures": int(life["departed"].sum())},
        },
    ]
    for item in items:
        item["present"] = not null
    return items


def never_activated_effect(c: dict[str, Arr], never: Arr, null: bool) -> dict[str, Any]:
    """The variant's ninth effect: customers who win and never start."""
    segment = c["crm"] == C.NO_INTEGRATION_CRM
    a, b = _rate(never, segment), _rate(never, ~segment)
    return {
        "id": "never_activated",
        "description": "Customers on a CRM without an integration (Dynamics) often win and never "
        "start: no subscription and no use after the close.",
        "segment": {"attribute": "crm_system", "op": "==", "value": "dynamics"},
        "outcome": "never activated: no MRR and no usage within 60 days of the first won deal",
        "direction": "higher",
        "planted": {"segment_rate": E.NEVER_ACTIVE_SEGMENT, "base_rate": E.NEVER_ACTIVE_BASE},
        "realized": {"segment": a, "rest": b, "ratio": _ratio(a, b), "never": int(never.sum())},
        "present": not null,
    }


def _reason_shares(life: dict[str, Arr]) -> dict[str, float]:
    r = life["reason"][life["churned"]]
    counts = np.bincount(r, minlength=len(V.CHURN_REASONS))
    total = max(int(counts.sum()), 1)
    return {name: round(int(k) / total, 3) for name, k in zip(V.CHURN_REASONS, counts, strict=True)}

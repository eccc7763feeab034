"""The planted effects as per-account parameters, and the null company that has none.

Each customer gets the probabilities that drive its story (first-year churn, later churn,
expansion, contraction, win rate, discount, cost to serve). In the null company every parameter
is shuffled across customers with its own permutation: the marginal distributions are exactly
those of the planted company, and every link to an attribute is gone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from icploop.demo import company as C

Arr = NDArray[Any]

P1_BASE = 0.07  # first-year churn probability of a large, ordinary account
SEAT_MULT = 3.8  # small accounts (seats < 50): first-year churn multiplier
BEST_UC_MULT = 0.45  # revenue_forecasting: churns less
COMBO_MULT = 0.25  # Software x revenue_forecasting: churns least
INTENT_MULT = 2.2  # intent_vendor leads
BAD_QE_MULT = 5.5  # the bad AE's quarter-end deals
BAD_QE_FLOOR = 0.5  # ... and their first-year churn is at least this, large accounts included
HOSP23_P1 = 0.50  # the 2023 hospitality push: about half churn in year one
P1_CAP = 0.90

P2_BASE = 0.10  # yearly churn probability after year one
PE_BASE = 0.17  # expansion chance at each half-year change point
PC_BASE = 0.05  # contraction chance at each change point
WIN_BASE = 0.33
WIN_HOSP23 = 0.62
WIN_INTENT = 0.42
CHAMPION_TRIGGER = 0.30  # chance that a champion departure ends the account within months
STALL_BASE = 0.12
STALL_Y1_CHURN = 0.65
STALL_HOSP23 = 0.85
NEVER_ACTIVE_BASE = 0.04  # variant: customers that win but never start, anywhere
NEVER_ACTIVE_SEGMENT = 0.40  # ... and on a CRM without an integration
RECENT_ATTRIBUTE_DAYS = 180  # variant: an attribute recorded only for closes this recent
HEAVY_PREMIUM = 0.30  # share of premium accounts whose cost to serve exceeds gross margin
HEAVY_GROWTH = 0.03
GROSS_MARGIN = 0.80
RATES_USD = {"cs": 95.0, "support": 60.0, "services": 140.0}


def flags(c: dict[str, Arr]) -> dict[str, Arr]:
    """The planted segments, as boolean masks over customers."""
    year = c["close"].astype("datetime64[Y]").astype(int) + 1970
    best = c["use_case"] == C.BEST_USE_CASE
    return {
        "small": c["seats"] < C.SEAT_THRESHOLD,
        "best_uc": best,
        "combo": best & (c["industry"] == C.BEST_INDUSTRY),
        "intent": c["lead"] == C.INTENT_VENDOR,
        "bad_qe": (c["ae"] == C.BAD_AE) & c["quarter_end"],
        "hosp23": (c["industry"] == C.HOSPITALITY) & (year == 2023),
        "premium": c["tier"] == 2,
    }


def plant(c: dict[str, Arr], rng: np.random.Generator, null: bool) -> dict[str, Arr]:
    """Per-customer parameters; shuffled independently when ``null``."""
    f = flags(c)
    n = len(c["seats"])
    p1 = np.full(n, P1_BASE)
    p1 *= np.where(f["small"], SEAT_MULT, 1.0)
    p1 *= np.where(f["combo"], COMBO_MULT, np.where(f["best_uc"], BEST_UC_MULT, 1.0))
    p1 *= np.where(f["intent"], INTENT_MULT, 1.0)
    # oversold deals churn whatever their size: the multiplier, and at least the floor
    p1 = np.where(f["bad_qe"], np.maximum(p1 * BAD_QE_MULT, BAD_QE_FLOOR), p1)
    p1 = np.where(f["hosp23"], HOSP23_P1, np.minimum(p1, P1_CAP))

    p2 = np.full(n, P2_BASE)
    p2 *= np.where(f["small"], 1.4, 1.0)
    p2 *= np.where(f["combo"], 0.35, np.where(f["best_uc"], 0.5, 1.0))
    p2 *= np.where(f["intent"] | f["hosp23"] | f["bad_qe"], 1.6, 1.0)

    pe = np.full(n, PE_BASE)
    pe *= np.where(f["combo"], 3.4, np.where(f["best_uc"], 2.3, 1.0))
    pe *= np.where(f["intent"] | f["hosp23"], 0.5, 1.0)
    pc = np.full(n, PC_BASE)
    pc *= np.where(f["best_uc"], 0.5, 1.0)
    pc *= np.where(f["intent"] | f["hosp23"], 1.6, 1.0)

    win = np.where(f["hosp23"], WIN_HOSP23, np.where(f["intent"], WIN_INTENT, WIN_BASE))
    discount = np.where(rng.random(n) < 0.4, 0.0, rng.uniform(0.05, 0.22, n))
    discount = np.where(f["bad_qe"], rng.uniform(0.30, 0.50, n), discount).round(3)
    heavy_p = np.select([c["tier"] == 2, c["tier"] == 1], [HEAVY_PREMIUM, HEAVY_GROWTH], 0.0)
    heavy = rng.random(n) < heavy_p
    cost_ratio = np.where(heavy, rng.uniform(1.15, 1.8, n), rng.uniform(0.10, 0.50, n))

    params = {
        "p1": p1,
        "p2": p2,
        "pe": pe,
        "pc": pc,
        "win": win,
        "discount": discount,
        "cost_ratio": cost_ratio,
    }
    if null:
        params = {k: v[rng.permutation(n)] for k, v in params.items()}
    return params


def never_activated(c: dict[str, Arr], rng: np.random.Generator, null: bool) -> Arr:
    """The variant's ninth effect: customers that win and never start (no subscription, no
    use). About 4% anywhere and 40% of customers on a CRM without an integration; in the null
    company everyone has the same overall chance."""
    p = np.where(c["crm"] == C.NO_INTEGRATION_CRM, NEVER_ACTIVE_SEGMENT, NEVER_ACTIVE_BASE)
    if null:
        p = np.full(len(p), p.mean())
    return rng.random(len(p)) < p

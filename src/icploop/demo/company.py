"""Who the demo company sells to: the org, customer and prospect accounts, new deals, fx rates.

Customers are drawn first (one won "new" deal each); prospects are drawn as lookalikes of
customers, a Poisson number per customer set by that customer's win probability, so that the
win rate of any segment is what the planted parameters say without simulating a funnel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from icploop.demo import dates as D
from icploop.demo import vocab as V

Arr = NDArray[Any]
DOMAIN = "demo.icploop.dev"
N_AES = 12
N_CSMS = 12
N_CS_MANAGERS = 3
BAD_AE = 4  # index into the AE list: the AE whose quarter-end deals are bad fit
BAD_AE_EXTRA_SHARE = 0.02  # extra deals for the bad AE, as a share of all deals
BAD_AE_SEAT_INFLATION = 2.2  # seats sold on the bad AE's quarter-end deals, against need
BEST_USE_CASE = V.USE_CASES.index("revenue_forecasting")
BEST_INDUSTRY = V.INDUSTRIES.index("Software")
HOSPITALITY = V.INDUSTRIES.index("Hospitality")
INTENT_VENDOR = V.LEAD_SOURCES.index("intent_vendor")
NO_INTEGRATION_CRM = V.CRM_SYSTEMS.index("dynamics")  # the variant's never-activated segment
SEAT_THRESHOLD = 50
QUARTER_END_DAYS = 14


@dataclass(frozen=True)
class Org:
    """The revenue team; ``ae_ids[i]`` is AE number i, ``csm_manager[j]`` the manager of CSM j."""

    table: dict[str, list[str]]
    ae_ids: list[str]
    csm_ids: list[str]
    csm_manager_ids: list[str]


def make_org() -> Org:
    """A fixed org: 12 AEs, a sales manager, 12 CSMs under 3 managers, RevOps, Marketing, admin."""
    rows: list[tuple[str, str, str, str]] = []  # person_id, name, role, manager

    def person(prefix: str, i: int, role: str, manager: str) -> str:
        first = V.FIRST_NAMES[i % len(V.FIRST_NAMES)]
        last = V.LAST_NAMES[i % len(V.LAST_NAMES)]
        pid = f"{prefix}.{last.lower()}@{DOMAIN}"
        rows.append((pid, f"{first} {last}", role, manager))
        return pid

    sales_mgr = person("sales", 12, "sales_manager", "")
    aes = [person("ae", i, "ae", sales_mgr) for i in range(N_AES)]
    managers = [person("csmgr", 13 + i, "cs_manager", "") for i in range(N_CS_MANAGERS)]
    csms = [person("csm", i + 5, "csm", managers[i % N_CS_MANAGERS]) for i in range(N_CSMS)]
    csm_mgr = [managers[i % N_CS_MANAGERS] for i in range(N_CSMS)]
    revops_lead = person("revops", 16, "revops", "")
    person("revops", 17, "revops", revops_lead)
    mkt = person("marketing", 7, "marketing", "")
    person("marketing", 9, "marketing", mkt)
    person("admin", 2, "admin", "")
    table = {
        "person_id": [r[0] for r in rows],
        "name": [r[1] for r in rows],
        "email": [r[0] for r in rows],
        "role": [r[2] for r in rows],
        "manager_id": [r[3] for r in rows],
    }
    return Org(table, aes, csms, csm_mgr)


def account_ids(numbers: Arr) -> pa.Array:
    """``A0000001``-style ids."""
    s = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), 7, "0")
    return pc.binary_join_element_wise("A", s, "")


def _choice(rng: np.random.Generator, n: int, weights: tuple[float, ...] | Arr) -> Arr:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum()).astype(np.int64)


def _close_dates(rng: np.random.Generator, n: int) -> Arr:
    # new-logo volume grows about 30% a year: inverse-CDF of an exponential density over the window
    span = float((D.AS_OF - D.START).astype(int))
    r = 0.30 / 365.0
    u = rng.random(n)
    t = np.log1p(u * np.expm1(r * span)) / r
    return D.START + np.floor(t).astype(np.int64).astype("timedelta64[D]")


def make_customers(rng: np.random.Generator, n: int) -> dict[str, Arr]:
    """Attributes of the ``n`` customer accounts and of their first won deal."""
    close = np.sort(_close_dates(rng, n))
    year = close.astype("datetime64[Y]").astype(int) + 1970
    # the 2023 hospitality push: a hard-targeted segment is a fifth of that year's new logos
    w = np.array(V.INDUSTRY_WEIGHTS)
    push = w.copy()
    push[HOSPITALITY] = 0.0
    push = push / push.sum() * 0.80
    push[HOSPITALITY] = 0.20
    industry = np.where(
        year == 2023, _choice(rng, n, push), _choice(rng, n, w)
    )  # two draws keep the stream fixed whatever the year mix
    seats = np.clip(np.round(np.exp(rng.normal(np.log(75.0), 1.0, n))), 5, 5000).astype(np.int64)
    employees = np.maximum(seats, np.round(seats * np.exp(rng.normal(1.2, 0.5, n)))).astype(
        np.int64
    )
    segment = np.select([employees < 200, employees < 1000], [0, 1], 2)
    region = _choice(rng, n, V.REGION_WEIGHTS)
    emea_ccy = _choice(rng, n, (0.15, 0.55, 0.30))
    currency = np.where(region == 1, emea_ccy, 0)
    lead = _choice(rng, n, V.LEAD_SOURCE_WEIGHTS)
    intent = np.clip(np.asarray(V.INTENT_MEANS)[lead] + rng.normal(0, 10, n), 0, 100).round(1)
    ae = rng.integers(0, N_AES, n)
    # the bad AE makes the number by volume: extra deals on top of a fair share, pulled into
    # the last two weeks of the quarter like many of the AE's other deals
    extra = rng.random(n) < BAD_AE_EXTRA_SHARE
    ae = np.where(extra, BAD_AE, ae)
    days_left = D.quarter_end_days_left(close)
    pull = (ae == BAD_AE) & ((rng.random(n) < 0.45) | extra) & (days_left >= QUARTER_END_DAYS)
    moved = close + (days_left - rng.integers(0, QUARTER_END_DAYS, n)).astype("timedelta64[D]")
    close = np.where(pull & (moved <= D.AS_OF), moved, close)
    quarter_end = D.quarter_end_days_left(close) < QUARTER_END_DAYS
    # and oversells them: more seats than the customer will use, so big bookings that churn
    oversold = (ae == BAD_AE) & quarter_end
    seats = np.where(oversold, np.round(seats * BAD_AE_SEAT_INFLATION), seats).astype(np.int64)
    employees = np.maximum(employees, seats)
    csm = rng.integers(0, N_CSMS, n)
    use_case = _choice(rng, n, V.USE_CASE_WEIGHTS)
    # secondary committed use cases: 0-2 others, as a bitmask over USE_CASES
    keys = rng.random((n, len(V.USE_CASES)))
    keys[np.arange(n), use_case] = -1.0
    order = np.argsort(keys, axis=1)
    extra = _choice(rng, n, (0.35, 0.40, 0.25))
    mask = np.zeros(n, dtype=np.int64)
    for j in (1, 2):
        mask |= np.where(extra >= j, 1 << order[:, j], 0)
    crm = _choice(rng, n, V.CRM_WEIGHTS)
    u = rng.random(n)
    tier = np.select(
        [seats < 50, seats < 200],
        [np.where(u < 0.7, 0, 1), np.select([u < 0.10, u < 0.75], [0, 1], 2)],
        np.where(u < 0.4, 1, 2),
    )
    annual = rng.random(n) < np.array([0.25, 0.55, 0.85])[segment]
    campaign = np.where(rng.random(n) < 0.35, rng.integers(0, len(V.CAMPAIGNS), n), -1)
    hosp23 = (industry == HOSPITALITY) & (year == 2023)
    campaign = np.where(hosp23 & (rng.random(n) < 0.8), len(V.CAMPAIGNS), campaign)
    cycle = rng.integers(20, 60, n) + np.array([0, 25, 60])[segment]
    return {
        "close": close,
        "month": D.month_of(close),
        "anchor_day": np.minimum(
            (close - close.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1,
            28,
        ),
        "created": close - cycle.astype("timedelta64[D]"),
        "account_created": close - (cycle + rng.integers(0, 200, n)).astype("timedelta64[D]"),
        "industry": industry,
        "seats": seats,
        "employees": employees,
        "segment": segment,
        "region": region,
        "currency": currency,
        "lead": lead,
        "intent": intent,
        "ae": ae,
        "csm": csm,
        "use_case": use_case,
        "uc_mask": mask,
        "crm": crm,
        "tier": tier,
        "annual": annual,
        "campaign": campaign,
        "quarter_end": quarter_end,
        "name_idx": rng.integers(0, 1 << 30, n),
    }


def company_names(name_idx: Arr) -> pa.Array:
    """Invented company names from word parts."""
    a = name_idx % len(V.COMPANY_FIRST)
    b = (name_idx // 16) % len(V.COMPANY_SECOND)
    c = (name_idx // 256) % len(V.COMPANY_SUFFIX)
    num = (name_idx // 4096) % 90 + 10
    from icploop.demo.writer import pick

    return pc.binary_join_element_wise(
        pick(V.COMPANY_FIRST, a),
        pick(V.COMPANY_SECOND, b),
        pc.cast(pa.array(num), pa.string()),
        pa.scalar(" "),
        pick(V.COMPANY_SUFFIX, c),
        "",
    )


def fx_rates(rng: np.random.Generator) -> tuple[dict[str, Any], Arr]:
    """Monthly EUR and GBP rates into USD; also a (3, months) matrix indexed by currency code."""
    months = np.arange(D.N_MONTHS)
    matrix = np.ones((len(V.CURRENCIES), D.N_MONTHS))
    for k, ccy in enumerate(V.CURRENCIES[1:], start=1):
        walk = np.cumsum(rng.normal(0, 0.012, D.N_MONTHS))
        matrix[k] = np.round(V.FX_BASE[ccy] * np.exp(walk - walk.mean()), 4)
    table = {
        "currency": np.repeat(np.array(V.CURRENCIES[1:]), D.N_MONTHS),
        "valid_from": np.tile(D.month_start(months), 2),
        "rate": matrix[1:].ravel(),
    }
    return table, matrix

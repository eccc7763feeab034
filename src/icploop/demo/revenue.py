"""Lifetimes and revenue: when each customer churns, and its subscription periods.

A lifetime ``L`` is the number of paid months from the first MRR month. First-year churners
(probability ``p1``) stop within 12 months (annual contracts at their first renewal); the rest
churn at a yearly rate ``p2``. A champion departure may cut a lifetime short. Subscriptions are
written compactly: one row per contiguous constant-MRR period, with changes only at change points
(month 3 for a limited-time discount ending, every 6 months for monthly billing, every 12 for
annual), so that annual contracts change only at renewal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from icploop.demo import dates as D
from icploop.demo import effects as E
from icploop.demo import vocab as V
from icploop.demo.writer import masked, pick

Arr = NDArray[Any]
CHANGE_POINTS = np.array([3, 6, 12, 18, 24, 30, 36, 42, 48, 54, 60])
LAST_MONTH = D.N_MONTHS - 1
DAYS_PER_MONTH = 30.44
PLANS = tuple(f"{t}-{b}" for t in V.PLAN_TIERS for b in ("monthly", "annual"))

# reason mixes (in CHURN_REASONS order) of churn that a planted mechanism explains
_MIX = {
    "bad_qe": (0.50, 0.15, 0.0, 0.0, 0.10, 0.25, 0.0, 0.0),
    "hosp23": (0.0, 0.45, 0.45, 0.0, 0.10, 0.0, 0.0, 0.0),
    "stall": (0.15, 0.70, 0.15, 0.0, 0.0, 0.0, 0.0, 0.0),
    "intent": (0.35, 0.35, 0.30, 0.0, 0.0, 0.0, 0.0, 0.0),
}


def lifetimes(
    c: dict[str, Arr], p: dict[str, Arr], f: dict[str, Arr], rng: np.random.Generator, null: bool
) -> dict[str, Arr]:
    """Paid months, churn, champion departure, stalled adoption, churn reason, reactivation."""
    n = len(c["seats"])
    annual = c["annual"]
    y1 = rng.random(n) < p["p1"]
    l_y1 = np.where(annual, 12, rng.integers(2, 13, n))
    h2 = 1.0 - (1.0 - p["p2"]) ** (1.0 / 12.0)
    l_later = np.where(annual, 12 * (1 + rng.geometric(p["p2"])), 12 + rng.geometric(h2))
    life = np.where(y1, l_y1, l_later)
    # champion departure, in months after the start of service
    dep = 3.0 + rng.exponential(100.0, n)
    trigger_at = 3.0 + rng.exponential(100.0, n)
    if not null:
        trigger_at = dep
    md = np.floor(trigger_at).astype(np.int64)
    cut = np.where(annual, 12 * ((md + 12) // 12), md + 1 + rng.integers(0, 6, n))
    trig = (md < life) & (rng.random(n) < E.CHAMPION_TRIGGER) & (cut <= life)
    life = np.where(trig, cut, life)
    s = c["month"]
    churned = s + life <= LAST_MONTH
    dep_date = c["close"] + np.round(dep * DAYS_PER_MONTH).astype(np.int64).astype("timedelta64[D]")
    departed = (np.floor(dep) < life) & (dep_date <= D.AS_OF)

    y1_churn = life <= 12
    stall_p = np.full(n, E.STALL_BASE)
    stall_p = np.where(f["intent"], 0.35, stall_p)
    stall_p = np.where(f["bad_qe"], 0.50, stall_p)
    stall_p = np.where(y1_churn, E.STALL_Y1_CHURN, stall_p)
    stall_p = np.where(f["hosp23"], E.STALL_HOSP23, stall_p)
    stalled = rng.random(n) < stall_p

    mix = np.tile(np.asarray(V.CHURN_REASON_WEIGHTS), (n, 1))
    for name in ("intent", "stall", "hosp23", "bad_qe"):
        mask = stalled if name == "stall" else f[name]
        mix[mask] = _MIX[name]
    mix[trig] = np.eye(len(V.CHURN_REASONS))[V.CHURN_REASONS.index("champion_left")]
    cum = np.cumsum(mix / mix.sum(axis=1, keepdims=True), axis=1)
    reason = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), len(V.CHURN_REASONS) - 1)
    if null:
        stalled = stalled[rng.permutation(n)]
        idx = np.flatnonzero(churned)
        reason[idx] = reason[idx[rng.permutation(len(idx))]]
    gap = rng.integers(2, 9, n)
    react = churned & (s + life + gap <= LAST_MONTH - 2) & (rng.random(n) < 0.06)
    return {
        "life": life,
        "churned": churned,
        "dep": dep,
        "dep_date": dep_date,
        "departed": departed,
        "champion_churn": trig,
        "stalled": stalled,
        "reason": reason,
        "react": react,
        "react_month": s + life + gap,
        "react_factor": rng.uniform(0.6, 1.0, n),
        "limited": ~annual & (p["discount"] == 0) & (rng.random(n) < 0.25),
    }


def price_local(c: dict[str, Arr], idx: Arr) -> Arr:
    """List price per seat and month in the account's currency."""
    return (
        np.asarray(V.PRICE_PER_SEAT_USD)[c["tier"][idx]]
        * np.asarray(V.PRICE_BOOK)[c["currency"][idx]]
    )


def subscriptions(
    idx: Arr,
    ids: pa.Array,
    c: dict[str, Arr],
    p: dict[str, Arr],
    life: dict[str, Arr],
    rng: np.random.Generator,
) -> tuple[dict[str, Any], dict[str, Any], Arr]:
    """Subscription rows, expansion deals and the (accounts x months) local MRR of a chunk."""
    n = len(idx)
    s, L, annual = c["month"][idx], life["life"][idx], c["annual"][idx]
    seats0, disc = c["seats"][idx], p["discount"][idx]
    limited = life["limited"][idx]
    cp = CHANGE_POINTS[None, :]
    eligible = (cp < L[:, None]) & (s[:, None] + cp <= LAST_MONTH)
    slot_ok = np.where(annual[:, None], cp % 12 == 0, cp != 3)
    pe = np.where(annual, 1 - (1 - p["pe"][idx]) ** 2, p["pe"][idx])[:, None]
    pcn = np.where(annual, 1 - (1 - p["pc"][idx]) ** 2, p["pc"][idx])[:, None]
    u = rng.random((n, len(CHANGE_POINTS)))
    factor = np.where(
        u < pe,
        rng.uniform(1.15, 1.6, u.shape),
        np.where(u < pe + pcn, rng.uniform(0.65, 0.9, u.shape), 1.0),
    )
    change = eligible & slot_ok & (factor != 1.0)
    seats = np.empty((n, len(CHANGE_POINTS)), dtype=np.int64)
    prev = seats0.copy()
    for j in range(len(CHANGE_POINTS)):
        new = np.where(change[:, j], np.maximum(3, np.round(prev * factor[:, j])), prev)
        change[:, j] &= new != prev
        seats[:, j] = prev = new.astype(np.int64)
    change[:, 0] = eligible[:, 0] & limited

    ci, cj = np.nonzero(change)
    acc = np.concatenate([np.arange(n), ci])
    k = np.concatenate([np.zeros(n, np.int64), CHANGE_POINTS[cj]])
    row_seats = np.concatenate([seats0, seats[ci, cj]])
    first = np.concatenate([np.ones(n, bool), np.zeros(len(ci), bool)])
    order = np.lexsort((k, acc))
    acc, k, row_seats, first = acc[order], k[order], row_seats[order], first[order]
    last = np.ones(len(acc), bool)
    last[:-1] = acc[1:] != acc[:-1]
    next_k = np.where(last, L[acc], np.roll(k, -1))
    open_end = last & ~(s[acc] + L[acc] <= LAST_MONTH)

    promo = first & limited[acc]
    list_mrr = row_seats * price_local(c, idx[acc])
    net = np.round(list_mrr * (1 - disc[acc]) * np.where(promo, 0.8, 1.0), 2)
    disc_mrr = np.round(list_mrr - net, 2)
    kind = np.where(promo, 1, np.where(disc_mrr > 0, 0, -1))
    day = c["anchor_day"][idx][acc]
    start = np.where(first, c["close"][idx][acc], D.anchored(s[acc] + k, day))
    end = D.anchored(s[acc] + next_k, day) - np.timedelta64(1, "D")
    churn_row = last & ~open_end
    cancel = np.maximum(end - rng.integers(10, 60, len(acc)).astype("timedelta64[D]"), start)

    # reactivations: a new open period some months after churn
    r = np.flatnonzero(life["react"][idx])
    last_rows = np.flatnonzero(last)
    r_seats = np.maximum(3, np.round(row_seats[last_rows][r] * life["react_factor"][idx][r]))
    r_mrr = np.round(r_seats * price_local(c, idx[r]), 2)
    r_start = D.anchored(life["react_month"][idx][r], c["anchor_day"][idx][r])

    all_acc = np.concatenate([acc, r])
    kind_all = np.concatenate([kind, np.full(len(r), -1)])
    sub = {
        "subscription_id": ids.take(pa.array(all_acc)),
        "account_id": ids.take(pa.array(all_acc)),
        "period_start": np.concatenate([start, r_start]),
        "period_end": masked(
            np.concatenate([end, r_start]), np.concatenate([open_end, np.ones(len(r), bool)])
        ),
        "mrr": np.concatenate([net, r_mrr]),
        "currency": pick(V.CURRENCIES, c["currency"][idx][all_acc]),
        "discount_mrr": np.concatenate([disc_mrr, np.zeros(len(r))]),
        "discount_kind": masked(
            pick(("forever", "limited"), np.maximum(kind_all, 0)).to_numpy(zero_copy_only=False),
            kind_all < 0,
        ),
        "charge_type": pa.array(np.full(len(all_acc), "recurring")),
        "plan": pick(PLANS, c["tier"][idx][all_acc] * 2 + annual[all_acc]),
        "seats": np.concatenate([row_seats, r_seats.astype(np.int64)]),
        "billing_period_months": np.where(annual[all_acc], 12, 1),
        "cancel_requested_date": masked(
            np.concatenate([cancel, r_start]), ~np.concatenate([churn_row, np.zeros(len(r), bool)])
        ),
    }

    # local MRR per account and month, for costs and tickets
    mrr = np.zeros((n, D.N_MONTHS))
    m0 = np.concatenate([s[acc] + k, life["react_month"][idx][r]])
    m1 = np.concatenate(
        [np.where(open_end, LAST_MONTH, s[acc] + next_k - 1), np.full(len(r), LAST_MONTH)]
    )
    lens = np.maximum(m1 - m0 + 1, 0)
    rows = np.repeat(np.arange(len(m0)), lens)
    months = m0[rows] + (np.arange(len(rows)) - np.repeat(np.cumsum(lens) - lens, lens))
    mrr[all_acc[rows], months] = np.concatenate([net, r_mrr])[rows]

    # expansion deals: seat increases after the first period
    prev_net = np.roll(net, 1)
    prev_list = np.roll(list_mrr, 1)
    prev_seats = np.roll(row_seats, 1)
    x = np.flatnonzero(~first & (row_seats > prev_seats))
    close = start[x] - rng.integers(3, 20, len(x)).astype("timedelta64[D]")
    a = idx[acc[x]]
    deals = {
        "deal_id": pc.binary_join_element_wise(
            "E", ids.take(pa.array(acc[x])), pc.cast(pa.array(k[x]), pa.string()), "-"
        ),
        "account_id": ids.take(pa.array(acc[x])),
        "created_date": close - rng.integers(14, 60, len(x)).astype("timedelta64[D]"),
        "close_date": close,
        "outcome": pa.array(np.full(len(x), "won")),
        "amount": np.round((net[x] - prev_net[x]) * 12, 2),
        "list_price": np.round((list_mrr[x] - prev_list[x]) * 12, 2),
        "discount": disc[acc[x]],
        "currency": pick(V.CURRENCIES, c["currency"][a]),
        "deal_type": pa.array(np.full(len(x), "expansion")),
        "seats": row_seats[x] - prev_seats[x],
        "_account": a,
    }
    return sub, deals, mrr

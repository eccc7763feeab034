"""What customers do while they pay: weekly usage, support tickets and cost-to-serve hours.

Usage is weekly by feature, only for features of the account's committed use cases. Adoption of
a healthy account ramps over its first 13 weeks (about 90 days) and keeps growing slowly; a
stalled account stays low and flat and never touches its secondary use cases. Ticket volume and
resolution times depend on account size only, never on whether the account will churn: the
"support causes churn" hypothesis is planted false.
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
N_SLOTS = 6  # up to three use cases x two features
FEATURE_NAMES = tuple(f for pair in V.FEATURES for f in pair)
FEATURE_USE_CASE = tuple(uc for uc, pair in zip(V.USE_CASES, V.FEATURES, strict=True) for _ in pair)
# churn reasons that show in the ticket mix of the months before churn
_REASON_CATEGORY = {
    "missing_integration": "integration",
    "product_gaps": "feature-request",
    "low_adoption": "how-to",
}


def feature_slots(c: dict[str, Arr], idx: Arr) -> Arr:
    """(accounts x 6) feature numbers of the committed use cases, primary first; -1 = none."""
    n = len(idx)
    slots = np.full((n, N_SLOTS), -1, dtype=np.int64)
    uc = c["use_case"][idx]
    slots[:, 0], slots[:, 1] = 2 * uc, 2 * uc + 1
    mask = c["uc_mask"][idx]
    col = np.full(n, 2)
    for u in range(len(V.USE_CASES)):
        has = (mask >> u) & 1 == 1
        rows = np.flatnonzero(has)
        slots[rows, col[rows]] = 2 * u
        slots[rows, col[rows] + 1] = 2 * u + 1
        col[rows] += 2
    return slots


def active_end(c: dict[str, Arr], life: dict[str, Arr], idx: Arr) -> Arr:
    """Last day of the first paid life (or the as-of date while still paying)."""
    end_month = c["month"][idx] + life["life"][idx]
    end = D.anchored(end_month, c["anchor_day"][idx]) - np.timedelta64(1, "D")
    return np.minimum(end, D.AS_OF)


def usage(
    idx: Arr, ids: pa.Array, c: dict[str, Arr], life: dict[str, Arr], rng: np.random.Generator
) -> dict[str, Any]:
    """Weekly usage rows (account, week, feature) of a chunk of customers."""
    w0 = D.week_of(c["close"][idx])
    w1 = D.week_of(active_end(c, life, idx))
    nweeks = np.maximum(w1 - w0 + 1, 0)
    acc = np.repeat(np.arange(len(idx)), nweeks)
    t = np.arange(len(acc)) - np.repeat(np.cumsum(nweeks) - nweeks, nweeks)
    stalled = life["stalled"][idx][acc]
    ramp = np.minimum((t + 1) / 13.0, 1.0)
    level = rng.uniform(0.45, 0.8, len(idx))[acc]
    growth = 1.0 + 0.25 * np.maximum(t - 13, 0) / 52.0
    adopt = np.where(
        stalled,
        rng.uniform(0.12, 0.25, len(idx))[acc],
        np.minimum(level * (0.25 + 0.75 * ramp) * growth, 1.0),
    ).astype(np.float32)
    slots = feature_slots(c, idx)
    # a stalled rollout fades after onboarding and never reaches the secondary use cases the AE
    # committed to: that is what the day-90 fit signals are meant to catch
    p_primary = np.where(
        stalled, np.maximum(0.6 * np.exp(-t / 6.0), 0.08), 0.55 + 0.4 * ramp
    ).astype(np.float32)
    p_other = np.where(stalled, 0.0, 0.10 + 0.75 * ramp).astype(np.float32)
    u = rng.random((len(acc), N_SLOTS), dtype=np.float32)
    on = np.empty_like(u, dtype=bool)
    on[:, :2] = u[:, :2] < p_primary[:, None]
    on[:, 2:] = u[:, 2:] < p_other[:, None]
    on &= slots[acc] >= 0
    r, j = np.nonzero(on)
    share = np.where(j < 2, 1.0, 0.5)
    seats = c["seats"][idx][acc[r]]
    noise = np.exp(rng.normal(0.0, 0.25, len(r)))
    users = np.maximum(1, np.round(seats * adopt[r] * share * noise)).astype(np.int64)
    events = np.round(users * 10.0 * np.exp(rng.normal(0.0, 0.3, len(r)))).astype(np.int64) + 1
    feature = slots[acc[r], j]
    return {
        "account_id": ids.take(pa.array(acc[r])),
        "date": D.week_start(w0[acc[r]] + t[r]),
        "feature": pick(FEATURE_NAMES, feature),
        "use_case": pick(FEATURE_USE_CASE, feature),
        "active_users": users,
        "events": events,
    }


def tickets(
    idx: Arr,
    ids: pa.Array,
    c: dict[str, Arr],
    life: dict[str, Arr],
    mrr: Arr,
    rng: np.random.Generator,
    null: bool,
) -> tuple[dict[str, Any], Arr]:
    """Tickets of a chunk, and the (accounts x months) ticket counts for support hours."""
    lam = np.clip(0.18 * (c["seats"][idx] / 75.0) ** 0.35, 0.05, 1.5)
    counts = rng.poisson(lam[:, None] * (mrr > 0))
    a, m = np.nonzero(counts)
    k = counts[a, m]
    acc, month = np.repeat(a, k), np.repeat(m, k)
    n = len(acc)
    created = D.month_start(month) + rng.integers(0, 28, n).astype("timedelta64[D]")
    created = np.minimum(created, D.AS_OF)
    category = rng.choice(len(V.TICKET_CATEGORIES), n, p=V.TICKET_CATEGORY_WEIGHTS)
    if not null:
        # churned accounts' last tickets echo their real reason; volume stays the same
        end = active_end(c, life, idx)[acc]
        near = life["churned"][idx][acc] & ((end - created).astype(np.int64) <= 180)
        reason = np.asarray(V.CHURN_REASONS)[life["reason"][idx][acc]]
        for why, cat in _REASON_CATEGORY.items():
            hit = near & (reason == why) & (rng.random(n) < 0.5)
            category[hit] = V.TICKET_CATEGORIES.index(cat)
    priority = rng.choice(len(V.PRIORITIES), n, p=V.PRIORITY_WEIGHTS)
    mean_days = np.array([6.0, 3.0, 1.5, 0.5])[priority]
    resolved = created + np.round(rng.gamma(1.5, mean_days / 1.5)).astype(np.int64).astype(
        "timedelta64[D]"
    )
    csat = rng.choice(5, n, p=[0.04, 0.06, 0.15, 0.35, 0.40]) + 1.0
    text_idx = category * 2 + rng.integers(0, 2, n)
    texts = tuple(t for cat in V.TICKET_CATEGORIES for t in V.TICKET_TEXT[cat])
    per = np.bincount(acc, minlength=len(idx))
    seq = np.arange(n) - np.repeat(np.cumsum(per) - per, per)
    acc_ids = ids.take(pa.array(acc))
    ticket_ids = pc.binary_join_element_wise("T", acc_ids, pc.cast(pa.array(seq), pa.string()), "-")
    table = {
        "ticket_id": ticket_ids,
        "account_id": acc_ids,
        "created_date": created,
        "resolved_date": masked(resolved, resolved > D.AS_OF),
        "category": pick(V.TICKET_CATEGORIES, category),
        "priority": pick(V.PRIORITIES, priority),
        "csat": masked(csat, rng.random(n) > 0.45),
        "text": pick(texts, text_idx),
    }
    return table, counts


def costs(
    idx: Arr,
    ids: pa.Array,
    c: dict[str, Arr],
    p: dict[str, Arr],
    mrr: Arr,
    ticket_counts: Arr,
    fx: Arr,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Monthly hours by team: CS every paid month, support with tickets, services at onboarding.

    The total cost of a month is the account's cost ratio times its gross margin, so an account
    with a ratio above 1 costs more to serve than it earns.
    """
    usd = mrr * fx[c["currency"][idx]]
    margin = E.GROSS_MARGIN * usd
    target = margin * p["cost_ratio"][idx][:, None] * np.exp(rng.normal(0, 0.15, mrr.shape))
    support_h = ticket_counts * rng.uniform(0.5, 2.5, mrr.shape)
    since = np.arange(D.N_MONTHS)[None, :] - c["month"][idx][:, None]
    onboarding = (since >= 0) & (since < 3) & (mrr > 0)
    services_h = np.where(onboarding, 0.25 * target / E.RATES_USD["services"], 0.0)
    rest = target - support_h * E.RATES_USD["support"] - services_h * E.RATES_USD["services"]
    cs_h = np.where(mrr > 0, np.maximum(rest, 0.05 * margin) / E.RATES_USD["cs"], 0.0)
    parts = []
    for team, hours in (("cs", cs_h), ("support", support_h), ("services", services_h)):
        a, m = np.nonzero(hours > 0)
        parts.append((a, m, np.full(len(a), team), np.round(hours[a, m], 1)))
    a = np.concatenate([x[0] for x in parts])
    m = np.concatenate([x[1] for x in parts])
    order = np.lexsort((m, a))
    return {
        "account_id": ids.take(pa.array(a[order])),
        "month": D.month_start(m[order]),
        "team": pa.array(np.concatenate([x[2] for x in parts])[order]),
        "hours": np.maximum(np.concatenate([x[3] for x in parts])[order], 0.1),
    }

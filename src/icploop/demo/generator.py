"""Generate the demo company: canonical CSV (or Parquet usage) files plus ``truth.json``.

Account-level attributes and lifetimes are drawn for all customers at once (a few arrays of the
number of accounts); everything with many rows per account (subscriptions, usage, tickets, costs,
contacts, notes) is generated and written per chunk of customers, so memory stays bounded. Every
random draw comes from generators seeded by ``seed`` in a fixed order: the same seed and size give
the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from icploop.demo import activity, people, revenue
from icploop.demo import company as C
from icploop.demo import dates as D
from icploop.demo import effects as E
from icploop.demo import vocab as V
from icploop.demo.truth import effects as truth_effects
from icploop.demo.truth import never_activated_effect
from icploop.demo.writer import TableWriter, masked, pick

Arr = NDArray[Any]
VERSION = "1.0"
CHUNK = 10_000
ONBOARDING_PLANS = ("guided", "self_serve")
TABLE_NAMES = (
    "accounts",
    "deals",
    "subscriptions",
    "usage",
    "contacts",
    "tickets",
    "notes",
    "costs",
    "org",
    "fx_rates",
)
LOST_TEXT = {
    "price": "Lost on price: the buyer chose a cheaper option.",
    "competitor": "Lost to a competitor with an existing relationship.",
    "no_decision": "No decision: the project was shelved.",
    "timing": "Timing: they will revisit next fiscal year.",
    "missing_integration": "Lost: they need an integration with their CRM that we do not have.",
    "product_gaps": "Lost: missing features they consider essential.",
}


def _use_case_lists() -> list[str]:
    # every (primary, secondary bitmask) combination as the ';'-joined committed list
    out = []
    for primary in range(len(V.USE_CASES)):
        for mask in range(64):
            rest = [V.USE_CASES[u] for u in range(len(V.USE_CASES)) if mask >> u & 1]
            out.append(";".join([V.USE_CASES[primary], *rest]))
    return out


def _prospects(
    c: dict[str, Arr], p: dict[str, Arr], rng: np.random.Generator
) -> tuple[Arr, dict[str, Arr]]:
    """Lost (and a few open) prospects, each a lookalike of a customer; returns parents too."""
    k = rng.poisson((1.0 - p["win"]) / p["win"])
    parent = np.repeat(np.arange(len(k)), k)
    n = len(parent)
    close = c["close"][parent] + rng.integers(-45, 46, n).astype("timedelta64[D]")
    close = np.clip(close, D.START + np.timedelta64(14, "D"), D.AS_OF)
    is_open = (close > D.AS_OF - np.timedelta64(30, "D")) & (rng.random(n) < 0.5)
    close = np.where(is_open, D.AS_OF + rng.integers(10, 90, n).astype("timedelta64[D]"), close)
    cycle = c["close"][parent] - c["created"][parent]
    lead = c["lead"][parent]
    return parent, {
        "close": close,
        "created": np.minimum(close - cycle, D.AS_OF),
        "open": is_open,
        "employees": np.maximum(
            5, np.round(c["employees"][parent] * np.exp(rng.normal(0, 0.3, n)))
        ).astype(np.int64),
        "intent": np.clip(np.asarray(V.INTENT_MEANS)[lead] + rng.normal(0, 10, n), 0, 100).round(1),
        "lost_reason": rng.choice(len(V.LOST_REASONS), n, p=V.LOST_REASON_WEIGHTS),
        "name_idx": rng.integers(0, 1 << 30, n),
    }


def generate_company(
    out_dir: Path,
    accounts: int = 5000,
    seed: int = 7,
    null: bool = False,
    usage_format: Literal["csv", "parquet"] = "csv",
    progress: Callable[[str], None] | None = None,
    *,
    never_activated: bool = False,
    recent_attribute: bool = False,
) -> dict[str, Any]:
    """Write the demo company's canonical tables and ``truth.json`` into ``out_dir``.

    ``accounts`` is the number of customers (accounts with a won deal); prospects with lost deals
    come on top. With ``null`` the company has the same shape and no planted effect. Returns the
    truth dict (also written to ``truth.json``), including the rows written per file.

    Variants (each drawn from its own random stream, so every other file and figure of the
    company stays the same): ``never_activated`` plants a ninth effect, customers who win and
    never start (no subscription, usage, tickets, costs or notes; 40% of customers on Dynamics,
    4% elsewhere, the same chance for all in the null company); ``recent_attribute`` adds an
    extra account column ``onboarding_plan`` recorded only for customers closed in the last 180
    days (no effect: a test that exposure rules keep it from looking like a finding).
    """
    say = progress or (lambda _msg: None)
    out_dir.mkdir(parents=True, exist_ok=True)
    seq = np.random.SeedSequence(seed)
    s_company, s_plant, s_life, s_prospects, s_chunks = seq.spawn(5)
    rng = np.random.default_rng(s_company)
    org = C.make_org()
    say(f"drawing {accounts:,} customers")
    c = C.make_customers(rng, accounts)
    fx_table, fx = C.fx_rates(rng)
    f = E.flags(c)
    p = E.plant(c, np.random.default_rng(s_plant), null)
    life = revenue.lifetimes(c, p, f, np.random.default_rng(s_life), null)
    parent, pr = _prospects(c, p, np.random.default_rng(s_prospects))
    # a further child of the same seed: spawning it draws nothing from the streams above
    variant = np.random.default_rng(seq.spawn(1)[0])
    never = E.never_activated(c, variant, null) if never_activated else np.zeros(accounts, bool)
    recent = (
        c["close"] >= D.AS_OF - np.timedelta64(E.RECENT_ATTRIBUTE_DAYS, "D")
        if recent_attribute
        else None
    )
    onboarding = variant.integers(0, len(ONBOARDING_PLANS), accounts) if recent_attribute else None
    ids = C.account_ids(np.arange(1, accounts + 1))
    pids = C.account_ids(np.arange(accounts + 1, accounts + 1 + len(parent)))
    uc_lists = _use_case_lists()
    committed = pick(uc_lists, c["use_case"] * 64 + c["uc_mask"])

    extra = ("onboarding_plan",) if recent_attribute else ()
    writers = {t: TableWriter(out_dir, t, extra=extra) for t in TABLE_NAMES if t != "usage"}
    writers["usage"] = TableWriter(out_dir, "usage", usage_format)
    try:
        writers["org"].write(dict(org.table))
        writers["fx_rates"].write(fx_table)
        say(f"writing accounts and {len(parent):,} prospects")
        _write_accounts(writers["accounts"], c, parent, pr, ids, pids, org, recent, onboarding)
        _write_new_deals(
            writers["deals"], writers["notes"], c, p, parent, pr, ids, pids, org, committed
        )
        for start in range(0, accounts, CHUNK):
            idx = np.arange(start, min(start + CHUNK, accounts))
            chunk_rng = np.random.default_rng(s_chunks.spawn(1)[0])
            _write_chunk(
                writers,
                idx,
                ids.slice(start, len(idx)),
                c,
                p,
                life,
                fx,
                org,
                committed,
                chunk_rng,
                null,
                ids.filter(pa.array(never[idx])) if never[idx].any() else None,
            )
            say(f"customers {idx[-1] + 1:,}/{accounts:,}")
    finally:
        for w in writers.values():
            w.close()
    truth: dict[str, Any] = {
        "generator": "icploop.demo",
        "generator_version": VERSION,
        "seed": seed,
        "accounts": accounts,
        "prospects": len(parent),
        "null": null,
        "as_of": str(D.AS_OF),
        "history_start": str(D.START),
        "reporting_currency": "USD",
        "files": {w.path.name: w.rows for w in writers.values()},
        "effects": truth_effects(c, f, life, org, null),
    }
    if never_activated:
        truth["effects"].append(never_activated_effect(c, never, null))
    if recent_attribute:
        truth["recent_attribute"] = {
            "column": "onboarding_plan",
            "recorded_for": f"customers closed on or after {D.AS_OF - np.timedelta64(E.RECENT_ATTRIBUTE_DAYS, 'D')}",
            "effect": "none",
        }
    (out_dir / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    return truth


def _write_accounts(
    w: TableWriter,
    c: dict[str, Arr],
    parent: Arr,
    pr: dict[str, Arr],
    ids: pa.Array,
    pids: pa.Array,
    org: C.Org,
    recent: Arr | None = None,
    onboarding: Arr | None = None,
) -> None:
    n, m = len(c["seats"]), len(parent)
    both = np.concatenate([np.arange(n), parent])
    employees = np.concatenate([c["employees"], pr["employees"]])
    segment = np.select([employees < 200, employees < 1000], [0, 1], 2)
    customer = np.concatenate([np.ones(n, bool), np.zeros(m, bool)])
    csm = np.concatenate([c["csm"], np.zeros(m, np.int64)])
    created = np.concatenate([c["account_created"], pr["created"] - np.timedelta64(30, "D")])
    variant: dict[str, Any] = {}
    if recent is not None and onboarding is not None:
        recorded = np.concatenate([recent, np.zeros(m, bool)])
        plans = pick(ONBOARDING_PLANS, np.concatenate([onboarding, np.zeros(m, np.int64)]))
        variant["onboarding_plan"] = masked(plans.to_numpy(zero_copy_only=False), ~recorded)
    w.write(
        {
            **variant,
            "account_id": pa.concat_arrays([ids, pids]),
            "name": C.company_names(np.concatenate([c["name_idx"], pr["name_idx"]])),
            "industry": pick(V.INDUSTRIES, c["industry"][both]),
            "employees": employees,
            "region": pick(V.REGIONS, c["region"][both]),
            "segment": pick(("SMB", "Mid-Market", "Enterprise"), segment),
            "lead_source": pick(V.LEAD_SOURCES, c["lead"][both]),
            "intent_score": np.concatenate([c["intent"], pr["intent"]]),
            "owner_ae": pick(org.ae_ids, c["ae"][both]),
            "csm": masked(pick(org.csm_ids, csm).to_numpy(zero_copy_only=False), ~customer),
            "cs_manager": masked(
                pick(org.csm_manager_ids, csm).to_numpy(zero_copy_only=False), ~customer
            ),
            "seats_at_close": masked(
                np.concatenate([c["seats"], np.zeros(m, np.int64)]), ~customer
            ),
            "use_case": pick(V.USE_CASES, c["use_case"][both]),
            "currency": pick(V.CURRENCIES, c["currency"][both]),
            "created_date": created,
            "plan_tier": masked(
                pick(V.PLAN_TIERS, c["tier"][both]).to_numpy(zero_copy_only=False), ~customer
            ),
            "crm_system": pick(V.CRM_SYSTEMS, c["crm"][both]),
        }
    )


def _write_new_deals(
    deals: TableWriter,
    notes: TableWriter,
    c: dict[str, Arr],
    p: dict[str, Arr],
    parent: Arr,
    pr: dict[str, Arr],
    ids: pa.Array,
    pids: pa.Array,
    org: C.Org,
    committed: pa.Array,
) -> None:
    n, m = len(c["seats"]), len(parent)
    list_acv = np.round(c["seats"] * revenue.price_local(c, np.arange(n)) * 12, 2)
    plist = np.round(c["seats"][parent] * revenue.price_local(c, parent) * 12, 2)
    both = np.concatenate([np.arange(n), parent])
    disc = np.concatenate([p["discount"], np.zeros(m)])
    lists = np.concatenate([list_acv, plist])
    outcome = np.concatenate([np.zeros(n, int), np.where(pr["open"], 2, 1)])
    campaign = c["campaign"][both]
    deals.write(
        {
            "deal_id": pc.binary_join_element_wise(
                pa.array(np.where(outcome == 0, "D", "L")), pa.concat_arrays([ids, pids]), "-"
            ),
            "account_id": pa.concat_arrays([ids, pids]),
            "created_date": np.concatenate([c["created"], pr["created"]]),
            "close_date": np.concatenate([c["close"], pr["close"]]),
            "outcome": pick(("won", "lost", "open"), outcome),
            "amount": np.round(lists * (1 - disc), 2),
            "list_price": lists,
            "discount": disc,
            "currency": pick(V.CURRENCIES, c["currency"][both]),
            "ae": pick(org.ae_ids, c["ae"][both]),
            "deal_type": pa.array(np.full(n + m, "new")),
            "committed_use_cases": committed.take(pa.array(both)),
            "lost_reason": masked(
                np.asarray(V.LOST_REASONS)[np.concatenate([np.zeros(n, int), pr["lost_reason"]])],
                outcome != 1,
            ),
            "lead_source": pick(V.LEAD_SOURCES, c["lead"][both]),
            "campaign": masked(
                np.asarray((*V.CAMPAIGNS, V.HOSPITALITY_CAMPAIGN, ""))[campaign], campaign < 0
            ),
            "seats": c["seats"][both],
        }
    )
    lost = np.flatnonzero(~pr["open"])
    reasons = np.asarray(V.LOST_REASONS)[pr["lost_reason"][lost]]
    lost_ids = pids.take(pa.array(lost))
    notes.write(
        {
            "note_id": pc.binary_join_element_wise("N", lost_ids, "-l0", ""),
            "account_id": lost_ids,
            "date": pr["close"][lost],
            "author": pick(org.ae_ids, c["ae"][parent[lost]]),
            "kind": pa.array(np.full(len(lost), "lost_reason")),
            "reason_code": reasons,
            "text": pick(tuple(LOST_TEXT[r] for r in V.LOST_REASONS), pr["lost_reason"][lost]),
        }
    )


def _write_chunk(
    writers: dict[str, TableWriter],
    idx: Arr,
    ids: pa.Array,
    c: dict[str, Arr],
    p: dict[str, Arr],
    life: dict[str, Arr],
    fx: Arr,
    org: C.Org,
    committed: pa.Array,
    rng: np.random.Generator,
    null: bool,
    never: pa.Array | None = None,
) -> None:
    """One chunk of customers' rows; ``never`` lists the chunk's customers that never start,
    whose subscriptions, later deals, usage, tickets, costs and notes are drawn (so the random
    streams stay as they are) but not written."""
    sub, deals, mrr = revenue.subscriptions(idx, ids, c, p, life, rng)
    writers["subscriptions"].write(_without(sub, never))
    a = deals.pop("_account")
    deals["ae"] = pick(org.ae_ids, c["ae"][a])
    deals["committed_use_cases"] = committed.take(pa.array(a))
    deals["lead_source"] = pick(V.LEAD_SOURCES, c["lead"][a])
    writers["deals"].write(_without(deals, never))
    writers["usage"].write(_without(activity.usage(idx, ids, c, life, rng), never))
    tickets, counts = activity.tickets(idx, ids, c, life, mrr, rng, null)
    writers["tickets"].write(_without(tickets, never))
    fx_acc = fx  # (currency x month) into USD
    costs = activity.costs(idx, ids, c, p, mrr, counts, fx_acc, rng)
    writers["costs"].write(_without(costs, never))
    writers["contacts"].write(people.contacts(idx, ids, c, life, rng))
    notes = people.notes(idx, ids, c, life, org.csm_ids, org.ae_ids, rng, null)
    writers["notes"].write(_without(notes, never))


def _without(columns: dict[str, Any], never: pa.Array | None) -> dict[str, Any]:
    """``columns`` (one table's piece) without the rows of the accounts in ``never``."""
    if never is None:
        return columns
    keep = pc.invert(pc.is_in(pa.array(columns["account_id"]), value_set=never))
    mask = np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)
    return {
        k: v.filter(keep) if isinstance(v, pa.Array | pa.ChunkedArray) else np.asarray(v)[mask]
        for k, v in columns.items()
    }

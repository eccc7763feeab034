"""Segment early warning: is a targeted segment heading for high churn before its renewals?

For each segment (attribute = value) two pieces of evidence, censoring respected:

1. Churn of recent close cohorts (quarters). A cohort's first-year churn counts only when every
   account in it has a full year of exposure (``first_year_churn`` known); the last
   ``recent_cohorts`` such cohorts are pooled into one rate with a Wilson interval. Younger
   cohorts where every account has 6 months give the early proxy, churn within 6 months
   (``churn_6m``), pooled the same way and compared with the 6-month base rate.
2. The share of current accounts (no churned MRR) whose adoption stalled at day 90.

A segment is flagged ``heading_for_high_churn`` when a churn interval (recent full-year cohorts,
or the 6-month proxy of younger ones) lies wholly above its base rate and the stalled share's
interval lies wholly above the share over all current accounts. See ``docs/statistics.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from icploop.formatting import pct
from icploop.ingest.attributes import frame_catalog
from icploop.segments.compare import (
    as_frame,
    check_columns,
    segment_label,
    single_value_segments,
)
from icploop.segments.stats import wilson_interval

NEEDED = ("close_quarter", "first_year_churn", "churn_6m", "churned_mrr", "stalled")


def _rate(k: float, n: float, level: float) -> tuple[float, float, float]:
    if n <= 0:
        return np.nan, np.nan, np.nan
    lo, hi = wilson_interval(k, n, level)
    return k / n, float(lo), float(hi)


def segment_early_warning(
    accounts: pd.DataFrame | ir.Table,
    segments: Sequence[tuple[str, object]] | None = None,
    *,
    attributes: Sequence[str] | None = None,
    min_accounts: int = 30,
    recent_cohorts: int = 4,
    level: float = 0.95,
) -> pd.DataFrame:
    """Evidence per segment, one row each, flagged segments first.

    ``accounts``: the account outcomes contract (``close_quarter``, ``first_year_churn`` null
    under 12 months of exposure, ``churn_6m`` null under 6, ``churned_mrr`` > 0 for churned
    accounts, ``stalled`` bool or null). ``segments``: (attribute, value) pairs to watch; by
    default every value of ``attributes`` (default: the catalogue's dimensions that describe
    the customer) with at least ``min_accounts`` accounts.

    Columns: segment, attribute, value, accounts, cohorts (per full-year cohort: quarter, rate,
    interval, n), recent_quarters, recent_n, recent_churn, recent_lo, recent_hi, base_churn,
    early_quarters, early_n, early_churn_6m, early_lo, early_hi, base_churn_6m,
    current_accounts, stalled_share, stalled_lo, stalled_hi, base_stalled,
    heading_for_high_churn, evidence (a sentence). Rates are fractions; NaN where a segment has
    no cohort of that kind or no current account with a known adoption state.
    """
    frame = as_frame(accounts)
    check_columns(frame, list(NEEDED), "accounts")
    if attributes is None:
        attributes = frame_catalog(frame).customer_dimensions()
    quarter = frame["close_quarter"].astype("string")
    fy = pd.to_numeric(frame["first_year_churn"], errors="coerce")
    c6 = pd.to_numeric(frame["churn_6m"], errors="coerce")
    current = pd.to_numeric(frame["churned_mrr"], errors="coerce").fillna(0) <= 0
    stalled = frame["stalled"].astype("boolean")
    known_stall = current & stalled.notna()

    base_churn = float(fy.mean()) if fy.notna().any() else np.nan
    base_6m = float(c6.mean()) if c6.notna().any() else np.nan
    base_stalled = float(stalled[known_stall].astype(float).mean()) if known_stall.any() else np.nan

    if segments is None:
        attrs = [a for a in attributes if a in frame.columns]
        chosen = [(a, v, m) for a, v, m in single_value_segments(frame, attrs, min_accounts)]
    else:
        check_columns(frame, [a for a, _ in segments], "accounts")
        chosen = [
            (a, str(v), (frame[a].astype("string") == str(v)).fillna(False).astype(bool))
            for a, v in segments
        ]

    rows = []
    for a, v, mask in chosen:
        m = mask.to_numpy(bool)
        q = quarter[m]
        full, young = [], []
        # a cohort is measured only when all its accounts have the exposure: a partly
        # measured cohort would over-represent its early closers
        for qq, idx in q.groupby(q, dropna=True).groups.items():
            if fy.loc[idx].notna().all():
                full.append((str(qq), idx))
            elif c6.loc[idx].notna().all():
                young.append((str(qq), idx))
        full.sort()
        young.sort()
        cohort_text = []
        for qq, idx in full:
            r, lo, hi = _rate(fy.loc[idx].sum(), len(idx), level)
            cohort_text.append(f"{qq}: {pct(r)} ({pct(lo)}-{pct(hi)}, n={len(idx)})")
        recent = full[-recent_cohorts:]
        r_idx = [i for _, idx in recent for i in idx]
        rec = _rate(fy.loc[r_idx].sum(), len(r_idx), level)
        e_idx = [i for _, idx in young for i in idx]
        early = _rate(c6.loc[e_idx].sum(), len(e_idx), level)
        cur = known_stall.to_numpy(bool) & m
        st = _rate(float(stalled[cur].astype(float).sum()), int(cur.sum()), level)
        churn_high = bool(rec[1] > base_churn) or bool(early[1] > base_6m)
        stall_high = bool(st[1] > base_stalled)
        flag = churn_high and stall_high
        label = segment_label(a, v)
        rows.append(
            {
                "segment": label,
                "attribute": a,
                "value": v,
                "accounts": int(m.sum()),
                "cohorts": "; ".join(cohort_text),
                "recent_quarters": ", ".join(qq for qq, _ in recent),
                "recent_n": len(r_idx),
                "recent_churn": rec[0],
                "recent_lo": rec[1],
                "recent_hi": rec[2],
                "base_churn": base_churn,
                "early_quarters": ", ".join(qq for qq, _ in young),
                "early_n": len(e_idx),
                "early_churn_6m": early[0],
                "early_lo": early[1],
                "early_hi": early[2],
                "base_churn_6m": base_6m,
                "current_accounts": int(cur.sum()),
                "stalled_share": st[0],
                "stalled_lo": st[1],
                "stalled_hi": st[2],
                "base_stalled": base_stalled,
                "heading_for_high_churn": flag,
                "evidence": _evidence(label, rec, base_churn, early, base_6m, st, base_stalled),
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    return out.sort_values(
        ["heading_for_high_churn", "recent_churn"], ascending=[False, False], na_position="last"
    ).reset_index(drop=True)


def _evidence(
    label: str,
    rec: tuple[float, float, float],
    base: float,
    early: tuple[float, float, float],
    base_6m: float,
    st: tuple[float, float, float],
    base_st: float,
) -> str:
    parts = [f"{label}: recent cohorts churn {pct(rec[0])} in year one"]
    parts[0] += f" ({pct(rec[1])}-{pct(rec[2])}; base {pct(base)})"
    if np.isfinite(early[0]):
        parts.append(
            f"younger cohorts {pct(early[0])} within 6 months "
            f"({pct(early[1])}-{pct(early[2])}; base {pct(base_6m)})"
        )
    parts.append(
        f"{pct(st[0])} of current accounts stalled ({pct(st[1])}-{pct(st[2])}; base {pct(base_st)})"
    )
    return ", ".join(parts)

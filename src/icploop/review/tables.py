"""Rates by group with their evidence: counts, Wilson intervals, segment-versus-rest tests.

The review's tables all have the same shape, so that every rate the pack prints carries its
group size, its interval and a multiple-testing-adjusted q-value (Benjamini-Hochberg over every
row of the table: a review that looks at 80 groups should expect 4 of them at p < 0.05 by chance).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from icploop.formatting import finite
from icploop.segments import stats

#: Groups smaller than this are shown but marked: their intervals are too wide to act on.
SMALL_GROUP = 20


def rate(k: float, n: float) -> dict[str, Any]:
    """``k`` events of ``n`` as a rate with its 95% Wilson interval (all None when n = 0)."""
    if n <= 0:
        return {"n": 0, "events": 0, "rate": None, "lo": None, "hi": None}
    lo, hi = stats.wilson_interval(k, n)
    return {"n": int(n), "events": int(k), "rate": k / n, "lo": float(lo), "hi": float(hi)}


def rates_by(
    frame: pd.DataFrame,
    outcome: str,
    dimensions: Sequence[str],
    extra: dict[str, str] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Per dimension, one row per value: ``value``, ``n``, ``events``, ``rate``, ``lo``/``hi``
    (95% Wilson), ``ratio`` (rate / rate of the rest), ``p`` (Fisher or chi-squared, the group
    against the rest), ``q`` (BH over all rows of all dimensions), ``small`` (n < SMALL_GROUP).

    ``outcome`` is a 0/1 column (rows where it is missing are left out). ``extra`` maps output
    names to columns whose group mean is added (e.g. the mean discount). Missing attribute
    values form no group. Rows are sorted by rate, highest first.
    """
    data = frame[frame[outcome].notna()]
    total_n, total_k = len(data), float(data[outcome].sum())
    out: dict[str, list[dict[str, Any]]] = {}
    for dim in dimensions:
        if dim not in data.columns:
            continue
        grouped = data.groupby(dim, dropna=True)
        agg = grouped[outcome].agg(["size", "sum"])
        rows = []
        for value, (n, k) in agg.iterrows():
            row = {"value": str(value), **rate(float(k), float(n))}
            rest_n, rest_k = total_n - n, total_k - k
            rest = rest_k / rest_n if rest_n else float("nan")
            row["ratio"] = finite(row["rate"] / rest) if rest else None
            row["p"] = finite(stats.two_proportion_pvalue(k, n, rest_k, rest_n)) if rest_n else None
            row["small"] = bool(n < SMALL_GROUP)
            for name, column in (extra or {}).items():
                row[name] = finite(grouped.get_group(value)[column].mean())
            rows.append(row)
        out[dim] = sorted(rows, key=lambda r: -(r["rate"] or 0))
    add_q(row for rows in out.values() for row in rows)
    return out


def add_q(rows: Any, p_key: str = "p", q_key: str = "q") -> None:
    """Add Benjamini-Hochberg q-values to ``rows`` (dicts) in place, over their ``p_key``."""
    rows = list(rows)
    p = np.array([r[p_key] if r[p_key] is not None else np.nan for r in rows], dtype=float)
    if len(p) == 0:
        return
    q = stats.benjamini_hochberg(p)
    for row, value in zip(rows, q, strict=True):
        row[q_key] = finite(value)

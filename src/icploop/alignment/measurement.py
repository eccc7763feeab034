"""Did a change work? The one engine that compares the cohorts a change touched with a control.

Every "did this change work" question is measured here, whatever its vocabulary:

- a go-to-market experiment on a segment (:mod:`icploop.alignment.experiments`): the segment's
  cohorts from the start against another segment or another period;
- a published ICP version (:mod:`icploop.icp.outcomes`): an experiment on every account whose
  control is the earlier period (the cohorts closed before it came into force).

The caller says which deals or accounts fall on each side of each metric; the engine compares
them and judges the difference. A rate (a share of 0/1 values) gets a Wilson interval on each
side and Newcombe's hybrid score interval for the difference; a mean gets a t interval on each
side and Welch's for the difference; all at ``level`` (95%), as ``changed - control``.

The verdict, in one vocabulary (each surface words it its own way):

- ``not yet measurable`` while the metric's lag has not passed since the change, or while the
  changed side holds fewer than ``min_accounts`` observations (it grows with time);
- ``no clear difference`` when the control holds fewer than ``min_accounts`` (it never grows) or
  the interval cannot be computed or holds 0;
- ``better`` or ``worse`` by the metric's direction when the interval excludes 0.

Pure: frames and series in, rows out; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from icploop.segments import stats

LEVEL = 0.95
MIN_ACCOUNTS = 30
NOT_YET = "not yet measurable"
BETTER, WORSE, UNCLEAR = "better", "worse", "no clear difference"

#: why a metric has no firm verdict: too early, too few on the changed side, too few in control
Shortfall = Literal["too early", "few changed", "few control"]


@dataclass(frozen=True)
class Metric:
    """One outcome of a change: ``kind`` rate (0/1 values) or mean, and which way is better."""

    name: str
    label: str
    kind: Literal["rate", "mean"]
    better: Literal["higher", "lower"]


def t_quantile(level: float, df: int) -> float:
    """The two-sided Student t quantile of ``level`` with ``df`` degrees of freedom."""
    return float(sps.t.ppf(0.5 + level / 2, df))


def _rate_side(values: pd.Series, level: float) -> dict[str, float]:
    k, n = float(values.sum()), float(values.size)
    lo, hi = stats.wilson_interval(k, n, level)
    return {"value": k / n if n else math.nan, "low": float(lo), "high": float(hi), "events": k}


def _mean_side(values: pd.Series, level: float) -> dict[str, float]:
    n = values.size
    mean = float(values.mean()) if n else math.nan
    if n < 2:
        return {"value": mean, "low": math.nan, "high": math.nan, "events": math.nan}
    half = float(t_quantile(level, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return {"value": mean, "low": mean - half, "high": mean + half, "events": math.nan}


def compare(
    metric: Metric, changed: pd.Series, control: pd.Series, level: float = LEVEL
) -> dict[str, Any]:
    """One metric's two sides and their difference: ``changed`` / ``control`` (the rate or mean)
    with ``_low`` / ``_high`` intervals, ``n_`` (observations) and ``events_`` (events of a rate,
    NaN for a mean), and ``difference`` = changed - control with ``ci_low`` .. ``ci_high``."""
    if metric.kind == "rate":
        c, k = _rate_side(changed, level), _rate_side(control, level)
        d, lo, hi = stats.rate_difference(
            c["events"], changed.size, k["events"], control.size, level
        )
    else:
        c, k = _mean_side(changed, level), _mean_side(control, level)
        d, lo, hi, _ = stats.welch_test(
            c["value"], changed.var(ddof=1) if changed.size > 1 else math.nan, changed.size,
            k["value"], control.var(ddof=1) if control.size > 1 else math.nan, control.size,
            level,
        )  # fmt: skip
    return {
        "metric": metric.name, "label": metric.label, "better": metric.better,
        "changed": c["value"], "changed_low": c["low"], "changed_high": c["high"],
        "control": k["value"], "control_low": k["low"], "control_high": k["high"],
        "difference": float(d), "ci_low": float(lo), "ci_high": float(hi),
        "n_changed": int(changed.size), "n_control": int(control.size),
        "events_changed": c["events"], "events_control": k["events"],
    }  # fmt: skip


def shortfall(row: Mapping[str, Any], too_early: bool, min_accounts: int) -> Shortfall | None:
    """Why ``row`` (from :func:`compare`) cannot be judged firmly, or None when it can."""
    if too_early:
        return "too early"
    if row["n_changed"] < min_accounts:
        return "few changed"
    if row["n_control"] < min_accounts:
        return "few control"
    return None


def judge(row: Mapping[str, Any], too_early: bool, min_accounts: int) -> str:
    """The verdict of one compared metric (see the module): ``NOT_YET``, ``UNCLEAR``,
    ``BETTER`` or ``WORSE``."""
    short = shortfall(row, too_early, min_accounts)
    if short in ("too early", "few changed"):
        return NOT_YET
    lo, hi = float(row["ci_low"]), float(row["ci_high"])
    if short == "few control" or np.isnan(lo) or np.isnan(hi):
        return UNCLEAR
    lower_is_better = row["better"] == "lower"
    if hi < 0:
        return BETTER if lower_is_better else WORSE
    if lo > 0:
        return WORSE if lower_is_better else BETTER
    return UNCLEAR


def measure(
    metrics: Sequence[Metric],
    sides: Mapping[str, tuple[pd.Series, pd.Series]],
    too_early: Mapping[str, bool],
    min_accounts: int = MIN_ACCOUNTS,
    level: float = LEVEL,
) -> list[dict[str, Any]]:
    """Every metric compared and judged: :func:`compare`'s row with ``verdict`` and
    ``shortfall``. ``sides`` maps a metric's name to its (changed, control) values,
    ``too_early`` to whether its lag has not passed yet."""
    rows = []
    for metric in metrics:
        changed, control = sides[metric.name]
        row = compare(metric, changed.astype(float), control.astype(float), level)
        early = bool(too_early[metric.name])
        row["verdict"] = judge(row, early, min_accounts)
        row["shortfall"] = shortfall(row, early, min_accounts)
        rows.append(row)
    return rows

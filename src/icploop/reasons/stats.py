"""Stratified comparisons of churned and retained accounts: differences of means and
Mantel-Haenszel odds ratios, each with a 95% interval, and Benjamini-Hochberg q-values.

Formulas (``docs/reasons.md``), strata s with churned (1) and retained (0) accounts:

- stratified difference: ``D = sum_s w_s (mean1_s - mean0_s) / sum_s w_s`` with ``w_s`` the
  churned accounts of s (the churned mix is the standard), ``Var D = sum_s w_s^2 (var1_s / n1_s +
  var0_s / n0_s) / (sum_s w_s)^2``; strata with fewer than two accounts in a group are left out;
- Mantel-Haenszel odds ratio of churn for an exposure, per stratum a = exposed churned,
  b = exposed retained, c = unexposed churned, d = unexposed retained, n = a+b+c+d:
  ``OR = sum(a d / n) / sum(b c / n)``, the interval from the Robins-Breslow-Greenland variance of
  ``ln OR``, the p-value from the Mantel-Haenszel chi-squared (1 df, no continuity correction).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Effect:
    """An effect with its interval and the accounts behind it."""

    estimate: float
    lo: float
    hi: float
    p_value: float
    n_churned: int
    n_retained: int
    strata: int

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in asdict(self).items()
        }


def _p_normal(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2)) if math.isfinite(z) else float("nan")


def stratified_difference(frame: pd.DataFrame, value: str, stratum: str = "stratum") -> Effect:
    """Churned minus retained mean of ``value`` within strata (``churned`` is 0/1)."""
    f = frame[[stratum, "churned", value]].dropna()
    num = var = wsum = 0.0
    n1 = n0 = k = 0
    for _, g in f.groupby(stratum):
        x1 = g.loc[g["churned"] == 1, value].to_numpy(float)
        x0 = g.loc[g["churned"] == 0, value].to_numpy(float)
        if len(x1) < 2 or len(x0) < 2:
            continue
        w = float(len(x1))
        num += w * (x1.mean() - x0.mean())
        var += w**2 * (x1.var(ddof=1) / len(x1) + x0.var(ddof=1) / len(x0))
        wsum += w
        n1, n0, k = n1 + len(x1), n0 + len(x0), k + 1
    if wsum == 0:
        nan = float("nan")
        return Effect(nan, nan, nan, nan, n1, n0, 0)
    d = num / wsum
    se = math.sqrt(var) / wsum
    z = d / se if se > 0 else float("inf") if d else 0.0
    return Effect(d, d - Z95 * se, d + Z95 * se, _p_normal(z), n1, n0, k)


def mantel_haenszel(frame: pd.DataFrame, exposure: str, stratum: str = "stratum") -> Effect:
    """Mantel-Haenszel odds ratio of churn for ``exposure`` (0/1), with RBG interval."""
    f = frame[[stratum, "churned", exposure]].dropna()
    r_sum = s_sum = 0.0
    pr = ps_qr = qs = 0.0
    obs = expct = var_a = 0.0
    n1 = n0 = k = 0
    for _, g in f.groupby(stratum):
        y = g["churned"].to_numpy(int)
        e = g[exposure].to_numpy(int)
        a = float(((e == 1) & (y == 1)).sum())
        b = float(((e == 1) & (y == 0)).sum())
        c = float(((e == 0) & (y == 1)).sum())
        d = float(((e == 0) & (y == 0)).sum())
        n = a + b + c + d
        if n < 2 or (a + c) == 0 or (b + d) == 0:
            continue
        r, s = a * d / n, b * c / n
        p, q = (a + d) / n, (b + c) / n
        r_sum, s_sum = r_sum + r, s_sum + s
        pr, ps_qr, qs = pr + p * r, ps_qr + p * s + q * r, qs + q * s
        obs += a
        expct += (a + b) * (a + c) / n
        if n > 1:
            var_a += (a + b) * (c + d) * (a + c) * (b + d) / (n * n * (n - 1))
        n1, n0, k = n1 + int(a + c), n0 + int(b + d), k + 1
    nan = float("nan")
    if r_sum == 0 or s_sum == 0:
        return Effect(
            nan if r_sum == s_sum else (0.0 if r_sum == 0 else math.inf), nan, nan, nan, n1, n0, k
        )
    odds = r_sum / s_sum
    v = pr / (2 * r_sum**2) + ps_qr / (2 * r_sum * s_sum) + qs / (2 * s_sum**2)
    se = math.sqrt(v)
    chi = (obs - expct) ** 2 / var_a if var_a > 0 else nan
    p = math.erfc(math.sqrt(chi / 2)) if math.isfinite(chi) else nan
    return Effect(odds, odds * math.exp(-Z95 * se), odds * math.exp(Z95 * se), p, n1, n0, k)


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN stays NaN and is not counted."""
    p = np.asarray(p, dtype=float)
    q = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size == 0:
        return q
    order = ok[np.argsort(p[ok])]
    m = len(order)
    ranked = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return q


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson 95% interval of a proportion k/n."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    den = 1 + Z95**2 / n
    mid = (p + Z95**2 / (2 * n)) / den
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)

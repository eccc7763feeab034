"""Thresholds: the cut of one numeric attribute that best separates a binary outcome.

The best cut of a scan is biased (the minimum-p-value cut inflates errors), so the evidence is
resampled as a whole: a permutation test of the maximum statistic says whether any cut separates
the outcome, and a bootstrap that repeats the whole selection gives intervals for the cut and
for the effect. The engine returns accounts and events per distinct value (or per 1/1000 rank
bucket for many distinct values); permutations and bootstrap replicates are drawn as counts
(multivariate hypergeometric, multinomial), vectorised over all replicates at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from icploop.errors import IcploopError
from icploop.formatting import pct
from icploop.segments import stats
from icploop.segments.result import Polarity
from icploop.segments.selectors import format_number

Array = stats.Array
MAX_DISTINCT = 1000


@dataclass(frozen=True)
class ThresholdResult:
    """The best cut ``attribute < cut`` versus ``>= cut`` and its evidence.

    ``ratio`` is rate(worse side) / rate(better side); intervals are 95% (``level``) bootstrap
    percentile intervals of the whole selection, except ``ratio_fixed_lo/hi`` (Katz, at the
    chosen cut, ignoring selection). ``adjusted_p`` is the permutation p-value after Holm's
    correction over the attributes scanned together (``find_thresholds``; the permutation
    p-value itself for one attribute). ``recommended`` is None unless ``adjusted_p`` is at most
    ``alpha`` and the ratio's interval excludes 1.
    """

    attribute: str
    outcome: str
    n_accounts: int
    base_rate: float
    cut: float
    worse_side: Literal["below", "above"]
    n_below: int
    rate_below: float
    rate_below_lo: float
    rate_below_hi: float
    n_above: int
    rate_above: float
    rate_above_lo: float
    rate_above_hi: float
    ratio: float
    ratio_lo: float
    ratio_hi: float
    ratio_fixed_lo: float
    ratio_fixed_hi: float
    cut_lo: float
    cut_hi: float
    statistic: float
    permutation_p: float
    adjusted_p: float
    n_attributes: int
    n_permutations: int
    n_bootstrap: int
    seed: int
    recommended: float | None
    recommendation: str
    scan: pd.DataFrame
    caveats: tuple[str, ...]
    unit: str = ""
    event_phrase: str = "churn"
    horizon_phrase: str = ""
    percent: bool = False
    level: float = 0.95


def _per_value(table: ir.Table, attribute: str, outcome: str) -> pd.DataFrame:
    """Accounts and events per distinct value, or per rank bucket when values are many."""
    t = table.filter(table[attribute].notnull() & table[outcome].notnull())
    x, y = t[attribute].cast("float64"), t[outcome].cast("float64")
    distinct = int(t.aggregate(d=x.nunique()).to_pandas()["d"].iloc[0])
    if distinct <= MAX_DISTINCT:
        g = t.select(v=x, y=y).group_by("v").aggregate(n=ibis._.count(), k=ibis._.y.sum())
    else:
        bucket = (ibis.percent_rank().over(order_by=x) * (MAX_DISTINCT - 1)).floor()
        g = (
            t.select(b=bucket, x=x, y=y)
            .group_by("b")
            .aggregate(v=ibis._.x.min(), n=ibis._.count(), k=ibis._.y.sum())
        )
    return g.select("v", "n", "k").order_by("v").to_pandas()


def _scan(n: Array, k: Array, min_support: float, lo_share: float) -> tuple[Array, Array]:
    """Chi-squared of every cut (cut j: values < v[j]) along the last axis; -1 where the cut is
    ineligible (share below outside [lo_share, 1 - lo_share] or a side under min_support)."""
    nb = np.cumsum(n, axis=-1)[..., :-1]
    kb = np.cumsum(k, axis=-1)[..., :-1]
    total_n = n.sum(axis=-1, keepdims=True)
    total_k = k.sum(axis=-1, keepdims=True)
    na, ka = total_n - nb, total_k - kb
    share = nb / total_n
    ok = (share >= lo_share) & (share <= 1 - lo_share) & (nb >= min_support) & (na >= min_support)
    with np.errstate(divide="ignore", invalid="ignore"):
        num = total_n * (kb * (na - ka) - ka * (nb - kb)) ** 2
        den = nb * na * total_k * (total_n - total_k)
        chi = np.where(den > 0, num / den, 0.0)
    return np.where(ok, chi, -1.0), np.stack([nb, kb, na, ka])


def round_floor(x: float) -> float:
    """Smallest multiple of 5 x 10^(m-1) at or above x, with 10^m <= x < 10^(m+1) (62 -> 65)."""
    if x <= 0:
        return 0.0
    step = 5 * 10 ** (math.floor(math.log10(x)) - 1)
    return float(math.ceil(x / step - 1e-9) * step)


def round_ceiling(x: float) -> float:
    """Largest multiple of 5 x 10^(m-1) at or below x (the mirror of ``round_floor``)."""
    if x <= 0:
        return 0.0
    step = 5 * 10 ** (math.floor(math.log10(x)) - 1)
    return float(math.floor(x / step + 1e-9) * step)


def find_threshold(
    table: ir.Table,
    attribute: str,
    outcome: str,
    *,
    higher_is: Polarity = "bad",
    min_support: int | None = None,
    n_permutations: int = 999,
    n_bootstrap: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    alpha: float = 0.05,
    unit: str = "",
    event_phrase: str = "churn",
    horizon_phrase: str = "",
    percent: bool = False,
) -> ThresholdResult:
    """Find the cut of numeric ``attribute`` that best separates binary ``outcome`` (0/1).

    Cuts are scanned between the 10th and 90th percentile (share of accounts below in
    [0.1, 0.9]) with ``min_support`` accounts (default max(30, 5/p0)) on each side; the
    statistic is Pearson's chi-squared. Rows missing either column are left out. The
    recommendation reads like "accounts under 50 seats churn 3.1x more in year one (95% CI
    2.4-4.0, n=812); recommended floor: 75 seats (the upper end of the cut's 95% interval, 62,
    rounded up to a round number)", with ``unit`` ("seats"), ``event_phrase``
    ("churn") and ``horizon_phrase`` (" in year one") as given; ``percent`` shows a fraction
    (a discount) as a percentage. Seeded: same inputs, same output.
    """
    if n_permutations < 1 or n_bootstrap < 1:
        raise IcploopError("n_permutations and n_bootstrap must be positive", "use 999 and 1000")
    for c in (attribute, outcome):
        if c not in table.columns:
            raise IcploopError(f"unknown column {c!r}", "use a column of the accounts table")
    per = _per_value(table, attribute, outcome)
    v, n, k = (per[c].to_numpy(dtype=np.float64) for c in ("v", "n", "k"))
    total_n, total_k = float(n.sum()), float(k.sum())
    if total_n == 0 or np.any(k > n) or np.any(k < 0):
        raise IcploopError(
            f"{outcome!r} must be a 0/1 outcome with accounts that have {attribute!r}",
            "pass a binary outcome column and a numeric attribute with values",
        )
    p0 = total_k / total_n
    support = min_support if min_support is not None else max(30, math.ceil(5 / max(p0, 1e-9)))
    chi, parts = _scan(n, k, support, 0.10)
    if chi.size == 0 or chi.max() < 0:
        raise IcploopError(
            f"no cut of {attribute!r} leaves {support} accounts and 10% on each side",
            "lower min_support or use an attribute with more spread",
        )
    j = int(np.argmax(chi))
    nb, kb, na, ka = (float(x[j]) for x in parts)
    rng = np.random.default_rng(seed)

    # permutation of outcomes across accounts = events spread over values without replacement
    perm_k = rng.multivariate_hypergeometric(n.astype(np.int64), int(total_k), size=n_permutations)
    perm_max = _scan(np.broadcast_to(n, perm_k.shape), perm_k.astype(float), support, 0.10)[0].max(
        axis=1
    )
    p_perm = (1 + int(np.sum(perm_max >= chi[j] - 1e-9))) / (n_permutations + 1)

    # bootstrap of accounts = multinomial over (value, event) cells; the whole selection reruns
    cells = np.concatenate([k, n - k]) / total_n
    draws = rng.multinomial(int(total_n), cells, size=n_bootstrap).astype(float)
    bk, bn = draws[:, : len(v)], draws[:, : len(v)] + draws[:, len(v) :]
    bchi, bparts = _scan(bn, bk, support, 0.10)
    valid = bchi.max(axis=1) >= 0
    bj = np.argmax(bchi, axis=1)[valid]
    rows = np.flatnonzero(valid)
    b_nb, b_kb, b_na, b_ka = (x[rows, bj] for x in bparts)
    with np.errstate(divide="ignore", invalid="ignore"):
        b_below, b_above = b_kb / b_nb, b_ka / b_na
    below_worse = (kb / nb > ka / na) == (higher_is == "bad")
    worse, better = (b_below, b_above) if below_worse else (b_above, b_below)
    with np.errstate(divide="ignore", invalid="ignore"):
        b_ratio = worse / better
    q = [100 * (1 - level) / 2, 100 * (1 + level) / 2]

    def pct(a: Array) -> tuple[float, float]:
        a = a[np.isfinite(a)]
        if a.size == 0:
            return float("nan"), float("nan")
        lo, hi = np.percentile(a, q)
        return float(lo), float(hi)

    cut = float(v[j + 1])
    cut_lo, cut_hi = pct(v[bj + 1])
    rate_b, rate_a = kb / nb, ka / na
    w = (kb, nb, ka, na) if below_worse else (ka, na, kb, nb)
    ratio, r_lo, r_hi = (float(x) for x in stats.rate_ratio(*w, level=level))
    ratio_lo, ratio_hi = pct(b_ratio)
    side: Literal["below", "above"] = "below" if below_worse else "above"
    scan = pd.DataFrame(
        {
            "cut": v[1:],
            "n_below": parts[0],
            "rate_below": parts[1] / parts[0],
            "rate_above": parts[3] / parts[2],
            "statistic": chi,
        }
    )[chi >= 0].reset_index(drop=True)
    caveats = []
    if valid.mean() < 0.99:
        caveats.append("some bootstrap replicates had no eligible cut; intervals use the rest")
    if total_k < 50:
        caveats.append(f"few events: {int(total_k)} in all; intervals are wide")
    b_lo, b_hi = pct(b_below)
    a_lo, a_hi = pct(b_above)
    found = ThresholdResult(
        attribute=attribute, outcome=outcome, n_accounts=int(total_n), base_rate=p0, cut=cut,
        worse_side=side, n_below=int(nb), rate_below=rate_b, rate_below_lo=b_lo,
        rate_below_hi=b_hi, n_above=int(na), rate_above=rate_a, rate_above_lo=a_lo,
        rate_above_hi=a_hi, ratio=ratio, ratio_lo=ratio_lo, ratio_hi=ratio_hi,
        ratio_fixed_lo=r_lo, ratio_fixed_hi=r_hi, cut_lo=cut_lo, cut_hi=cut_hi,
        statistic=float(chi[j]), permutation_p=p_perm, adjusted_p=p_perm, n_attributes=1,
        n_permutations=n_permutations, n_bootstrap=n_bootstrap, seed=seed, recommended=None,
        recommendation="", scan=scan, caveats=tuple(caveats), unit=unit,
        event_phrase=event_phrase, horizon_phrase=horizon_phrase, percent=percent, level=level,
    )  # fmt: skip
    return decide(found, p_perm, 1, alpha)


def decide(
    found: ThresholdResult, adjusted_p: float, n_attributes: int, alpha: float
) -> ThresholdResult:
    """``found`` with its adjusted p-value, the recommended limit and the sentence: a limit only
    when ``adjusted_p <= alpha`` and the ratio's bootstrap interval excludes 1 (a cut whose
    effect could be nil is no limit), rounded outwards from the cut's interval."""
    clear = found.ratio_lo > 1 or found.ratio_hi < 1
    recommended = None
    if adjusted_p <= alpha and clear:
        below = found.worse_side == "below"
        recommended = round_floor(found.cut_hi) if below else round_ceiling(found.cut_lo)
    text = _phrase(
        found.attribute,
        found.worse_side,
        found.cut,
        found.ratio,
        found.ratio_lo,
        found.ratio_hi,
        found.n_below if found.worse_side == "below" else found.n_above,
        recommended,
        found.cut_hi if found.worse_side == "below" else found.cut_lo,
        adjusted_p,
        n_attributes,
        clear,
        found.unit,
        found.event_phrase,
        found.horizon_phrase,
        found.level,
        found.percent,
    )
    return replace(
        found,
        adjusted_p=adjusted_p,
        n_attributes=n_attributes,
        recommended=recommended,
        recommendation=text,
    )


#: the family-wise error rate of every threshold scan: the chance of recommending any limit on
#: data without an effect, however many measures are scanned together (Holm)
THRESHOLD_ALPHA = 0.05
#: how a measure's threshold is stated ("under 50 seats")
THRESHOLD_UNITS = {
    "seats_at_close": "seats",
    "employees": "employees",
    "discount": "discount",
    "deal_amount": "in annual contract value",
}
#: measures that are fractions, shown as percentages
PERCENT_MEASURES = ("discount",)


def find_thresholds(
    table: ir.Table,
    attributes: Sequence[str],
    outcome: str,
    *,
    alpha: float = 0.05,
    units: Mapping[str, str] | None = None,
    percent: Sequence[str] = (),
    **options: Any,
) -> list[ThresholdResult]:
    """``find_threshold`` for each numeric attribute of ``attributes``, controlled as a family:
    each permutation p-value is adjusted by Holm's step-down over the attributes scanned
    together, so the chance of recommending any limit on data without an effect stays at
    ``alpha`` however many attributes are scanned. Why Holm rather than a joint permutation of
    the maximum over attributes: it needs no account-level permutation (each attribute's test
    stays a draw of counts per value) and holds under any dependence between attributes.
    Attributes without an eligible cut are left out. ``units`` maps attributes to their unit
    ("seats"); ``percent`` lists fractions shown as percentages; ``options`` go to
    ``find_threshold`` (``higher_is``, ``event_phrase``, ``horizon_phrase``, ``seed``...)."""
    found = []
    for attribute in attributes:
        try:
            found.append(
                find_threshold(
                    table,
                    attribute,
                    outcome,
                    alpha=alpha,
                    unit=(units or {}).get(attribute, ""),
                    percent=attribute in percent,
                    **options,
                )
            )
        except IcploopError:
            continue  # no cut leaves enough accounts on each side: nothing to test
    adjusted = stats.holm([f.permutation_p for f in found])
    return [decide(f, float(p), len(found), alpha) for f, p in zip(found, adjusted, strict=True)]


def _phrase(
    attribute: str,
    side: str,
    cut: float,
    ratio: float,
    lo: float,
    hi: float,
    n_side: int,
    recommended: float | None,
    cut_end: float,
    p_perm: float,
    n_attributes: int,
    clear: bool,
    unit: str,
    event_phrase: str,
    horizon_phrase: str,
    level: float,
    percent: bool = False,
) -> str:
    u = f" {unit}" if unit else f" {attribute}"
    where = (
        f"under {_show(cut, percent)}{u}"
        if side == "below"
        else f"at {_show(cut, percent)}{u} or more"
    )
    more = "more" if ratio >= 1 else "as much"
    head = (
        f"accounts {where} {event_phrase} {ratio:.1f}x {more}{horizon_phrase} "
        f"({100 * level:.0f}% CI {lo:.1f}-{hi:.1f}, n={n_side})"
    )
    if recommended is None:
        corrected = f", Holm over {n_attributes} attributes" if n_attributes > 1 else ""
        why = (
            f"permutation p = {p_perm:.2f}{corrected}"
            if clear
            else f"the ratio's interval includes 1; permutation p = {p_perm:.2f}{corrected}"
        )
        return f"{head}; no reliable cut ({why}): no limit recommended"
    kind, end, way = ("floor", "upper", "up") if side == "below" else ("ceiling", "lower", "down")
    why = f"the {end} end of the cut's {100 * level:.0f}% interval, {_show(cut_end, percent)}"
    if _show(recommended, percent) != _show(cut_end, percent):
        why += f", rounded {way} to a round number"
    return f"{head}; recommended {kind}: {_show(recommended, percent)}{u} ({why})"


def _show(x: float, percent: bool) -> str:
    """A cut as a reader writes it: 3 significant figures with thousands separators, or a
    percentage for fractions such as a discount (0.196 -> 20%)."""
    if percent:
        return pct(x)
    return f"{float(f'{x:.3g}'):,g}" if abs(x) < 1e15 else format_number(x)


#: what the JSON of ``icploop segments`` and ``GET /api/v1/segments/thresholds`` says of each
#: recommended threshold
THRESHOLD_FIELDS = ("attribute", "cut", "worse_side", "n_below", "n_above", "rate_below",
                    "rate_above", "permutation_p", "adjusted_p", "recommended")  # fmt: skip


def threshold_row(threshold: ThresholdResult) -> dict[str, Any]:
    """One threshold as JSON-ready fields (:data:`THRESHOLD_FIELDS`)."""
    return {k: getattr(threshold, k) for k in THRESHOLD_FIELDS}

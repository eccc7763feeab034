"""Interval estimates, tests, false-discovery control and shrinkage, vectorised over segments.

Every function takes numpy arrays (one entry per segment, or anything that broadcasts) and returns
arrays of the same shape, so one call handles tens of thousands of segments. Counts are accounts;
rates are fractions in [0, 1]. ``level`` is the two-sided coverage (0.95 gives a 95% interval).
Formulas and their caveats are written out in ``docs/statistics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special, stats

Array = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

# Fisher's exact test is used when the smallest expected cell of a 2x2 table is below this;
# above it Pearson's chi-squared (1 df, no continuity correction) is accurate and far cheaper.
EXACT_BELOW_EXPECTED = 10.0
# Bound on the (tables x support points) matrix built by the vectorised Fisher test.
_FISHER_CHUNK_CELLS = 4_000_000


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


def _f(x: ArrayLike) -> Array:
    return np.asarray(x, dtype=np.float64)


def wilson_interval(k: ArrayLike, n: ArrayLike, level: float = 0.95) -> tuple[Array, Array]:
    """Wilson score interval for k events out of n; (nan, nan) where n == 0."""
    k, n = _f(k), _f(n)
    z = _z(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def exact_interval(k: ArrayLike, n: ArrayLike, level: float = 0.95) -> tuple[Array, Array]:
    """Clopper-Pearson (exact binomial) interval; 0 and 1 at the boundaries k == 0 and k == n."""
    k, n = _f(k), _f(n)
    alpha = 1 - level
    with np.errstate(invalid="ignore"):
        lo = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        hi = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    return _f(lo), _f(hi)


def rate_ratio(
    k1: ArrayLike, n1: ArrayLike, k2: ArrayLike, n2: ArrayLike, level: float = 0.95
) -> tuple[Array, Array, Array]:
    """Ratio of rates (k1/n1) / (k2/n2) with the Katz log interval.

    Where any event count is 0 (or equals its group size), 0.5 is added to the four cells
    (Haldane) so the ratio and interval stay finite; the result is then a little shrunk to 1.
    """
    k1, n1, k2, n2 = _f(k1), _f(n1), _f(k2), _f(n2)
    zero = (k1 == 0) | (k2 == 0) | (k1 == n1) | (k2 == n2)
    c = np.where(zero, 0.5, 0.0)
    a, m1, b, m2 = k1 + c, n1 + 2 * c, k2 + c, n2 + 2 * c
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (a / m1) / (b / m2)
        se = np.sqrt(1 / a - 1 / m1 + 1 / b - 1 / m2)
    z = _z(level)
    return ratio, ratio * np.exp(-z * se), ratio * np.exp(z * se)


def rate_difference(
    k1: ArrayLike, n1: ArrayLike, k2: ArrayLike, n2: ArrayLike, level: float = 0.95
) -> tuple[Array, Array, Array]:
    """Difference of rates k1/n1 - k2/n2 with Newcombe's hybrid score interval (method 10).

    Built from the two Wilson intervals, so it behaves well near 0 and 1 and for small groups.
    An empty group (n = 0, e.g. a segment holding every account) gives NaN, not a warning.
    """
    k1, n1, k2, n2 = _f(k1), _f(n1), _f(k2), _f(n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, level)
    l2, u2 = wilson_interval(k2, n2, level)
    d = p1 - p2
    lo = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, lo, hi


def chi2_pvalue(k1: ArrayLike, n1: ArrayLike, k2: ArrayLike, n2: ArrayLike) -> Array:
    """Pearson chi-squared p-value (1 df, no continuity correction); 1 for degenerate tables."""
    k1, n1, k2, n2 = _f(k1), _f(n1), _f(k2), _f(n2)
    n = n1 + n2
    events = k1 + k2
    with np.errstate(divide="ignore", invalid="ignore"):
        num = n * (k1 * (n2 - k2) - k2 * (n1 - k1)) ** 2
        den = n1 * n2 * events * (n - events)
        stat = np.where(den > 0, num / den, 0.0)
    return _f(stats.chi2.sf(stat, 1))


def _log_choose(n: Array, k: Array) -> Array:
    return _f(special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1))


def _hypergeom_pmf(x: ArrayLike, total: ArrayLike, events: ArrayLike, draws: ArrayLike) -> Array:
    """P(X = x) for X ~ Hypergeometric(total, events, draws), through log-gamma (fast, vectorised);
    x outside the support gives 0."""
    x, total, events, draws = _f(x), _f(total), _f(events), _f(draws)
    with np.errstate(invalid="ignore"):
        logp = (
            _log_choose(events, x)
            + _log_choose(total - events, draws - x)
            - _log_choose(total, draws)
        )
    return np.where(np.isfinite(logp), np.exp(logp), 0.0)


def fisher_pvalue(k1: ArrayLike, n1: ArrayLike, k2: ArrayLike, n2: ArrayLike) -> Array:
    """Two-sided Fisher exact p-value per 2x2 table, as ``scipy.stats.fisher_exact`` defines it.

    The p-value sums the hypergeometric probabilities of every table with the same margins that
    is no more probable than the observed one. Tables are processed in chunks, each as a padded
    (tables x support) matrix, so memory stays bounded for large supports.
    """
    k1, n1, k2, n2 = (
        np.broadcast_to(_f(x), np.broadcast_shapes(*map(np.shape, (k1, n1, k2, n2))))
        for x in (k1, n1, k2, n2)
    )
    shape = k1.shape
    k1, n1, k2, n2 = (x.ravel().astype(np.int64) for x in (k1, n1, k2, n2))
    total, events = n1 + n2, k1 + k2
    lo = np.maximum(0, n1 - (total - events))
    hi = np.minimum(n1, events)
    width = hi - lo + 1
    out = np.ones(k1.shape, dtype=np.float64)
    order = np.argsort(width, kind="stable")  # similar widths share a chunk: less padding
    start = 0
    while start < order.size:
        w = int(width[order[start]])
        step = max(1, _FISHER_CHUNK_CELLS // max(w, 1))
        idx = order[start : start + step]
        w = int(width[idx].max())
        x = lo[idx, None] + np.arange(w)[None, :]
        valid = x <= hi[idx, None]
        pmf = np.where(
            valid, _hypergeom_pmf(x, total[idx, None], events[idx, None], n1[idx, None]), 0.0
        )
        pobs = _hypergeom_pmf(k1[idx], total[idx], events[idx], n1[idx])
        # relative tolerance as in scipy: tables equally probable up to rounding count as extreme
        extreme = pmf <= pobs[:, None] * (1 + 1e-7)
        out[idx] = np.minimum(1.0, (pmf * extreme).sum(axis=1))
        start += step
    return out.reshape(shape)


def two_proportion_pvalue(
    k1: ArrayLike,
    n1: ArrayLike,
    k2: ArrayLike,
    n2: ArrayLike,
    exact_below: float = EXACT_BELOW_EXPECTED,
) -> Array:
    """Two-sided p-value of group 1 versus group 2: Fisher exact where the smallest expected cell
    is below ``exact_below``, Pearson chi-squared elsewhere."""
    k1, n1, k2, n2 = np.broadcast_arrays(_f(k1), _f(n1), _f(k2), _f(n2))
    n, events = n1 + n2, k1 + k2
    with np.errstate(divide="ignore", invalid="ignore"):
        rows = np.minimum(n1, n2)
        cols = np.minimum(events, n - events)
        expected = np.where(n > 0, rows * cols / n, 0.0)
    p = chi2_pvalue(k1, n1, k2, n2)
    small = expected < exact_below
    if small.any():
        p[small] = fisher_pvalue(k1[small], n1[small], k2[small], n2[small])
    return p


def benjamini_hochberg(p: ArrayLike) -> Array:
    """Benjamini-Hochberg q-values (step-up, adjusted p-values) over all entries of ``p``.

    ``q_(i) = min_{j >= i} min(1, m p_(j) / j)`` over the sorted p-values; NaN p-values are
    ignored (kept as NaN) and do not count in m.
    """
    p = _f(p)
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    pv = p[ok]
    m = pv.size
    if m == 0:
        return q
    order = np.argsort(pv, kind="stable")
    ranked = pv[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adj = np.empty(m)
    adj[order] = np.minimum(ranked, 1.0)
    q[ok] = adj
    return q


@dataclass(frozen=True)
class BetaPrior:
    """Beta(a, b) prior on segment rates, fitted over segments (empirical Bayes)."""

    a: float
    b: float
    capped: bool  # True when no between-segment spread was found and the strength was capped

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)

    @property
    def strength(self) -> float:
        """a + b: how many accounts' worth of evidence the prior is worth."""
        return self.a + self.b


def holm(p: ArrayLike) -> Array:
    """Holm's step-down adjusted p-values (family-wise error control under any dependence):
    the i-th smallest becomes max over j <= i of min(1, (m - j + 1) p_(j)); NaN stays NaN and
    is not counted in m."""
    p = _f(p)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if ok.size == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = ok.size
    stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(stepped)
    return out


def fit_beta_prior(
    k: ArrayLike, n: ArrayLike, max_strength: float = 1e6, mean: float | None = None
) -> BetaPrior:
    """Method-of-moments beta-binomial prior over segments.

    Prior mean m = ``mean`` when given (segment search passes the base rate, so that a shrunk
    rate lies between the raw rate and the base and never crosses it), else sum(k) / sum(n).
    The between-segment variance of true rates is the observed variance of k/n about m minus
    the average binomial variance m(1-m)/n; then a + b = m(1-m)/tau^2 - 1. With no spread
    beyond binomial noise (tau^2 <= 0) the strength is capped at ``max_strength``, which
    shrinks every segment to m.
    """
    k, n = _f(k), _f(n)
    keep = n > 0
    k, n = k[keep], n[keep]
    if k.size == 0 or n.sum() == 0:
        m0 = 0.5 if mean is None else float(np.clip(mean, 1e-9, 1 - 1e-9))
        return BetaPrior(2 * m0, 2 * (1 - m0), capped=True)
    m = float(np.clip(k.sum() / n.sum() if mean is None else mean, 1e-9, 1 - 1e-9))
    tau2 = float(np.mean((k / n - m) ** 2) - np.mean(m * (1 - m) / n))
    strength = m * (1 - m) / tau2 - 1 if tau2 > 0 else np.inf
    capped = not (0 < strength <= max_strength)
    strength = max_strength if capped else max(strength, 1e-3)
    return BetaPrior(m * strength, (1 - m) * strength, capped=capped)


def beta_posterior(
    k: ArrayLike, n: ArrayLike, prior: BetaPrior, level: float = 0.95
) -> tuple[Array, Array, Array]:
    """Posterior mean (k + a) / (n + a + b) and the equal-tailed credible interval."""
    a, b = _f(k) + prior.a, _f(n) - _f(k) + prior.b
    alpha = 1 - level
    return (
        a / (a + b),
        _f(special.betaincinv(a, b, alpha / 2)),
        _f(special.betaincinv(a, b, 1 - alpha / 2)),
    )


def welch_test(
    mean1: ArrayLike,
    var1: ArrayLike,
    n1: ArrayLike,
    mean2: ArrayLike,
    var2: ArrayLike,
    n2: ArrayLike,
    level: float = 0.95,
) -> tuple[Array, Array, Array, Array]:
    """Welch's t: mean difference mean1 - mean2, its interval and the two-sided p-value.

    Variances are sample variances (ddof 1). Degrees of freedom by Welch-Satterthwaite; groups
    with fewer than 2 accounts give NaN.
    """
    m1, v1, n1, m2, v2, n2 = map(_f, (mean1, var1, n1, mean2, var2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        s1, s2 = v1 / n1, v2 / n2
        se = np.sqrt(s1 + s2)
        df = (s1 + s2) ** 2 / (s1**2 / (n1 - 1) + s2**2 / (n2 - 1))
        d = m1 - m2
        t = d / se
        p = np.where(se > 0, 2 * stats.t.sf(np.abs(t), df), np.where(d == 0, 1.0, 0.0))
        half = stats.t.ppf(0.5 + level / 2, df) * se
    bad = (n1 < 2) | (n2 < 2)
    p = np.where(bad, np.nan, p)
    return d, d - half, d + half, _f(p)


@dataclass(frozen=True)
class NormalPrior:
    """Normal(mean, tau2) prior on segment means, fitted over segments (empirical Bayes)."""

    mean: float
    tau2: float


def midranks(y: ArrayLike) -> tuple[Array, float]:
    """Ranks 1..N of ``y`` with ties given their average rank, and the tie term
    sum(t^3 - t) over groups of t equal values (0 without ties)."""
    y = _f(y)
    _, counts = np.unique(y, return_counts=True)
    t = counts.astype(np.float64)
    return _f(stats.rankdata(y, method="average")), float(np.sum(t**3 - t))


def rank_sum_pvalue(rank_sum: ArrayLike, n: ArrayLike, n_all: float, tie_term: float) -> Array:
    """Two-sided Wilcoxon-Mann-Whitney test of a segment against the rest, from the sum of the
    segment's midranks among all ``n_all`` values.

    Normal approximation with the tie correction and a continuity correction of 1/2 (the
    ``scipy.stats.mannwhitneyu`` asymptotic method): U = R - n(n+1)/2 has mean n m / 2 and
    variance n m / 12 ((N+1) - sum(t^3 - t) / (N(N-1))) with m = N - n. Why a rank test:
    under the null of no difference it holds on skewed and zero-inflated outcomes (NRR with a
    fifth of accounts at 0), where Welch's t is too certain for a small segment that happens to
    hold no zero. NaN where either side is empty or every value is tied.
    """
    r, n = _f(rank_sum), _f(n)
    m = n_all - n
    u = r - n * (n + 1) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        ties = tie_term / (n_all * (n_all - 1)) if n_all > 1 else 0.0
        var = n * m / 12 * ((n_all + 1) - ties)
        z = np.maximum(np.abs(u - n * m / 2) - 0.5, 0) / np.sqrt(var)
    p = np.minimum(1.0, 2 * stats.norm.sf(z))
    return np.where((n > 0) & (m > 0) & (var > 0), p, np.nan)


def fit_normal_prior(means: ArrayLike, se2: ArrayLike, overall_mean: float) -> NormalPrior:
    """Method of moments: tau^2 = mean((ybar - mu)^2) - mean(se^2), floored at 0, mu the overall
    mean of the outcome over all accounts."""
    y, s = _f(means), _f(se2)
    ok = np.isfinite(y) & np.isfinite(s)
    if not ok.any():
        return NormalPrior(overall_mean, 0.0)
    tau2 = float(np.mean((y[ok] - overall_mean) ** 2) - np.mean(s[ok]))
    return NormalPrior(overall_mean, max(tau2, 0.0))


def normal_posterior(
    means: ArrayLike, se2: ArrayLike, prior: NormalPrior, level: float = 0.95
) -> tuple[Array, Array, Array]:
    """Normal-normal shrinkage: mu + B (ybar - mu) with B = tau^2 / (tau^2 + se^2), and the
    credible interval of half-width z sqrt(B se^2)."""
    y, s = _f(means), _f(se2)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(prior.tau2 + s > 0, prior.tau2 / (prior.tau2 + s), 0.0)
    post = prior.mean + w * (y - prior.mean)
    half = _z(level) * np.sqrt(w * s)
    return post, post - half, post + half

"""Oracle cases for the statistics: hand arithmetic in the docstrings, scipy where stated."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from icploop.segments import stats


def test_wilson_interval_matches_the_hand_computation() -> None:
    """5 of 10, z = 1.95996: centre = (0.5 + z^2/20) / (1 + z^2/10) = 0.5,
    half = z sqrt(0.025 + z^2/400) / 1.38415 = 0.26340, so 0.2366-0.7634."""
    lo, hi = stats.wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4)
    assert hi == pytest.approx(0.7634, abs=1e-4)


def test_exact_interval_is_clopper_pearson_and_closed_at_the_boundaries() -> None:
    lo, hi = stats.exact_interval(np.array([0, 5, 10]), np.array([10, 10, 10]))
    assert lo[0] == 0.0 and hi[2] == 1.0
    # 0 of 10: upper end 1 - 0.025^(1/10) = 0.30850
    assert hi[0] == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-9)
    assert lo[1] == pytest.approx(0.18709, abs=1e-5)


def test_katz_interval_for_the_rate_ratio_matches_the_hand_computation() -> None:
    """30/100 vs 10/100: RR = 3, se = sqrt(1/30 - 1/100 + 1/10 - 1/100) = 0.33665,
    exp(1.96 x 0.33665) = 1.9346, so 1.5507-5.8037."""
    rr, lo, hi = stats.rate_ratio(30, 100, 10, 100)
    assert rr == pytest.approx(3.0)
    assert lo == pytest.approx(1.5507, abs=1e-3)
    assert hi == pytest.approx(5.8037, abs=1e-3)


def test_rate_ratio_stays_finite_with_zero_events() -> None:
    rr, lo, hi = stats.rate_ratio(0, 50, 10, 100)
    assert np.isfinite([rr, lo, hi]).all() and lo < rr < hi


def test_newcombe_difference_interval_matches_the_published_example() -> None:
    """Newcombe (1998) table II example (56/70 vs 48/80): difference 0.2, 95% CI
    0.0524-0.3339 by method 10."""
    d, lo, hi = stats.rate_difference(56, 70, 48, 80)
    assert d == pytest.approx(0.2)
    assert lo == pytest.approx(0.0524, abs=1e-3)
    assert hi == pytest.approx(0.3339, abs=1e-3)


def test_vectorised_fisher_agrees_with_scipy_on_random_small_tables() -> None:
    rng = np.random.default_rng(7)
    n1, n2 = rng.integers(1, 40, 200), rng.integers(1, 120, 200)
    k1, k2 = rng.binomial(n1, 0.3), rng.binomial(n2, 0.1)
    ours = stats.fisher_pvalue(k1, n1, k2, n2)
    ref = [
        sps.fisher_exact([[a, b - a], [c, d - c]]).pvalue
        for a, b, c, d in zip(k1, n1, k2, n2, strict=True)
    ]
    np.testing.assert_allclose(ours, ref, rtol=1e-7, atol=1e-12)


def test_chi_squared_agrees_with_scipy_without_continuity_correction() -> None:
    table = np.array([[120, 280], [160, 1440]])
    ref = sps.chi2_contingency(table, correction=False).pvalue
    assert stats.chi2_pvalue(120, 400, 160, 1600) == pytest.approx(ref, rel=1e-9)


def test_benjamini_hochberg_matches_the_hand_computation() -> None:
    """m = 8; p x m / rank = .008 .032 .104 .082 .0672 .08 .08457 .205; the running minimum
    from the right gives .008 .032 .0672 .0672 .0672 .08 .08457 .205 (statsmodels'
    multipletests(method='fdr_bh') gives the same)."""
    p = np.array([0.041, 0.001, 0.205, 0.008, 0.042, 0.039, 0.074, 0.06])
    q = stats.benjamini_hochberg(p)
    expect = {0.001: 0.008, 0.008: 0.032, 0.039: 0.0672, 0.041: 0.0672, 0.042: 0.0672,
              0.06: 0.08, 0.074: 0.0845714, 0.205: 0.205}  # fmt: skip
    np.testing.assert_allclose(q, [expect[x] for x in p], rtol=1e-6)


def test_benjamini_hochberg_ignores_nan_in_the_count() -> None:
    q = stats.benjamini_hochberg([0.01, np.nan, 0.04])
    assert np.isnan(q[1])
    np.testing.assert_allclose(q[[0, 2]], [0.02, 0.04])


def test_beta_prior_by_moments_matches_the_hand_computation() -> None:
    """Rates 0.1 and 0.3 with 10^6 accounts each: m = 0.2, tau^2 = 0.01 - 0.16e-6,
    a + b = 0.16 / 0.01 - 1 = 15, so a = 3 and b = 12 (to 1e-3)."""
    prior = stats.fit_beta_prior([100_000, 300_000], [1_000_000, 1_000_000])
    assert prior.a == pytest.approx(3.0, abs=1e-3)
    assert prior.b == pytest.approx(12.0, abs=1e-2)
    assert not prior.capped


def test_beta_prior_without_spread_is_capped_and_shrinks_to_the_mean() -> None:
    prior = stats.fit_beta_prior([10, 10, 10], [100, 100, 100])
    assert prior.capped and prior.mean == pytest.approx(0.1)


def test_beta_posterior_mean_and_interval() -> None:
    """Prior Beta(2, 18), 5 of 9: posterior Beta(7, 22), mean 7/29 = 0.241379."""
    prior = stats.BetaPrior(2.0, 18.0, capped=False)
    mean, lo, hi = stats.beta_posterior(5, 9, prior)
    assert mean == pytest.approx(7 / 29)
    assert lo == pytest.approx(sps.beta.ppf(0.025, 7, 22))
    assert hi == pytest.approx(sps.beta.ppf(0.975, 7, 22))


def test_welch_agrees_with_scipy() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 1.0, 40), rng.normal(0.5, 2.0, 70)
    d, lo, hi, p = stats.welch_test(a.mean(), a.var(ddof=1), 40, b.mean(), b.var(ddof=1), 70)
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert p == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ref.confidence_interval()
    assert (lo, hi) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert d == pytest.approx(a.mean() - b.mean())


def test_normal_shrinkage_pulls_noisy_means_harder() -> None:
    """tau^2 = 1, se^2 = 1 and 9: weights 1/2 and 1/10 towards mu = 0."""
    prior = stats.NormalPrior(0.0, 1.0)
    post, lo, hi = stats.normal_posterior([2.0, 2.0], [1.0, 9.0], prior)
    np.testing.assert_allclose(post, [1.0, 0.2])
    assert (hi - lo)[0] == pytest.approx(2 * 1.959964 * np.sqrt(0.5), rel=1e-5)

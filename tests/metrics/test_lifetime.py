"""The sBG model against the published worked example, and the LTV formulas."""

from __future__ import annotations

import numpy as np
import pytest

from icploop.errors import IcploopError
from icploop.metrics.lifetime import ShiftedBetaGeometric, cac_payback, simple_ltv

REGULAR = [1000, 869, 743, 653, 593, 551, 517, 491]
HIGH_END = [1000, 631, 468, 382, 326, 289, 262, 241]


def sig3(x: float) -> str:
    return f"{x:.3g}"


def test_sbg_fit_matches_fader_hardie_2007_regular_customers() -> None:
    """Fader, P. S. & Hardie, B. G. S. (2007), "How to project customer retention", Journal of
    Interactive Marketing 21(1), 76-90: the "regular" segment, years 0-7, gives alpha = 0.668 and
    beta = 3.806 by maximum likelihood."""
    m = ShiftedBetaGeometric().fit(REGULAR)
    assert sig3(m.alpha_) == "0.668"
    assert sig3(m.beta_) == "3.81"
    assert m.beta_ == pytest.approx(3.806, abs=5e-4)


def test_sbg_fit_matches_fader_hardie_2007_high_end_customers() -> None:
    """Same paper, the "high end" segment: alpha = 0.704, beta = 1.182."""
    m = ShiftedBetaGeometric().fit(HIGH_END)
    assert sig3(m.alpha_) == "0.704"
    assert sig3(m.beta_) == "1.18"
    assert m.beta_ == pytest.approx(1.182, abs=5e-4)


def test_sbg_survival_and_retention_rates_follow_the_closed_forms() -> None:
    """S(1) = beta / (alpha + beta); r(t) = S(t) / S(t-1), rising with t."""
    m = ShiftedBetaGeometric().fit(REGULAR)
    a, b = m.alpha_, m.beta_
    assert m.survival(1) == pytest.approx(b / (a + b))
    s = m.survival(np.arange(10))
    np.testing.assert_allclose(m.retention_rate(np.arange(1, 10)), s[1:] / s[:-1])
    assert np.all(np.diff(m.retention_rate(np.arange(1, 10))) > 0)
    proj = m.projection(12)
    assert proj.projected_alive.iloc[0] == 1000
    assert np.isnan(proj.retention_rate.iloc[0])


def test_discounted_lifetimes_equal_their_series() -> None:
    """DEL(d) = sum_{t>=0} S(t)/(1+d)^t and DERL(d, n-1) = sum_{t>=n} S(t)/S(n-1)/(1+d)^(t-n)
    (Fader & Hardie 2010, Marketing Science 29(1)); the 2F1 closed forms must equal the sums."""
    m = ShiftedBetaGeometric().fit(REGULAR)
    d, t = 0.10, np.arange(4000)
    s = m.survival(t)
    assert m.discounted_expected_lifetime(d) == pytest.approx(np.sum(s / (1 + d) ** t))
    for n in (1, 2, 5):
        series = np.sum(s[n:] / s[n - 1] / (1 + d) ** (t[n:] - n))
        assert m.discounted_expected_residual_lifetime(d, n - 1) == pytest.approx(series)


def test_several_cohorts_fit_jointly() -> None:
    """Two copies of one cohort give the same parameters as one (the likelihood doubles)."""
    one = ShiftedBetaGeometric().fit(REGULAR)
    two = ShiftedBetaGeometric().fit([REGULAR, REGULAR[:5]])
    assert two.alpha_ == pytest.approx(one.alpha_, rel=0.2)
    assert two.n_accounts_ == 2000


def test_the_sbg_fit_refuses_counts_without_churn_or_increasing() -> None:
    with pytest.raises(IcploopError, match="no account churned"):
        ShiftedBetaGeometric().fit([100, 100, 100])
    with pytest.raises(IcploopError, match="must not increase"):
        ShiftedBetaGeometric().fit([100, 90, 95])


def test_simple_ltv_is_undefined_at_zero_churn() -> None:
    """LTV = 1,000 x 0.8 / 0.02 = 40,000; None at zero churn; payback = 2,400 / (1,000 x 0.8) = 3."""
    assert simple_ltv(1000, 0.8, 0.02) == pytest.approx(40_000)
    assert simple_ltv(1000, 0.8, 0.0) is None
    assert cac_payback(2400, 1000, 0.8) == pytest.approx(3.0)
    with pytest.raises(IcploopError):
        simple_ltv(1000, 1.5, 0.1)

"""The shifted-beta-geometric (sBG) model of contractual retention, and the simple LTV formula.

Fader, P. S. and Hardie, B. G. S. (2007), "How to project customer retention", Journal of
Interactive Marketing 21(1): each account churns at each renewal with its own probability theta,
theta ~ Beta(alpha, beta) across accounts, so the cohort retention rate rises with tenure as the
churn-prone leave. Discounted lifetimes follow Fader and Hardie (2010), "Customer-base valuation in
a contractual setting: the perils of ignoring heterogeneity", Marketing Science 29(1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import betaln, hyp2f1

from icploop.errors import IcploopError


def _cohorts(alive: Sequence[int] | Sequence[Sequence[int]]) -> list[NDArray[np.float64]]:
    if len(alive) == 0:
        raise IcploopError("no survivor counts given", "pass N0,N1,...,Nk with N0 > 0")
    first = alive[0]
    nested = isinstance(first, Sequence | np.ndarray)
    raw = list(alive) if nested else [alive]
    out = []
    for seq in raw:
        arr = np.asarray(seq, dtype="float64")
        if arr.ndim != 1 or arr.size == 0 or arr[0] <= 0:
            raise IcploopError("a cohort needs survivor counts N0 > 0, N1, ... (period 0 first)")
        if np.any(np.diff(arr) > 0) or np.any(arr < 0):
            raise IcploopError(
                "survivor counts must not increase from one period to the next",
                "give the number of the original accounts still active at each period",
            )
        out.append(arr)
    return out


class ShiftedBetaGeometric:
    """The sBG model, fitted by maximum likelihood on log parameters (fitter shape).

    Fitted attributes: ``alpha_``, ``beta_``, ``log_likelihood_``, ``n_accounts_``,
    ``n_periods_`` (longest observation, in periods), ``n0_`` (size of the first cohort).
    Periods are whatever the counts are in (months or years); rates and lifetimes are per period.
    """

    def __init__(self, initial: tuple[float, float] = (1.0, 1.0), tol: float = 1e-10) -> None:
        self.initial = initial
        self.tol = tol

    @staticmethod
    def sufficient_counts(
        cohorts: Sequence[NDArray[np.float64]],
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Accounts lost in each period t = 1..T_max, and survivors last seen at each T = 0..T_max.

        Summed over cohorts; the likelihood depends on the data only through these two arrays.
        """
        t_max = max(arr.size for arr in cohorts) - 1
        lost = np.zeros(t_max + 1)
        last = np.zeros(t_max + 1)
        for arr in cohorts:
            lost[1 : arr.size] += arr[:-1] - arr[1:]
            last[arr.size - 1] += arr[-1]
        return lost, last

    @classmethod
    def log_likelihood(
        cls, alpha: float, beta: float, cohorts: Sequence[NDArray[np.float64]]
    ) -> float:
        """Sum over cohorts of sum_t n_t ln P(T=t) + n_T ln S(T) (Fader & Hardie 2007, eq. 5)."""
        return cls._ll(alpha, beta, *cls.sufficient_counts(cohorts))

    @staticmethod
    def _ll(
        alpha: float, beta: float, lost: NDArray[np.float64], last: NDArray[np.float64]
    ) -> float:
        t = np.arange(lost.size, dtype="float64")
        base = betaln(alpha, beta)
        p = betaln(alpha + 1, beta + t[1:] - 1) - base
        s = betaln(alpha, beta + t) - base
        return float(np.dot(lost[1:], p) + np.dot(last, s))

    def fit(self, alive: Sequence[int] | Sequence[Sequence[int]]) -> ShiftedBetaGeometric:
        """Fit to one cohort's survivors per period (N0, N1, ..., period 0 first) or to several.

        Several cohorts are given as a sequence of such sequences, each as long as it was observed.
        Raises :class:`IcploopError` for empty or increasing counts, or when no account churned
        (the likelihood then has no maximum: theta -> 0).
        """
        cohorts = _cohorts(alive)
        if all(arr[-1] == arr[0] for arr in cohorts):
            raise IcploopError(
                "no account churned in the counts given, so the sBG model cannot be fitted",
                "fit on a cohort observed long enough to see some churn",
            )

        lost, last = self.sufficient_counts(cohorts)

        def nll(x: NDArray[np.float64]) -> float:
            return -self._ll(float(np.exp(x[0])), float(np.exp(x[1])), lost, last)

        x0 = np.log(np.asarray(self.initial, dtype="float64"))
        # a quasi-Newton run finds the basin fast; Nelder-Mead then polishes without gradients
        # bounded: without heterogeneity the likelihood keeps rising as alpha, beta -> infinity
        # with a fixed ratio; e^12 is far into that homogeneous (geometric) limit
        bounds = [(-12.0, 12.0), (-12.0, 12.0)]
        res = minimize(nll, x0, method="L-BFGS-B", bounds=bounds)
        opts = {"xatol": self.tol, "fatol": self.tol, "maxiter": 4000}
        res = minimize(nll, res.x, method="Nelder-Mead", options=opts, bounds=bounds)
        self.alpha_ = float(np.exp(res.x[0]))
        self.beta_ = float(np.exp(res.x[1]))
        self.log_likelihood_ = -float(res.fun)
        self.n_accounts_ = int(sum(arr[0] for arr in cohorts))
        self.n_periods_ = int(max(arr.size for arr in cohorts) - 1)
        self.n0_ = float(cohorts[0][0])
        return self

    def survival(self, t: ArrayLike) -> NDArray[np.float64]:
        """S(t) = B(alpha, beta + t) / B(alpha, beta): share still active after t periods."""
        t = np.asarray(t, dtype="float64")
        return np.exp(betaln(self.alpha_, self.beta_ + t) - betaln(self.alpha_, self.beta_))

    def retention_rate(self, t: ArrayLike) -> NDArray[np.float64]:
        """r(t) = (beta + t - 1) / (alpha + beta + t - 1), t >= 1: share of period t-1's active."""
        t = np.asarray(t, dtype="float64")
        return (self.beta_ + t - 1) / (self.alpha_ + self.beta_ + t - 1)

    def projected_alive(self, horizon: int, n0: float | None = None) -> NDArray[np.float64]:
        """Expected survivors at periods 0..horizon of a cohort of ``n0`` (default the first)."""
        return (self.n0_ if n0 is None else n0) * self.survival(np.arange(horizon + 1))

    def discounted_expected_lifetime(self, discount: float) -> float:
        """DEL(d) = sum_{t>=0} S(t)/(1+d)^t = 2F1(1, beta; alpha+beta; 1/(1+d)), in periods.

        Payment at the start of each period (period 0 included). ``discount`` is per period and
        must be > 0 (the undiscounted expected lifetime is infinite for alpha <= 1).
        """
        if discount <= 0:
            raise IcploopError("the discount rate per period must be greater than 0")
        a, b = self.alpha_, self.beta_
        return float(hyp2f1(1.0, b, a + b, 1.0 / (1.0 + discount)))

    def discounted_expected_residual_lifetime(self, discount: float, renewals: int) -> float:
        """DERL(d, n-1 renewals) for an account that has made ``renewals`` = n - 1 renewals.

        = (beta+n-1)/(alpha+beta+n-1) x 2F1(1, beta+n; alpha+beta+n; 1/(1+d)) (Fader & Hardie
        2010): the discounted number of further payments, the next one (due now) undiscounted.
        """
        if discount <= 0:
            raise IcploopError("the discount rate per period must be greater than 0")
        if renewals < 0:
            raise IcploopError("renewals must be 0 or more")
        a, b, n = self.alpha_, self.beta_, renewals + 1
        lead = (b + n - 1) / (a + b + n - 1)
        return float(lead * hyp2f1(1.0, b + n, a + b + n, 1.0 / (1.0 + discount)))

    def projection(self, horizon: int, n0: float | None = None) -> pd.DataFrame:
        """``period`` 0..horizon, ``survival``, ``projected_alive``, ``retention_rate`` (NaN at 0)."""
        t = np.arange(horizon + 1)
        rate = self.retention_rate(t).astype("float64")
        rate[0] = np.nan
        return pd.DataFrame(
            {
                "period": t,
                "survival": self.survival(t),
                "projected_alive": self.projected_alive(horizon, n0),
                "retention_rate": rate,
            }
        )

    @property
    def summary(self) -> pd.DataFrame:
        """One row per parameter: ``parameter``, ``estimate``; plus the log-likelihood."""
        return pd.DataFrame(
            {
                "parameter": ["alpha", "beta", "log_likelihood"],
                "estimate": [self.alpha_, self.beta_, self.log_likelihood_],
            }
        )


def simple_ltv(arpa: float, gross_margin: float, churn_rate: float) -> float | None:
    """LTV = ARPA x gross margin / churn rate (ARPA and churn in the same period unit).

    Returns None at zero churn (the formula is undefined there: an infinite lifetime); raises
    :class:`IcploopError` for negative inputs or a margin above 1.
    """
    if arpa < 0 or churn_rate < 0 or not 0 <= gross_margin <= 1:
        raise IcploopError("ARPA and churn must be >= 0 and gross margin within 0..1")
    if churn_rate == 0:
        return None
    return arpa * gross_margin / churn_rate


def cac_payback(cac: float, arpa: float, gross_margin: float) -> float | None:
    """Periods to recover CAC = CAC / (ARPA x gross margin); None when the margin earned is 0."""
    earned = arpa * gross_margin
    return None if earned <= 0 else cac / earned

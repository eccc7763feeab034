"""Cox proportional-hazards model of time to churn on account dimensions (via lifelines).

Covariates are one-hot encoded dimensions (the most common level of each is the reference). The
engine returns counts per covariate pattern, duration and event; lifelines fits with those counts
as frequency weights, which gives the estimates of one row per account.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence

import pandas as pd
from lifelines import CoxPHFitter
from lifelines.statistics import proportional_hazard_test

from icploop.ingest.paying import DEFAULT_SETTINGS, MovementSettings
from icploop.metrics.survival import duration_counts
from icploop.metrics.tables import CanonicalTables


def one_hot(frame: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Dummy columns ``dim=value`` for each covariate, dropping its most common level."""
    parts = []
    for cov in covariates:
        values = frame[cov].astype(str)
        reference = values.value_counts().sort_index().idxmax()
        for level in sorted(values.unique()):
            if level != reference:
                parts.append((values == level).astype("float64").rename(f"{cov}={level}"))
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)


class CoxModel:
    """Cox PH model of months to churn; fitter shape (settings here, ``fit`` returns self).

    Fitted attributes: ``hazard_ratios_`` (``covariate``, ``hazard_ratio``, ``ci_lower``,
    ``ci_upper``, ``p_value``), ``concordance_`` (0.5 random), ``ph_test_`` (per covariate:
    test statistic and p-value of the Schoenfeld-residual test on rank time; p < 0.05 means the
    proportional-hazards assumption is doubtful: stratify or read KM curves instead),
    ``n_accounts_``, ``n_events_``, ``references_`` (reference level per covariate).
    """

    def __init__(self, penalizer: float = 0.0, alpha: float = 0.05) -> None:
        self.penalizer = penalizer
        self.alpha = alpha

    def fit_counts(self, counts: pd.DataFrame, covariates: Sequence[str]) -> CoxModel:
        """Fit on a frame of (covariates..., ``duration``, ``event``, ``n``) counts."""
        counts = counts.reset_index(drop=True)
        # lifelines' Efron tie handling with weights differs slightly from one row per account,
        # so the (small) count table is expanded back to rows here, after the engine's grouping
        rows = counts.loc[counts.index.repeat(counts.n.astype("int64"))].reset_index(drop=True)
        data = pd.concat([one_hot(rows, covariates), rows[["duration", "event"]]], axis=1)
        data["event"] = data["event"].astype(int)
        cph = CoxPHFitter(penalizer=self.penalizer, alpha=self.alpha)
        with warnings.catch_warnings():
            # lifelines warns about low-variance or collinear dummies; the summary shows them
            warnings.simplefilter("ignore")
            cph.fit(data, duration_col="duration", event_col="event")
            ph = proportional_hazard_test(cph, data, time_transform="rank")
        s = cph.summary
        lo, hi = (
            [c for c in s.columns if c.startswith("exp(coef) lower")],
            [c for c in s.columns if c.startswith("exp(coef) upper")],
        )
        self.hazard_ratios_ = pd.DataFrame(
            {
                "covariate": s.index.astype(str),
                "hazard_ratio": s["exp(coef)"].to_numpy(),
                "ci_lower": s[lo[0]].to_numpy(),
                "ci_upper": s[hi[0]].to_numpy(),
                "p_value": s["p"].to_numpy(),
            }
        )
        self.concordance_ = float(cph.concordance_index_)
        self.ph_test_ = pd.DataFrame(
            {
                "covariate": ph.summary.index.astype(str),
                "test_statistic": ph.summary["test_statistic"].to_numpy(),
                "p_value": ph.summary["p"].to_numpy(),
            }
        )
        self.n_accounts_ = int(counts.n.sum())
        self.n_events_ = int(counts.n[counts.event.astype(bool)].sum())
        self.references_ = {
            c: str(counts.groupby(counts[c].astype(str)).n.sum().sort_index().idxmax())
            for c in covariates
        }
        self.lifelines_model_ = cph
        return self

    def fit(
        self,
        tables: CanonicalTables,
        as_of: dt.date,
        covariates: Sequence[str],
        settings: MovementSettings = DEFAULT_SETTINGS,
    ) -> CoxModel:
        """Fit on the accounts' durations with one-hot dimensions ``covariates`` as covariates."""
        counts = duration_counts(tables, as_of, covariates, settings)
        counts = counts.groupby([*covariates, "duration", "event"], as_index=False).n.sum()
        return self.fit_counts(counts, covariates)

    @property
    def summary(self) -> pd.DataFrame:
        """Hazard ratios with their intervals and the proportional-hazards test per covariate."""
        return self.hazard_ratios_.merge(
            self.ph_test_.rename(columns={"p_value": "ph_p_value"}), on="covariate", how="left"
        )

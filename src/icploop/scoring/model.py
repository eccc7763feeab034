"""The fit model: gradient boosting on pre-close attributes, calibrated, with per-account reasons.

``FitModel`` follows the fitter shape: settings in the constructor, ``fit`` returns self, fitted
attributes end in ``_``. It predicts the probability of first-year churn; the fit score is the
calibrated probability of staying through the first year, on 0-100. Tiers A-D cut that
probability at quantiles of the training accounts (top 10% A, next 20% B, next 30% C, the rest D).

Explanations are honest and cheap: for each feature, the change in predicted churn when the
account's value is replaced by a typical one (the training median, or the most common category)
with everything else unchanged. They say what moves this account's risk, not why churn happens.

Calibration is Platt's (``sigmoid``) by default: it keeps the booster's ranking intact, so tiers
cut at quantiles hold their 10/20/30/40% shares and the reasons move smoothly; isotonic (or
``auto``: isotonic above 1,000 accounts) fits finer but turns the score into a few plateaus.

Training and prediction use one thread by default (``threads``): on a small shared machine the
thread pool's waiting costs more than it saves at these sizes; ``threads=None`` uses every core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from icploop.errors import IcploopError
from icploop.scoring.features import EXPOSURE_AT, FeatureSet, check_trainable

Floats = NDArray[np.float64]
TIER_SHARES = (("A", 0.10), ("B", 0.20), ("C", 0.30), ("D", 0.40))


def infer_features(frame: pd.DataFrame) -> FeatureSet:
    """A feature set of every column of ``frame``: numbers numeric, the rest categorical."""
    numeric = tuple(c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]))
    return FeatureSet(tuple(c for c in frame.columns if c not in numeric), numeric)


@dataclass
class Encoder:
    """Categorical values to integer codes (frequent values only; others and blanks missing)."""

    features: FeatureSet = field(default_factory=lambda: FeatureSet((), ()))
    max_categories: int = 60
    min_count: int = 5
    categories_: dict[str, list[str]] = field(default_factory=dict)
    medians_: dict[str, float] = field(default_factory=dict)
    modes_: dict[str, float] = field(default_factory=dict)

    def fit(self, frame: pd.DataFrame) -> Encoder:
        for name in self.features.categorical:
            counts = frame[name].dropna().astype(str).value_counts()
            kept = counts[counts >= self.min_count].head(self.max_categories)
            self.categories_[name] = sorted(kept.index)
            self.modes_[name] = (
                float(self.categories_[name].index(kept.index[0])) if len(kept) else np.nan
            )
        for name in self.features.numeric:
            median = pd.to_numeric(frame[name], errors="coerce").median()
            self.medians_[name] = float(median) if median == median else 0.0
        return self

    @property
    def mask(self) -> NDArray[np.bool_]:
        """Which columns of ``transform`` are categorical."""
        return np.array([name in self.categories_ for name in self.features.names], dtype=bool)

    def transform(self, frame: pd.DataFrame) -> Floats:
        """A float matrix in feature order: codes for categories, NaN for unknowns."""
        cols = []
        for name in self.features.names:
            if name in self.categories_:
                lookup = {v: float(i) for i, v in enumerate(self.categories_[name])}
                values = frame[name].astype(str).map(lookup)  # blanks -> 'nan' -> NaN
                cols.append(values.to_numpy(dtype="float64"))
            else:
                cols.append(pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype="float64"))
        return np.column_stack(cols) if cols else np.empty((len(frame), 0))

    def reference(self) -> Floats:
        """A typical account: the most common category of each attribute and the medians."""
        ref = []
        for name in self.features.names:
            ref.append(self.modes_[name] if name in self.categories_ else self.medians_[name])
        return np.asarray(ref, dtype="float64")

    def describe(self, name: str, code: float) -> str:
        if name in self.categories_:
            if code != code:
                return "(other or missing)"
            return self.categories_[name][int(code)]
        return "(missing)" if code != code else f"{code:g}"


@dataclass
class FitModel:
    """Calibrated gradient boosting predicting first-year churn from pre-close attributes."""

    max_iter: int = 100
    learning_rate: float = 0.05
    max_leaf_nodes: int = 6
    min_samples_leaf: int = 40
    l2_regularization: float = 1.0
    calibration: Literal["auto", "isotonic", "sigmoid"] = "sigmoid"
    random_state: int = 0
    threads: int | None = 1
    encoder_: Encoder = field(default_factory=Encoder)
    features_: FeatureSet = field(default_factory=lambda: FeatureSet((), ()))
    target_: str = "first-year churn"
    model_: Any = None
    tier_cuts_: tuple[float, ...] = ()
    reference_: Floats = field(default_factory=lambda: np.empty(0))
    n_train_: int = 0
    base_rate_: float = 0.0

    def fit(
        self,
        frame: pd.DataFrame,
        churned: pd.Series | NDArray[Any],
        features: FeatureSet | None = None,
        target: str = "first-year churn",
    ) -> FitModel:
        """Train on the ``features`` of ``frame`` (default: every column) and ``churned`` (1 =
        the bad event of ``target``, missing = unknown and left out)."""
        features = features or infer_features(frame)
        y = np.asarray(churned, dtype="float64")
        known = ~np.isnan(y)
        frame, y = frame.loc[known], y[known].astype(int)
        check_trainable(len(y), int(y.sum()), target)
        self.features_ = features
        self.target_ = target
        self.encoder_ = Encoder(features).fit(frame)
        x = self.encoder_.transform(frame)
        mask = self.encoder_.mask
        booster = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            categorical_features=mask,
            random_state=self.random_state,
        )
        method = self.calibration
        if method == "auto":
            method = "isotonic" if len(y) > 1000 else "sigmoid"
        with threadpool_limits(self.threads):
            # one booster on all rows, calibrated on 3-fold out-of-fold predictions: a third of
            # the prediction cost of averaging three calibrated boosters
            # shuffled folds: rows come ordered by account, which often follows the close date,
            # and contiguous folds of a time-like feature (the months observed) would calibrate
            # on extrapolations and can turn the scores upside down
            folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=self.random_state)
            self.model_ = CalibratedClassifierCV(booster, method=method, cv=folds, ensemble=False)
            self.model_.fit(x, y)
        self.reference_ = self.encoder_.reference()
        fit_p = 1.0 - self._predict(x)
        cuts, share = [], 0.0
        for _tier, tier_share in TIER_SHARES[:-1]:
            share += tier_share
            cuts.append(float(np.quantile(fit_p, 1.0 - share)))
        self.tier_cuts_ = tuple(cuts)
        self.n_train_ = len(y)
        self.base_rate_ = float(y.mean())
        return self

    def _predict(self, x: Floats) -> Floats:
        if self.model_ is None:
            raise IcploopError("the fit model is not trained", "run `icploop model train` first")
        with threadpool_limits(self.threads):
            return np.asarray(self.model_.predict_proba(x)[:, 1], dtype="float64")

    def churn_probability(self, frame: pd.DataFrame) -> Floats:
        """Calibrated probability of the bad event (first-year churn by default), per row."""
        return self._predict(self.encoder_.transform(self._inputs(frame)))

    def _inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with every feature (absent ones missing; the exposure, when absent, at the
        months a lead is scored as observed for)."""
        out = frame.copy()
        for name in self.features_.names:
            if name not in out.columns:
                out[name] = EXPOSURE_AT if name == self.features_.exposure else np.nan
        return out

    def tiers(self, fit_probability: Floats) -> NDArray[Any]:
        """Tier A-D of each fit probability by the training cut points."""
        labels = np.full(len(fit_probability), "D", dtype=object)
        for (tier, _share), cut in reversed(list(zip(TIER_SHARES, self.tier_cuts_, strict=False))):
            labels[fit_probability >= cut] = tier
        return labels

    def score(self, frame: pd.DataFrame, reasons: int = 3) -> pd.DataFrame:
        """Per row: ``fit_score`` (0-100), ``fit_tier``, ``churn_probability`` and ``reasons``.

        ``reasons`` (the number of top reasons, 0 for none) are the features that move this row's
        churn risk most against a typical account, e.g. ``seats 22: churn risk +9 pts``.
        """
        x = self.encoder_.transform(self._inputs(frame))
        p = self._predict(x)
        out = pd.DataFrame(index=frame.index)
        out["fit_score"] = np.round(100 * (1 - p), 1)
        out["fit_tier"] = self.tiers(1 - p)
        out["churn_probability"] = np.round(p, 4)
        if reasons:
            out["reasons"] = self._reasons(x, p, reasons)
        return out

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per row and feature: churn probability minus that with the feature set to typical."""
        x = self.encoder_.transform(self._inputs(frame))
        return pd.DataFrame(
            self._deltas(x, self._predict(x)), columns=list(self.features_.names), index=frame.index
        )

    def _deltas(self, x: Floats, p: Floats) -> Floats:
        deltas = np.zeros_like(x)
        names = self.features_.names
        for j in range(x.shape[1]):
            if names[j] == self.features_.exposure:
                continue  # how long an account was observed is no reason about the account
            ref = self.reference_[j]
            rows = ~((x[:, j] == ref) | (np.isnan(x[:, j]) & np.isnan(ref)))
            if not rows.any():
                continue
            moved = x[rows].copy()
            moved[:, j] = ref
            deltas[rows, j] = p[rows] - self._predict(moved)
        return deltas

    def _reasons(self, x: Floats, p: Floats, top: int) -> list[str]:
        deltas = self._deltas(x, p)
        order = np.argsort(-np.abs(deltas), axis=1)[:, :top]
        texts = []
        for i in range(len(x)):
            parts = []
            for j in order[i]:
                d = deltas[i, j]
                if abs(d) < 0.005:
                    continue
                name = self.features_.names[j]
                value = self.encoder_.describe(name, x[i, j])
                parts.append(f"{name} {value}: churn risk {100 * d:+.0f} pts")
            texts.append("; ".join(parts))
        return texts

    def summary(self) -> pd.DataFrame:
        """Training size, base rate and the tier cut points on fit probability."""
        rows = [("accounts", float(self.n_train_)), ("event_rate", self.base_rate_)]
        rows += [
            (f"tier_{tier}_min_fit_probability", cut)
            for (tier, _), cut in zip(TIER_SHARES, self.tier_cuts_, strict=False)
        ]
        return pd.DataFrame(rows, columns=["parameter", "value"])

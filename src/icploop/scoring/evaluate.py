"""Honest evaluation on a time split: the fit model against the scores a team uses today.

Train on older close cohorts, test on newer ones (never a random split: the question is whether
last year's lessons hold for this year's deals). For each score: AUC for first-year churn with a
bootstrap interval, Brier score beside the base-rate Brier, calibration slope and intercept, and
the lift of the top decile of risk. The baselines are a win-propensity model (trained on won and
lost deals), the intent score and similarity to recent wins; each is judged as the team uses it
(a higher score means a better account), and mapped to a churn probability on the training
cohorts for the Brier score and calibration. The report says in one sentence which predicts
retention better, by how much, and says plainly when the model shows no skill.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import fisher_exact
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from icploop.errors import IcploopError
from icploop.metrics.calendar import add_months
from icploop.scoring.features import (
    TARGETS,
    FeatureSet,
    Target,
    check_trainable,
    model_features,
)
from icploop.scoring.model import Encoder, FitModel

Floats = NDArray[np.float64]
OUTCOME = "first_year_churn"
TEST_SHARE = 0.4
MODEL = "fit model"
LOGISTIC = "logistic regression"
WIN = "win propensity"
INTENT = "intent score"
SIMILARITY = "similarity to recent wins"
#: the deal's own terms are set while winning it: a win-propensity model leaves them out
DEAL_TERMS = ("discount", "deal_amount")


def auc(y: Floats, risk: Floats) -> float:
    """Area under the ROC curve of ``risk`` for ``y`` (ties count half), by ranks."""
    churned = np.asarray(y, dtype=bool)
    pos = int(churned.sum())
    neg = len(churned) - pos
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = pd.Series(risk).rank(method="average").to_numpy()
    return float((ranks[churned].sum() - pos * (pos + 1) / 2) / (pos * neg))


def bootstrap_auc(y: Floats, risk: Floats, n: int = 400, seed: int = 0) -> tuple[float, float]:
    """95% percentile bootstrap interval of the AUC (accounts resampled with replacement)."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        values.append(auc(y[idx], risk[idx]))
    lo, hi = np.nanpercentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def calibration_line(y: Floats, p: Floats) -> tuple[float, float]:
    """Slope and intercept of a logistic regression of ``y`` on logit(``p``) (1 and 0 = perfect)."""
    q = np.clip(p, 1e-4, 1 - 1e-4)
    logit = np.log(q / (1 - q)).reshape(-1, 1)
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(logit, y.astype(int))
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def calibration_table(y: Floats, p: Floats, bins: int = 10) -> pd.DataFrame:
    """Accounts in deciles of predicted risk: mean predicted against observed churn."""
    order = pd.qcut(pd.Series(p).rank(method="first"), bins, labels=False)
    frame = pd.DataFrame({"bin": order + 1, "predicted": p, "observed": y})
    return (
        frame.groupby("bin")
        .agg(
            accounts=("observed", "size"),
            predicted=("predicted", "mean"),
            observed=("observed", "mean"),
        )
        .reset_index()
    )


def top_decile_lift(y: Floats, risk: Floats) -> float:
    """Churn rate among the 10% highest-risk accounts over the overall rate."""
    k = max(1, round(0.1 * len(y)))
    top = np.argsort(-risk, kind="stable")[:k]
    base = float(np.mean(y))
    return float(np.mean(y[top]) / base) if base > 0 else float("nan")


@dataclass(frozen=True)
class ScoreMetrics:
    """How well one score predicts first-year churn on the test cohorts."""

    name: str
    auc: float
    auc_lo: float
    auc_hi: float
    brier: float
    base_brier: float
    calibration_slope: float
    calibration_intercept: float
    top_decile_lift: float


def measure(name: str, y: Floats, risk: Floats, probability: Floats) -> ScoreMetrics:
    """All metrics of one score: ``risk`` ranks (higher = more churn), ``probability`` calibrated."""
    lo, hi = bootstrap_auc(y, risk)
    slope, intercept = calibration_line(y, probability)
    base = float(np.mean(y))
    return ScoreMetrics(
        name=name,
        auc=auc(y, risk),
        auc_lo=lo,
        auc_hi=hi,
        brier=float(np.mean((probability - y) ** 2)),
        base_brier=base * (1 - base),
        calibration_slope=slope,
        calibration_intercept=intercept,
        top_decile_lift=top_decile_lift(y, risk),
    )


@dataclass(frozen=True)
class Evaluation:
    """The comparison on the time split. ``metrics``: one row per score, the model first."""

    split_date: dt.date | None
    train_accounts: int
    test_accounts: int
    test_from: dt.date | None
    test_to: dt.date | None
    base_rate: float
    metrics: pd.DataFrame
    calibration: pd.DataFrame
    tiers: pd.DataFrame
    has_skill: bool
    beats_baselines: bool
    sentence: str
    tiers_monotone: bool
    tier_sentence: str
    caveats: tuple[str, ...] = field(default=())
    target: str = "churn_12m"
    target_description: str = "first-year churn"

    def row(self, name: str) -> pd.Series:
        return self.metrics[self.metrics["score"] == name].iloc[0]


def default_split(close_dates: pd.Series, test_share: float = TEST_SHARE) -> dt.date:
    """The first day of the quarter nearest the date that leaves ``test_share`` newest accounts."""
    days = pd.to_datetime(close_dates).sort_values()
    cut = days.iloc[int(len(days) * (1 - test_share))]
    quarter = pd.Timestamp(cut.year, 3 * ((cut.month - 1) // 3) + 1, 1)
    return quarter.date()


def _platt(train_score: Floats, train_y: Floats, test_score: Floats) -> Floats:
    """The score mapped to a churn probability by a logistic fit on the training cohorts."""
    fill = float(np.nanmedian(train_score)) if np.isfinite(train_score).any() else 0.0
    a = np.nan_to_num(train_score, nan=fill).reshape(-1, 1)
    b = np.nan_to_num(test_score, nan=fill).reshape(-1, 1)
    lr = LogisticRegression(max_iter=1000).fit(a, train_y.astype(int))
    return np.asarray(lr.predict_proba(b)[:, 1], dtype="float64")


def logistic_baseline(
    train: pd.DataFrame, y_train: Floats, test: pd.DataFrame, features: FeatureSet
) -> Floats:
    """P(event) of each test row from a plain logistic regression on the same features:
    categories one-hot (values seen fewer than 5 times pooled, blanks a value of their own),
    numbers standardised with the median for blanks. The baseline a careful analyst would fit
    by hand, so the model's gain over it is visible."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cats, nums = list(features.categorical), list(features.numeric)

    def prepared(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame[[*cats, *nums]].copy()
        for c in cats:
            out[c] = out[c].astype("string").fillna("(missing)").astype(str)
        for c in nums:
            out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
        return out

    parts: list[tuple[str, Any, list[str]]] = []
    if cats:
        onehot = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5)
        parts.append(("categories", onehot, cats))
    if nums:
        scaled = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        parts.append(("numbers", scaled, nums))
    model = make_pipeline(ColumnTransformer(parts), LogisticRegression(max_iter=2000))
    with threadpool_limits(1):
        model.fit(prepared(train), y_train.astype(int))
        return np.asarray(model.predict_proba(prepared(test))[:, 1], dtype="float64")


def win_propensity(
    deals: pd.DataFrame, split: dt.date, frame: pd.DataFrame, features: FeatureSet
) -> Floats:
    """P(win) of each row of ``frame`` from a model of won/lost deals closed before ``split``,
    on the features a deal has before it is won (not its discount or amount)."""
    past = deals[pd.to_datetime(deals["close_date"]) < pd.Timestamp(split)]
    usable = [
        f
        for f in features.attributes
        if f in deals.columns and f not in DEAL_TERMS and past[f].nunique() > 1
    ]
    kept = FeatureSet(
        tuple(f for f in usable if f in features.categorical),
        tuple(f for f in usable if f in features.numeric),
    )
    if past["won"].nunique() < 2 or not kept.names:
        return np.full(len(frame), np.nan)
    encoder = Encoder(kept).fit(past)
    model = HistGradientBoostingClassifier(
        max_iter=100, max_leaf_nodes=6, min_samples_leaf=40, categorical_features=encoder.mask
    )
    with threadpool_limits(1):
        model.fit(encoder.transform(past), past["won"].to_numpy())
        return np.asarray(model.predict_proba(encoder.transform(frame))[:, 1])


def similarity_to_recent_wins(
    wins: pd.DataFrame,
    split: dt.date,
    frame: pd.DataFrame,
    features: FeatureSet,
    months: int = 12,
) -> Floats:
    """Lookalike score: per attribute, the share of wins of the ``months`` before ``split`` that
    share the row's value (numbers by quintile of those wins), averaged over attributes."""
    closes = pd.to_datetime(wins["close_date"])
    start = pd.Timestamp(add_months(split, -months))
    recent = wins[(closes < pd.Timestamp(split)) & (closes >= start)]
    if recent.empty:
        return np.full(len(frame), np.nan)
    parts = []
    for name in features.attributes:
        if name not in recent.columns:
            continue
        if name in features.numeric:
            ref = pd.to_numeric(recent[name], errors="coerce").dropna()
            if ref.nunique() < 2:
                continue
            edges = np.unique(np.quantile(ref, [0.2, 0.4, 0.6, 0.8]))
            bins_ref = np.searchsorted(edges, ref, side="right")
            shares = np.bincount(bins_ref, minlength=len(edges) + 1) / len(ref)
            v = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype="float64")
            share = shares[np.searchsorted(edges, np.nan_to_num(v), side="right")]
            parts.append(np.where(np.isnan(v), 0.0, share))
        else:
            shares_c = recent[name].astype(str).value_counts(normalize=True)
            parts.append(frame[name].astype(str).map(shares_c).fillna(0.0).to_numpy())
    if not parts:
        return np.full(len(frame), np.nan)
    return np.mean(parts, axis=0)


def held_out(
    labelled: pd.DataFrame, target: Target, split: dt.date | None, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, dt.date | None]:
    """Training and held-out rows: by close date (the newest ``TEST_SHARE``, or from ``split``)
    for a ``time`` target, else a seeded random ``TEST_SHARE`` of the rows, drawn within each
    outcome so both sides keep its rate (a snapshot has no later cohort to test on)."""
    if target.split == "time" or split is not None:
        split = split or default_split(labelled["close_date"])
        closes = pd.to_datetime(labelled["close_date"])
        return (
            labelled[closes < pd.Timestamp(split)],
            labelled[closes >= pd.Timestamp(split)],
            split,
        )
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labelled), dtype=bool)
    y = labelled[target.label].to_numpy()
    for value in np.unique(y):
        rows = np.flatnonzero(y == value)
        test[rng.choice(rows, round(TEST_SHARE * len(rows)), replace=False)] = True
    return labelled[~test], labelled[test], None


def evaluate(
    history: pd.DataFrame,
    deals: pd.DataFrame,
    split: dt.date | None = None,
    model: FitModel | None = None,
    features: FeatureSet | None = None,
    target: Target = TARGETS["churn_12m"],
) -> Evaluation:
    """Train on some labelled rows, test on the held-out rest (``held_out``: the newest closes
    for churn_12m and activation, a random share of a snapshot), and compare the model with a
    logistic regression on the same features and, where their columns exist, the scores a team
    uses today (win propensity from ``deals``, the intent score, similarity to recent wins).

    ``history`` holds the ``features`` (default: ``model_features``, from the catalogue) and the 0/1
    ``target.label``; ``deals`` is :func:`icploop.scoring.features.deal_history` (won and lost).
    Raises ``IcploopError`` saying why when there is too little to train or test on.
    """
    label = target.label
    labelled = history[history[label].notna()]
    check_trainable(len(labelled), int(labelled[label].sum()), target.description)
    features = features or model_features(history, target, deals)
    train, test, split = held_out(labelled, target, split)
    if len(test) < 50 or test[label].nunique() < 2:
        where = f"closed on or after {split}" if split else "held out"
        raise IcploopError(
            f"too few test accounts {where} ({len(test)}, {int(test[label].sum())} with the event)",
            "choose an earlier split date or load more history",
        )
    y_train = train[label].to_numpy(dtype="float64")
    y = test[label].to_numpy(dtype="float64")
    fitted = (model or FitModel()).fit(train, y_train, features, target.description)
    p_model = fitted.churn_probability(test)

    rows = [measure(MODEL, y, p_model, p_model)]
    p_lr = logistic_baseline(train, y_train, test, features)
    rows.append(measure(LOGISTIC, y, p_lr, p_lr))
    scores: dict[str, tuple[Floats, Floats]] = {}
    won = deals[deals["won"] == 1] if "won" in deals.columns else deals.iloc[0:0]
    if split is not None and not deals.empty and deals["won"].nunique() == 2:
        scores[WIN] = (
            win_propensity(deals, split, train, features),
            win_propensity(deals, split, test, features),
        )
    if "intent_score" in train.columns and train["intent_score"].notna().any():
        scores[INTENT] = (
            pd.to_numeric(train["intent_score"], errors="coerce").to_numpy(dtype="float64"),
            pd.to_numeric(test["intent_score"], errors="coerce").to_numpy(dtype="float64"),
        )
    if split is not None and not won.empty:
        scores[SIMILARITY] = (
            similarity_to_recent_wins(won, split, train, features),
            similarity_to_recent_wins(won, split, test, features),
        )
    for name, (s_train, s_test) in scores.items():
        if np.isnan(s_test).all():
            continue
        fill = float(np.nanmedian(s_test))
        risk = -np.nan_to_num(s_test, nan=fill)
        rows.append(measure(name, y, risk, _platt(s_train, y_train, s_test)))
    metrics = pd.DataFrame(
        [
            {
                "score": r.name,
                "auc": r.auc,
                "auc_lo": r.auc_lo,
                "auc_hi": r.auc_hi,
                "brier": r.brier,
                "base_brier": r.base_brier,
                "calibration_slope": r.calibration_slope,
                "calibration_intercept": r.calibration_intercept,
                "top_decile_lift": r.top_decile_lift,
            }
            for r in rows
        ]
    )
    tiers = tier_table(test, fitted.tiers(1 - p_model), label)
    first = rows[0]
    has_skill = first.auc_lo > 0.5 and first.auc >= 0.55
    # the scores a team uses today; the logistic regression is reported beside them
    team = [r for r in rows[1:] if r.name != LOGISTIC]
    best = max(team, key=lambda r: r.auc) if team else None
    beats = has_skill and (best is None or first.auc_lo > best.auc)
    test_dates = pd.to_datetime(test["close_date"]) if "close_date" in test else None
    caveats = []
    if test[label].sum() < 30:
        caveats.append(f"only {int(test[label].sum())} events among the test accounts")
    if split is None:
        caveats.append(
            f"a snapshot: {TEST_SHARE:.0%} of the accounts, drawn at random (seeded), are held "
            "out; there is no later cohort to test on"
        )
    where = (
        f"on the {len(test):,} accounts closed from {split} to {test_dates.max().date()}"
        if split is not None and test_dates is not None
        else f"on {len(test):,} held-out accounts"
    )
    return Evaluation(
        split_date=split,
        train_accounts=len(train),
        test_accounts=len(test),
        test_from=test_dates.min().date() if test_dates is not None else None,
        test_to=test_dates.max().date() if test_dates is not None else None,
        base_rate=float(y.mean()),
        metrics=metrics,
        calibration=calibration_table(y, p_model),
        tiers=tiers,
        has_skill=has_skill,
        beats_baselines=beats,
        sentence=_sentence(rows, has_skill, beats, where, target.description),
        tiers_monotone=bool(np.all(np.diff(tiers["churn_rate"].to_numpy()) > 0)),
        tier_sentence=tier_sentence(tiers, target.event),
        caveats=tuple(caveats),
        target=target.name,
        target_description=target.description,
    )


def tier_table(
    test: pd.DataFrame, tiers: NDArray[np.object_], label: str = OUTCOME
) -> pd.DataFrame:
    """The event rate (``churn_rate``) of the test accounts by tier, and their 12-month NRR
    where the accounts have one (missing otherwise)."""
    frame = test.assign(tier=tiers)
    has_nrr = {"mrr_12m", "start_mrr"} <= set(frame.columns) and frame["mrr_12m"].notna().any()
    if not has_nrr:
        frame = frame.assign(mrr_12m=np.nan, start_mrr=np.nan)
    out = (
        frame.groupby("tier")
        .agg(
            accounts=(label, "size"),
            churn_rate=(label, "mean"),
            nrr_12m=("mrr_12m", "sum"),
            start=("start_mrr", "sum"),
        )
        .reindex(["A", "B", "C", "D"])
        .dropna(subset=["accounts"])
    )
    out["nrr_12m"] = (out["nrr_12m"] / out["start"]) if has_nrr else np.nan
    return out.drop(columns="start").reset_index()


def tier_sentence(tiers: pd.DataFrame, event: str = "first-year churn") -> str:
    """Whether the event (churn) rises from tier to tier; a reversal is named with its Fisher
    p-value."""
    rates = ", ".join(f"{r.tier} {r.churn_rate:.1%}" for r in tiers.itertuples())
    rows = list(tiers.itertuples())
    reversed_pairs = []
    for better, worse in itertools.pairwise(rows):
        if worse.churn_rate <= better.churn_rate:
            table = [
                [round(better.churn_rate * better.accounts), better.accounts],
                [round(worse.churn_rate * worse.accounts), worse.accounts],
            ]
            table = [[k, n - k] for k, n in table]
            _, p = fisher_exact(table)
            reversed_pairs.append(
                f"{better.tier} and {worse.tier} are not separated "
                f"({better.churn_rate:.1%} vs {worse.churn_rate:.1%}, Fisher p={p:.2g})"
            )
    if not reversed_pairs:
        return f"{event[0].upper()}{event[1:]} rises from tier to tier: {rates}."
    return f"{event[0].upper()}{event[1:]} by tier: {rates}; " + "; ".join(reversed_pairs) + "."


def _sentence(
    rows: list[ScoreMetrics], skill: bool, beats: bool, where: str, target: str = "first-year churn"
) -> str:
    m = rows[0]
    own = f"AUC {m.auc:.2f} (95% CI {m.auc_lo:.2f}-{m.auc_hi:.2f})"
    if not skill:
        return (
            f"The fit model shows no skill at predicting {target} {where}: {own}, "
            "no better than chance (0.50). Do not use its scores or tiers to qualify deals."
        )
    logistic = next((r for r in rows if r.name == LOGISTIC), None)
    beside = (
        f" A logistic regression on the same features reaches AUC {logistic.auc:.2f} "
        f"({logistic.auc_lo:.2f}-{logistic.auc_hi:.2f})."
        if logistic is not None
        else ""
    )
    team = sorted((r for r in rows[1:] if r.name != LOGISTIC), key=lambda r: -r.auc)
    if not team:
        return (
            f"The fit model predicts {target} {where} with {own}; no score the team uses "
            f"to compare.{beside}"
        )
    others = ", ".join(f"{r.auc:.2f} for {r.name}" for r in team)
    best = team[0]
    gap = m.auc - best.auc
    if beats:
        return (
            f"The fit model predicts {target} better than every score the team uses {where}: "
            f"{own} against {others}; that is {gap:+.2f} AUC over the best of them "
            f"({best.name}), and its top decile of risk had {m.top_decile_lift:.1f}x the base "
            f"rate.{beside}"
        )
    return (
        f"The fit model ({own}) does not clearly beat {best.name} ({best.auc:.2f}) at "
        f"predicting {target} {where} (difference {gap:+.2f}, within the model's interval); "
        f"scores the team uses: {others}.{beside}"
    )

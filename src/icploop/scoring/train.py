"""Training end to end, and scoring rows with both forms of the fit score.

``train_fit`` evaluates on the time split first (the honest numbers), then fits the model and the
points table on every account with a known first-year outcome (the versions people use).
``score_records`` adds the model's score, tier and reasons and the points table's points and tier
to rows in the accounts or deals layout.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from icploop.scoring.evaluate import Evaluation, evaluate
from icploop.scoring.features import (
    TARGETS,
    FeatureSet,
    Target,
    feature_frame,
    missing_features,
    model_features,
)
from icploop.scoring.model import FitModel
from icploop.scoring.points import PointsFitter, PointsTable

SCORE_COLUMNS = (
    "fit_score",
    "fit_tier",
    "churn_probability",
    "fit_points",
    "points_tier",
    "data_coverage",
    "reasons",
)
#: the tier of a row whose known attributes carry less than MIN_COVERAGE of the weight
INSUFFICIENT = "insufficient data"
MIN_COVERAGE = 0.5
TIERS = ("A", "B", "C", "D", INSUFFICIENT)


@dataclass(frozen=True)
class TrainedFit:
    """The model and points table fitted on all labelled accounts, and the held-out report."""

    model: FitModel
    points: PointsTable
    evaluation: Evaluation
    accounts: int
    as_of: dt.date
    target: Target
    features: FeatureSet


def train_fit(
    history: pd.DataFrame,
    deals: pd.DataFrame,
    as_of: dt.date,
    split: dt.date | None = None,
    model: FitModel | None = None,
    target: Target = TARGETS["churn_12m"],
    overrides: dict[str, str] | None = None,
) -> TrainedFit:
    """Choose the features from the attribute catalogue (``model_features``), evaluate on the
    held-out accounts, then fit both forms on every labelled account."""
    features = model_features(history, target, deals, overrides)
    history = history.copy()
    history[list(features.names)] = feature_frame(history, features)  # measures as numbers
    evaluation = evaluate(history, deals, split, model=model, features=features, target=target)
    labelled = history[history[target.label].notna()]
    x, y = labelled, labelled[target.label]
    final = (model or FitModel()).fit(x, y, features, target.description)
    points = PointsFitter().fit(x, y, features)
    return TrainedFit(final, points, evaluation, len(labelled), as_of, target, features)


def score_records(
    records: pd.DataFrame, model: FitModel, points: PointsTable, reasons: int = 3
) -> pd.DataFrame:
    """``records`` with :data:`SCORE_COLUMNS` added (existing columns of those names replaced).

    Features the records lack are scored as missing (``unscored_columns`` names them). A row
    whose known attributes carry less than ``MIN_COVERAGE`` of the points table's weight
    (``PointsTable.coverage``: a lead with the attributes that move the score blank) gets the
    tier ``insufficient data`` from both forms, no fit score and no probability: a tier made of
    blanks would read as a judgement."""
    features = feature_frame(records, model.features_)
    scored = model.score(features, reasons=reasons)
    pts = points.points(features)["points"]
    coverage = points.coverage(features)
    thin = coverage < MIN_COVERAGE
    out = records.drop(columns=[c for c in SCORE_COLUMNS if c in records.columns]).copy()
    out["fit_score"] = scored["fit_score"].mask(thin)
    out["fit_tier"] = scored["fit_tier"].where(~thin, INSUFFICIENT)
    out["churn_probability"] = scored["churn_probability"].mask(thin)
    out["fit_points"] = pts
    out["points_tier"] = points.tiers(pts).where(~thin, INSUFFICIENT)
    out["data_coverage"] = coverage.round(3)
    weighty = [a for a, w in points.weights().items() if w > 0]
    missing = [
        ", ".join(a for a in weighty if not _known(features, a, i)) for i in range(len(features))
    ]
    why = pd.Series(
        [f"insufficient data: blank {m}" for m in missing], index=records.index, dtype=object
    )
    out["reasons"] = (scored["reasons"] if reasons else pd.Series("", index=records.index)).where(
        ~thin, why
    )
    return out


def _known(features: pd.DataFrame, attribute: str, row: int) -> bool:
    if attribute not in features.columns:
        return False
    value = features[attribute].iloc[row]
    return not (
        value is None or (isinstance(value, float) and value != value) or str(value).strip() == ""
    )


def unscored_columns(records: pd.DataFrame, model: FitModel) -> list[str]:
    """The model's features that ``records`` do not provide (a warning for the person scoring)."""
    return missing_features(records, model.features_)

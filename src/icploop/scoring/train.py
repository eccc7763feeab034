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

from icploop.scoring.evaluate import OUTCOME, Evaluation, evaluate
from icploop.scoring.features import FEATURES, feature_frame
from icploop.scoring.model import FitModel
from icploop.scoring.points import PointsFitter, PointsTable

SCORE_COLUMNS = (
    "fit_score",
    "fit_tier",
    "churn_probability",
    "fit_points",
    "points_tier",
    "reasons",
)


@dataclass(frozen=True)
class TrainedFit:
    """The model and points table fitted on all labelled accounts, and the time-split report."""

    model: FitModel
    points: PointsTable
    evaluation: Evaluation
    accounts: int
    as_of: dt.date


def train_fit(
    history: pd.DataFrame,
    deals: pd.DataFrame,
    as_of: dt.date,
    split: dt.date | None = None,
    model: FitModel | None = None,
) -> TrainedFit:
    """Evaluate on the time split, then fit both forms on every labelled account."""
    evaluation = evaluate(history, deals, split, model=model)
    labelled = history[history[OUTCOME].notna()]
    x, y = labelled[list(FEATURES)], labelled[OUTCOME]
    final = (model or FitModel()).fit(x, y)
    points = PointsFitter().fit(x, y)
    return TrainedFit(final, points, evaluation, len(labelled), as_of)


def score_records(
    records: pd.DataFrame, model: FitModel, points: PointsTable, reasons: int = 3
) -> pd.DataFrame:
    """``records`` with :data:`SCORE_COLUMNS` added (existing columns of those names replaced)."""
    features = feature_frame(records)
    scored = model.score(features, reasons=reasons)
    pts = points.points(features)["points"]
    out = records.drop(columns=[c for c in SCORE_COLUMNS if c in records.columns]).copy()
    out["fit_score"] = scored["fit_score"]
    out["fit_tier"] = scored["fit_tier"]
    out["churn_probability"] = scored["churn_probability"]
    out["fit_points"] = pts
    out["points_tier"] = points.tiers(pts)
    out["reasons"] = scored["reasons"] if reasons else ""
    return out

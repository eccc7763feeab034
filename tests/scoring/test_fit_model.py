"""The retention-trained score against the baselines a team uses, on planted truth and null data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from icploop.scoring.evaluate import (
    INTENT,
    LOGISTIC,
    MODEL,
    WIN,
    auc,
    evaluate,
    tier_sentence,
    top_decile_lift,
)
from icploop.scoring.features import feature_frame
from icploop.scoring.train import TrainedFit


def test_the_retention_trained_score_beats_win_propensity_and_intent_on_the_time_split(
    trained: TrainedFit,
) -> None:
    ev = trained.evaluation
    model, win, intent = ev.row(MODEL), ev.row(WIN), ev.row(INTENT)
    # the intent trap: leads the vendor scores high (and that win more) churn more
    assert win["auc"] < 0.5 and intent["auc"] < 0.5
    assert model["auc_lo"] > 0.55
    assert model["auc"] - max(win["auc"], intent["auc"]) > 0.12
    assert ev.has_skill and ev.beats_baselines
    assert "better than every score the team uses" in ev.sentence
    assert f"{model['auc']:.2f}" in ev.sentence and "AUC over the best of them" in ev.sentence
    logistic = ev.row(LOGISTIC)  # the plain baseline on the same features, beside the model
    assert f"logistic regression on the same features reaches AUC {logistic['auc']:.2f}" in (
        ev.sentence
    )
    assert model["brier"] < model["base_brier"]
    assert ev.split_date.day == 1 and ev.split_date.month in (1, 4, 7, 10)


def test_the_tiers_separate_first_year_churn_monotonically_on_the_test_cohorts(
    trained: TrainedFit,
) -> None:
    tiers = trained.evaluation.tiers.set_index("tier")
    churn = tiers.loc[["A", "B", "C", "D"], "churn_rate"].to_numpy()
    assert np.all(np.diff(churn) > 0), churn
    assert trained.evaluation.tiers_monotone
    assert trained.evaluation.tier_sentence.startswith("First-year churn rises from tier to tier")
    assert tiers.loc["D", "churn_rate"] > 2.5 * tiers.loc["A", "churn_rate"]
    assert tiers.loc["A", "nrr_12m"] > tiers.loc["D", "nrr_12m"]


def test_on_a_null_company_the_model_claims_no_skill(null_inputs: dict[str, Any]) -> None:
    ev = evaluate(null_inputs["history"], null_inputs["deals"])
    model = ev.row(MODEL)
    assert abs(model["auc"] - 0.5) < 0.08
    assert model["auc_lo"] < 0.5 < model["auc_hi"]
    assert not ev.has_skill and not ev.beats_baselines
    assert "no skill" in ev.sentence and "Do not use" in ev.sentence


def test_reasons_name_the_seat_count_of_a_small_account_as_raising_risk(
    trained: TrainedFit, demo_inputs: dict[str, Any]
) -> None:
    history = demo_inputs["history"]
    small = history[history["seats_at_close"] < 25].head(30)
    scored = trained.model.score(small)
    # seats, deal amount and employees all measure size: the reason may name any of them
    size = r"(?:seats_at_close|deal_amount|employees) [\d.]+: churn risk \+"
    assert scored["reasons"].str.contains(size).mean() > 0.5
    contributions = trained.model.contributions(small)
    assert (contributions["seats_at_close"] > 0).mean() > 0.8


def test_scores_are_calibrated_probabilities_on_a_0_to_100_scale(trained: TrainedFit) -> None:
    rows = pd.DataFrame(
        {"seats_at_close": ["10", "400"], "industry": ["Software", "Software"], "amount": ["", ""]}
    )
    scored = trained.model.score(feature_frame(rows, trained.model.features_))
    assert scored["fit_score"].between(0, 100).all()
    assert np.allclose(scored["fit_score"], 100 * (1 - scored["churn_probability"]), atol=0.1)
    assert scored["fit_score"].iloc[1] > scored["fit_score"].iloc[0]


def test_a_reversal_between_tiers_is_named_with_its_p_value() -> None:
    tiers = pd.DataFrame(
        {
            "tier": list("ABCD"),
            "accounts": [100, 200, 300, 400],
            "churn_rate": [0.10, 0.07, 0.13, 0.31],
        }
    )
    sentence = tier_sentence(tiers)
    assert "A and B are not separated (10.0% vs 7.0%, Fisher p=" in sentence
    assert "C and D" not in sentence


def test_auc_and_lift_match_hand_counts() -> None:
    """y = 1,0,1,0 with risk 0.9,0.8,0.3,0.1: of the 4 (churned, stayed) pairs, the churned one
    ranks higher in 3 -> AUC 0.75. Ten accounts, one churned and ranked first: top-decile
    churn 1/1 over a base of 1/10 -> lift 10."""
    assert auc(np.array([1, 0, 1, 0.0]), np.array([0.9, 0.8, 0.3, 0.1])) == 0.75
    y = np.zeros(10)
    y[0] = 1
    assert top_decile_lift(y, -np.arange(10.0)) == 10.0

"""The measurement engine on planted data: an effect planted is found in the right direction,
no effect gives no significant change at about the nominal rate, and the lag and size rules
hold back a verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd

from icploop.alignment.measurement import (
    BETTER,
    NOT_YET,
    UNCLEAR,
    WORSE,
    Metric,
    compare,
    judge,
    measure,
)

CHURN = Metric("churn", "churn", "rate", "lower")
NRR = Metric("nrr", "nrr", "mean", "higher")


def _rates(rng: np.random.Generator, p: float, n: int) -> pd.Series:
    return pd.Series((rng.random(n) < p).astype(float))


def _means(rng: np.random.Generator, mean: float, n: int) -> pd.Series:
    return pd.Series(rng.normal(mean, 0.3, n))


def test_a_planted_fall_in_churn_and_rise_in_nrr_read_better() -> None:
    rng = np.random.default_rng(3)
    sides = {
        "churn": (_rates(rng, 0.10, 600), _rates(rng, 0.25, 600)),
        "nrr": (_means(rng, 1.10, 600), _means(rng, 1.00, 600)),
    }
    rows = measure([CHURN, NRR], sides, {"churn": False, "nrr": False})
    churn, nrr = rows
    assert churn["verdict"] == BETTER and churn["ci_high"] < 0
    assert churn["ci_low"] < -0.15 < churn["ci_high"]  # the planted -0.15 is inside
    assert churn["changed_low"] < 0.10 < churn["changed_high"]
    assert nrr["verdict"] == BETTER and nrr["ci_low"] < 0.10 < nrr["ci_high"]
    assert churn["shortfall"] is None and churn["events_changed"] == sides["churn"][0].sum()


def test_the_same_rise_in_churn_reads_worse() -> None:
    rng = np.random.default_rng(4)
    row = compare(CHURN, _rates(rng, 0.30, 600), _rates(rng, 0.15, 600))
    assert judge(row, too_early=False, min_accounts=30) == WORSE


def test_no_effect_is_rarely_significant() -> None:
    rng = np.random.default_rng(5)
    verdicts = []
    for _ in range(200):
        rows = measure(
            [CHURN, NRR],
            {
                "churn": (_rates(rng, 0.2, 300), _rates(rng, 0.2, 300)),
                "nrr": (_means(rng, 1.0, 300), _means(rng, 1.0, 300)),
            },
            {"churn": False, "nrr": False},
        )
        verdicts += [r["verdict"] for r in rows]
    significant = sum(v != UNCLEAR for v in verdicts) / len(verdicts)
    assert significant < 0.09  # 5% expected at the 95% level
    assert set(verdicts) <= {BETTER, WORSE, UNCLEAR}


def test_too_early_or_too_few_holds_the_verdict_back() -> None:
    rng = np.random.default_rng(6)
    strong = (_rates(rng, 0.05, 600), _rates(rng, 0.40, 600))
    early = measure([CHURN], {"churn": strong}, {"churn": True})[0]
    assert (early["verdict"], early["shortfall"]) == (NOT_YET, "too early")
    few = measure([CHURN], {"churn": (strong[0][:20], strong[1])}, {"churn": False})[0]
    assert (few["verdict"], few["shortfall"]) == (NOT_YET, "few changed")
    small_control = measure([CHURN], {"churn": (strong[0], strong[1][:20])}, {"churn": False})[0]
    assert (small_control["verdict"], small_control["shortfall"]) == (UNCLEAR, "few control")
    empty = compare(NRR, pd.Series(dtype=float), pd.Series(dtype=float))
    assert np.isnan(empty["changed"]) and np.isnan(empty["ci_low"])

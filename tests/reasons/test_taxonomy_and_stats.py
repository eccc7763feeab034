"""The taxonomy file is strict and overridable; the stratified statistics match hand-worked cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icploop.errors import IcploopError
from icploop.reasons.classify import ReasonClassifier
from icploop.reasons.stats import (
    benjamini_hochberg,
    mantel_haenszel,
    stratified_difference,
)
from icploop.reasons.taxonomy import load_taxonomy


def test_the_shipped_taxonomy_loads_with_the_demo_churn_reasons() -> None:
    from icploop.demo import vocab as V

    tax = load_taxonomy()
    assert set(V.CHURN_REASONS) <= set(tax.codes)
    assert set(V.LOST_REASONS) <= set(tax.codes)
    assert tax.resolve("Support").code == "support_quality"  # type: ignore[union-attr]
    assert tax.reason_of_category("integration") == "missing_integration"


def test_a_user_taxonomy_replaces_the_default(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "reasons:\n"
        "  - code: onboarding_failed\n"
        "    label: Onboarding failed\n"
        "    keywords: [onboarding (failed|never finished)]\n"
        "    examples: [they never finished setting up]\n"
    )
    tax = load_taxonomy(path)
    assert tax.codes == ("onboarding_failed",)
    clf = ReasonClassifier(tax).fit()
    assert clf.predict(["Onboarding never finished."])[0].reason == "onboarding_failed"
    assert clf.predict(["Budget frozen."])[0].reason is None


def test_a_broken_taxonomy_reports_every_problem_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "reasons:\n"
        "  - code: Bad Code\n"
        "  - code: ok\n"
        "    keywords: ['(unclosed']\n"
        "    colour: red\n"
        "  - code: ok\n"
    )
    with pytest.raises(IcploopError) as err:
        load_taxonomy(path)
    msg = err.value.message
    assert "snake_case" in msg and "not a valid pattern" in msg
    assert "unknown keys colour" in msg and "duplicate code" in msg


def test_the_mantel_haenszel_odds_ratio_matches_a_hand_worked_case() -> None:
    """Two strata. S1: a=10 b=20 c=5 d=40 (n=75); S2: a=6 b=10 c=4 d=30 (n=50).
    R = 10*40/75 + 6*30/50 = 5.3333 + 3.6 = 8.9333; S = 20*5/75 + 10*4/50 = 1.3333 + 0.8
    = 2.1333; OR = R / S = 4.1875."""
    rows = []
    for stratum, cells in (("s1", (10, 20, 5, 40)), ("s2", (6, 10, 4, 30))):
        a, b, c, d = cells
        for exp, churn, k in ((1, 1, a), (1, 0, b), (0, 1, c), (0, 0, d)):
            rows += [{"stratum": stratum, "churned": churn, "x": exp}] * k
    eff = mantel_haenszel(pd.DataFrame(rows), "x")
    assert eff.estimate == pytest.approx(8.9333333 / 2.1333333, rel=1e-6)
    assert eff.lo < eff.estimate < eff.hi
    assert eff.lo > 1 and eff.p_value < 0.01
    assert (eff.n_churned, eff.n_retained, eff.strata) == (25, 100, 2)


def test_the_stratified_difference_weights_strata_by_their_churned_accounts() -> None:
    """S1: churned [2, 4] (mean 3), retained [1, 1, 1] (mean 1): +2 with weight 2.
    S2: churned [5, 5, 8] (mean 6), retained [6, 6] (mean 6): 0 with weight 3.
    D = (2*2 + 3*0) / 5 = 0.8. Var: S1 2^2 * (2/2 + 0/3) = 4, S2 3^2 * (3/3 + 0/2) = 9;
    SE = sqrt(13) / 5 = 0.7211, so the interval is 0.8 +/- 1.96 * 0.7211."""
    frame = pd.DataFrame(
        {
            "stratum": ["s1"] * 5 + ["s2"] * 5,
            "churned": [1, 1, 0, 0, 0, 1, 1, 1, 0, 0],
            "v": [2, 4, 1, 1, 1, 5, 5, 8, 6, 6],
        }
    )
    eff = stratified_difference(frame, "v")
    assert eff.estimate == pytest.approx(0.8)
    assert eff.hi - 0.8 == pytest.approx(1.959964 * np.sqrt(13) / 5, rel=1e-5)


def test_benjamini_hochberg_matches_hand_worked_q_values() -> None:
    """p = (0.01, 0.04, 0.03, nan): sorted 0.01, 0.03, 0.04 -> 0.03, 0.045, 0.04 -> monotone
    0.03, 0.04, 0.04."""
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, np.nan]))
    assert q[:3] == pytest.approx([0.03, 0.04, 0.04])
    assert np.isnan(q[3])

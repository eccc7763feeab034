"""Thresholds on planted cuts (recovered inside the bootstrap interval) and on null data."""

from __future__ import annotations

import re
from dataclasses import replace

import ibis
import numpy as np
import pandas as pd
import pytest

from icploop.errors import IcploopError
from icploop.segments.thresholds import decide, find_threshold, round_ceiling, round_floor


def _seats_frame(seed: int, n: int, planted: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    seats = np.maximum(1, np.round(rng.lognormal(4.2, 0.8, n)))
    p = np.where(seats < 50, 0.30, 0.10) if planted else np.full(n, 0.15)
    return pd.DataFrame({"seats": seats, "churned": (rng.random(n) < p).astype(int)})


def test_planted_cut_is_inside_its_bootstrap_interval_and_the_permutation_p_is_small() -> None:
    frame = _seats_frame(seed=21, n=3000, planted=True)
    r = find_threshold(
        ibis.memtable(frame), "seats", "churned", unit="seats", horizon_phrase=" in year one"
    )
    assert r.cut_lo <= 50 <= r.cut_hi
    assert r.permutation_p <= 0.002
    assert r.worse_side == "below"
    assert r.ratio_lo <= 3.0 <= r.ratio_hi
    assert r.recommended is not None and r.recommended >= r.cut_hi
    assert re.match(rf"accounts under {r.cut:g} seats churn \d\.\dx more", r.recommendation)
    assert 45 <= r.cut <= 55
    assert "in year one (95% CI " in r.recommendation
    # the floor says where it comes from: the upper end of the cut's interval (50 here, a round
    # number already), rounded up to a round number when it is not (226 -> 250)
    assert r.recommendation.endswith(
        f"recommended floor: {r.recommended:g} seats (the upper end of the cut's 95% interval, "
        f"{r.cut_hi:g}" + (")" if r.recommended == r.cut_hi else ", rounded up to a round number)")
    )
    wider = decide(replace(r, cut_hi=226.0), r.adjusted_p, 1, 0.05)
    assert wider.recommended == 250
    assert wider.recommendation.endswith(
        "recommended floor: 250 seats (the upper end of the cut's 95% interval, 226, rounded up "
        "to a round number)"
    )


def test_null_data_rarely_gives_a_small_permutation_p() -> None:
    """No effect: the permutation p is uniform, so p <= 0.05 in at most 2 of 10 seeds
    (P(Binomial(10, 0.05) >= 3) = 0.012)."""
    small = 0
    for seed in range(10):
        frame = _seats_frame(seed=300 + seed, n=1500, planted=False)
        r = find_threshold(ibis.memtable(frame), "seats", "churned", seed=seed)
        small += r.permutation_p <= 0.05
        if r.permutation_p > 0.05:
            assert r.recommended is None and "no limit recommended" in r.recommendation
    assert small <= 2


def test_same_seed_same_result() -> None:
    table = ibis.memtable(_seats_frame(seed=5, n=1000, planted=True))
    a = find_threshold(table, "seats", "churned", seed=3, n_bootstrap=200, n_permutations=99)
    b = find_threshold(table, "seats", "churned", seed=3, n_bootstrap=200, n_permutations=99)
    assert (a.cut_lo, a.cut_hi, a.ratio_lo, a.permutation_p) == (
        b.cut_lo, b.cut_hi, b.ratio_lo, b.permutation_p,
    )  # fmt: skip


def test_a_ceiling_is_recommended_when_the_risk_is_above_the_cut() -> None:
    rng = np.random.default_rng(8)
    seats = np.round(rng.uniform(10, 500, 3000))
    churned = (rng.random(3000) < np.where(seats >= 300, 0.3, 0.1)).astype(int)
    table = ibis.memtable(pd.DataFrame({"seats": seats, "churned": churned}))
    r = find_threshold(table, "seats", "churned", unit="seats")
    assert r.worse_side == "above"
    assert r.recommended is not None and r.recommended <= r.cut_lo
    assert r.recommendation.endswith(
        f"recommended ceiling: {r.recommended:g} seats (the lower end of the cut's 95% interval, "
        f"{r.cut_lo:g}"
        + (")" if r.recommended == r.cut_lo else ", rounded down to a round number)")
    )


@pytest.mark.parametrize(
    ("x", "floor", "ceiling"),
    [(62, 65, 60), (70, 70, 70), (70.4, 75, 70), (1234, 1500, 1000), (8.2, 8.5, 8.0)],
)
def test_round_numbers_for_recommendations(x: float, floor: float, ceiling: float) -> None:
    assert round_floor(x) == pytest.approx(floor)
    assert round_ceiling(x) == pytest.approx(ceiling)


def test_a_constant_attribute_is_a_user_error() -> None:
    frame = pd.DataFrame({"seats": [10] * 200, "churned": [0, 1] * 100})
    with pytest.raises(IcploopError, match="no cut"):
        find_threshold(ibis.memtable(frame), "seats", "churned")


def test_a_discount_threshold_reads_as_a_percentage() -> None:
    """Deals discounted 30% or more churn 3x: the sentence speaks in percent, not fractions."""
    import ibis
    import numpy as np
    import pandas as pd

    from icploop.segments.thresholds import find_threshold

    rng = np.random.default_rng(3)
    discount = rng.uniform(0.0, 0.5, 3000).round(3)
    churn = (rng.random(3000) < np.where(discount >= 0.3, 0.36, 0.12)).astype(int)
    table = ibis.memtable(pd.DataFrame({"discount": discount, "churned": churn}))
    found = find_threshold(
        table,
        "discount",
        "churned",
        unit="discount",
        percent=True,
        n_bootstrap=200,
        n_permutations=199,
    )
    assert "% discount or more" in found.recommendation
    assert (
        "recommended ceiling" in found.recommendation
        and "0." not in found.recommendation.split(";")[1]
    )

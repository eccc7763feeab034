"""Segment search on planted truth (it must find it) and on null data (it must not)."""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest

from icploop.errors import IcploopError
from icploop.segments.search import search_segments

Maker = Callable[..., tuple[ir.Table, pd.DataFrame]]
ATTRS = ["industry", "region", "lead_source", "plan", "use_case"]  # as in conftest.CATEGORIES


def test_planted_segment_and_threshold_are_found_on_top_with_the_right_magnitude(
    accounts: Maker,
) -> None:
    table, frame = accounts(seed=11, n=6000)
    result = search_segments(table, "churned", ATTRS, ["seats_at_close"], depth=3)
    top = result.top(5, direction="worse")
    assert "industry = Retail" in set(top["segment"])
    row = top.set_index("segment").loc["industry = Retail"]
    retail = frame["industry"] == "Retail"
    true_ratio = frame.loc[retail, "p"].mean() / frame.loc[~retail, "p"].mean()
    assert row["direction"] == "higher"
    assert row["ratio_lo"] <= true_ratio <= row["ratio_hi"]
    assert row["rate_lo"] <= 0.30 <= row["rate_hi"]
    assert row["q_value"] < 1e-6
    seats = top[top["segment"].str.match(r"^seats_at_close < \d+$")]
    assert len(seats) >= 1
    cut = float(seats["segment"].iloc[0].split("< ")[1])
    assert 35 <= cut <= 75


def test_irrelevant_conditions_are_folded_into_their_parent(accounts: Maker) -> None:
    table, _ = accounts(seed=12, n=6000)
    result = search_segments(table, "churned", ATTRS, ["seats_at_close"], depth=2)
    assert result.n_folded > 0
    children = result.segments[
        result.segments["segment"].str.contains(
            "industry = Retail AND region|region = .* AND industry = Retail"
        )
    ]
    # 4 regions: each "Retail AND region = r" has Retail's rate; at most one survives by chance
    assert len(children) <= 1


def test_null_data_gives_a_finding_in_at_most_3_of_20_seeds(accounts: Maker) -> None:
    """Under the global null BH keeps the chance of any q < 0.05 at about 5% or less; with 20
    runs, 3 or more is already unlikely (P(Binomial(20, 0.05) >= 4) = 0.016), so the bound
    is <= 3 of 20."""
    hits = 0
    for seed in range(20):
        table, _ = accounts(seed=1000 + seed, n=2000, planted=False)
        result = search_segments(
            table, "churned", ATTRS, ["seats_at_close"], depth=3 if seed % 2 else 2
        )
        assert result.n_evaluated > 100
        hits += int((result.findings(0.05)).shape[0] > 0)
    assert hits <= 3


def test_small_lucky_segment_does_not_top_a_large_real_one() -> None:
    """9 accounts with 5 churned (56%) against 400 at 30%, base about 10%: shrinkage and the
    size weight keep the 9 below the 400."""
    rng = np.random.default_rng(5)
    n = 4000
    group = np.array(["rest"] * n, dtype=object)
    group[:9] = "tiny"
    group[9:409] = "big"
    churned = (rng.random(n) < 0.10).astype(int)
    churned[:9] = [1] * 5 + [0] * 4
    churned[9:409] = (np.arange(400) < 120).astype(int)
    frame = pd.DataFrame({"group": group, "churned": churned, "noise": rng.choice(list("abcd"), n)})
    result = search_segments(
        ibis.memtable(frame),
        "churned",
        ["group", "noise"],
        depth=2,
        min_support=5,
        **{"min_events": 1},
    )
    seg = result.segments.set_index("segment")
    assert seg.loc["group = tiny", "shrunk_rate"] < seg.loc["group = tiny", "rate"]
    ranking = list(result.top(10, "worse")["segment"])
    assert ranking.index("group = big") < ranking.index("group = tiny")
    assert ranking[0] == "group = big"


def test_continuous_outcome_finds_a_planted_mean_difference(accounts: Maker) -> None:
    table, _ = accounts(seed=13, n=5000)
    result = search_segments(
        table, "ltv", ATTRS, depth=2, outcome_kind="continuous", higher_is="good"
    )
    best = result.top(1, "better").iloc[0]
    assert best["segment"] == "plan = enterprise"
    assert best["difference_lo"] <= 1500 <= best["difference_hi"]
    assert best["q_value"] < 1e-6


def test_every_segment_carries_its_evidence(accounts: Maker) -> None:
    table, _ = accounts(seed=14, n=3000)
    result = search_segments(table, "churned", ATTRS, ["seats_at_close"], depth=2)
    seg = result.segments
    assert (seg["n"] >= result.min_support).all()
    assert (seg["share"] <= 0.9).all()
    assert (seg["events"] >= 5).all()
    assert ((seg["rate_lo"] <= seg["rate"]) & (seg["rate"] <= seg["rate_hi"])).all()
    assert ((seg["q_value"] >= seg["p_value"]) & (seg["q_value"] <= 1)).all()
    assert result.min_support == max(30, int(np.ceil(5 / result.base_rate)))


def test_unknown_columns_and_non_binary_outcomes_are_user_errors(accounts: Maker) -> None:
    table, _ = accounts(seed=15, n=500)
    with pytest.raises(IcploopError, match="unknown column"):
        search_segments(table, "churned", ["nope"])
    with pytest.raises(IcploopError, match="outside 0-1"):
        search_segments(table, "ltv", ATTRS)

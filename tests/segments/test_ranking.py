"""Ranking that cannot invert: a segment's direction comes from its raw estimate against the
rest with its interval, never from a shrunk value, and every significant finding is shown."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from icploop.cli.main import app
from icploop.segments.search import search_segments
from icploop.segments.stats import BetaPrior, NormalPrior, fit_beta_prior

runner = CliRunner()


def _zero_inflated(seed: int) -> pd.DataFrame:
    """An NRR-like outcome (a fifth of accounts at 0, the rest lognormal around 1) over 24 noise
    attributes, and a 2% segment whose outcome is 0.6x everyone else's: enough noise segments
    that the between-segment variance estimate floors at 0 and every shrunk mean equals the
    base."""
    rng = np.random.default_rng(seed)
    n = 3000
    frame = pd.DataFrame({f"a{i}": rng.choice(list("pqrst"), n) for i in range(24)})
    frame["bad"] = np.where(rng.random(n) < 0.02, "yes", "no")
    y = np.where(rng.random(n) < 0.2, 0.0, rng.lognormal(0, 0.3, n))
    frame["nrr"] = np.where(frame["bad"] == "yes", 0.6 * y, y)
    return frame


def test_a_collapsed_shrinkage_never_lists_a_worse_segment_among_the_better() -> None:
    frame = _zero_inflated(0)
    attributes = [c for c in frame.columns if c != "nrr"]
    result = search_segments(
        ibis.memtable(frame),
        "nrr",
        attributes,
        depth=2,
        outcome_kind="continuous",
        higher_is="good",
    )
    assert isinstance(result.prior, NormalPrior) and result.prior.tau2 == 0  # the collapse
    bad = result.segments.set_index("segment").loc["bad = yes"]
    assert bad["shrunk_rate"] == pytest.approx(result.base_rate)  # shrunk says nothing
    assert bad["q_value"] < 0.001 and bad["rate"] < 0.7 * result.base_rate
    assert bad["direction"] == "lower"
    assert "bad = yes" in set(result.top(None, "worse", max_q=0.05)["segment"])
    assert "bad = yes" not in set(result.top(None, "better", max_q=0.05)["segment"])


def test_every_finding_is_on_exactly_one_side_agreeing_with_its_interval() -> None:
    frame = _zero_inflated(1)
    result = search_segments(
        ibis.memtable(frame),
        "nrr",
        [c for c in frame.columns if c != "nrr"],
        depth=2,
        outcome_kind="continuous",
        higher_is="good",
    )
    sides = {
        d: set(result.top(None, d, max_q=0.05)["segment"]) for d in ("better", "worse", "unclear")
    }
    findings = set(result.findings()["segment"])
    assert findings and sides["better"] | sides["worse"] | sides["unclear"] == findings
    assert sum(len(s) for s in sides.values()) == len(findings)
    seg = result.segments.set_index("segment")
    assert (seg.loc[list(sides["worse"]), "difference_hi"] < 0).all()
    assert (seg.loc[list(sides["better"]), "difference_lo"] > 0).all()


@pytest.mark.parametrize("seed", range(5))
def test_a_shrunk_rate_lies_between_the_raw_rate_and_the_base(seed: int) -> None:
    """Binary outcomes: the prior is centred on the base rate, so shrinking pulls a segment
    towards the base and never across it (a prior centred elsewhere, as the mean over
    overlapping segments is, can put a worse segment on the better side)."""
    rng = np.random.default_rng(seed)
    n = 3000
    frame = pd.DataFrame({f"a{i}": rng.choice(list("pqrs"), n) for i in range(8)})
    p = np.where((frame["a0"] == "p") & (frame["a1"] == "q"), 0.3, 0.08)
    frame["churned"] = (rng.random(n) < p).astype(int)
    result = search_segments(ibis.memtable(frame), "churned", list(frame.columns[:-1]), depth=2)
    s = result.segments
    raw, shrunk, base = s["rate"], s["shrunk_rate"], result.base_rate
    assert (np.sign(shrunk - base) == np.sign(raw - base)).all()
    assert (np.abs(shrunk - base) <= np.abs(raw - base) + 1e-12).all()
    assert (np.sign(s["quality"]) == np.sign(s["quality_raw"])).all()


def test_a_beta_prior_given_a_mean_keeps_it_even_when_capped() -> None:
    k = np.array([5, 6, 5, 7])
    n = np.array([100, 100, 100, 100])
    prior = fit_beta_prior(k, n, mean=0.04)
    assert isinstance(prior, BetaPrior)
    assert prior.a / (prior.a + prior.b) == pytest.approx(0.04)
    assert fit_beta_prior(k, n).a / (prior.a + prior.b) != pytest.approx(0.04)


@pytest.fixture(scope="module")
def workspace(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ranking")
    shutil.copy(demo_warehouse, folder / "analytics.duckdb")
    return folder


def test_the_text_output_shows_every_significant_finding_or_says_how_many_more(
    workspace: Path,
) -> None:
    args = ["segments", "--workspace", str(workspace), "--as-of", "2026-10-31"]
    found = json.loads(runner.invoke(app, [*args, "--json"]).output)["findings"]
    assert len(found) > 4
    short = runner.invoke(app, [*args, "--top", "1"]).output
    shown = len(re.findall(r"^│ \S", short, flags=re.MULTILINE))
    more = sum(int(m) for m in re.findall(r"^(\d+) more: --top 0 or --json$", short, re.MULTILINE))
    assert shown + more == len(found) and more > 0
    everything = runner.invoke(app, [*args, "--top", "0"]).output
    assert "more: --top 0" not in everything
    assert len(re.findall(r"^│ \S", everything, flags=re.MULTILINE)) == len(found)

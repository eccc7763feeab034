"""Null calibration: how often a search reports something when nothing is there.

The outcome is shuffled across the rows that have one (the attributes stay as they are, with
their real correlations, sizes and missing values), and the search is run on each shuffle. With
no effect, a finding at q <= 0.05 after Benjamini-Hochberg is a false discovery, and BH keeps
the share of runs with any finding at 5% or less (under the null, its false discovery rate is
the chance of any finding). ``docs/statistics.md`` records the table for every outcome kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from icploop.segments.stats import exact_interval

#: the share of runs with a finding that a calibrated search may not exceed (beyond chance)
TARGET = 0.05


@dataclass(frozen=True)
class Calibration:
    """Runs of one search on shuffled outcomes and how many reported anything.

    ``lo``/``hi``: Clopper-Pearson 95% interval of the share. ``allowed``: the most runs with a
    finding that a true share of 5% gives with 95% probability (the binomial quantile), so a
    search is ``calibrated`` when ``with_finding <= allowed``: at most 5% plus sampling error.
    """

    kind: str
    runs: int
    with_finding: int
    lo: float
    hi: float
    allowed: int

    @property
    def share(self) -> float:
        return self.with_finding / self.runs if self.runs else float("nan")

    @property
    def calibrated(self) -> bool:
        return self.with_finding <= self.allowed


def shuffled(frame: pd.DataFrame, column: str, rng: np.random.Generator) -> pd.DataFrame:
    """``frame`` with ``column`` permuted among the rows where it is present."""
    out = frame.copy()
    present = np.flatnonzero(out[column].notna().to_numpy())
    values = out[column].to_numpy()[present]
    position = out.columns.get_loc(column)
    out.iloc[present, position] = values[rng.permutation(len(values))]
    return out


def calibrate(
    frame: pd.DataFrame,
    column: str,
    finds: Callable[[pd.DataFrame], bool],
    *,
    kind: str,
    runs: int = 200,
    seed: int = 0,
) -> Calibration:
    """Run ``finds`` (True when the search reports anything) on ``runs`` shuffles of
    ``column``; seeded, so the same inputs give the same table."""
    rng = np.random.default_rng(seed)
    hits = sum(bool(finds(shuffled(frame, column, rng))) for _ in range(runs))
    lo, hi = exact_interval(hits, runs)
    allowed = int(sps.binom.ppf(0.95, runs, TARGET))
    return Calibration(kind, runs, hits, float(lo), float(hi), allowed)

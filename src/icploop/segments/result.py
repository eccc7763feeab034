"""The result of a segment search: the findings frame, the parameters that produced it, caveats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from icploop.errors import IcploopError
from icploop.segments.stats import BetaPrior, NormalPrior

OutcomeKind = Literal["binary", "continuous"]
Polarity = Literal["bad", "good"]
Direction = Literal["higher", "lower", "worse", "better", "unclear", "any"]


def rank_order(frame: pd.DataFrame) -> npt.NDArray[np.intp]:
    """Positions of ``frame``'s segments by |quality|, largest first; ties (all 0 when the
    shrinkage has collapsed onto the base) by |raw quality|, then in candidate order."""
    return np.lexsort(
        (-np.abs(frame["quality_raw"].to_numpy()), -np.abs(frame["quality"].to_numpy()))
    )


#: Columns of ``SegmentSearchResult.segments``, in order, with their meaning.
COLUMNS: dict[str, str] = {
    "segment": "human-readable conditions joined by AND",
    "depth": "number of conditions (1-3)",
    "n": "accounts in the segment",
    "share": "n / all accounts with an outcome",
    "events": "accounts with the event (binary outcomes; NaN for continuous)",
    "rate": "event rate (binary) or mean outcome (continuous) in the segment",
    "rate_lo": "lower end of its interval (Wilson for rates, t for means)",
    "rate_hi": "upper end of that interval",
    "base_rate": "rate or mean over all accounts",
    "rest_rate": "rate or mean over accounts outside the segment",
    "ratio": "rate / rest_rate",
    "ratio_lo": "Katz log interval, lower end (NaN for continuous outcomes)",
    "ratio_hi": "Katz log interval, upper end (NaN for continuous outcomes)",
    "difference": "rate - rest_rate",
    "difference_lo": "Newcombe hybrid score (binary) or Welch (continuous) interval, lower end",
    "difference_hi": "upper end of that interval",
    "p_value": "two-sided, segment vs rest: Fisher exact / chi-squared (binary), "
    "Wilcoxon-Mann-Whitney rank sum (continuous)",
    "q_value": "Benjamini-Hochberg over every segment evaluated (before folding)",
    "shrunk_rate": "empirical-Bayes posterior mean (beta-binomial or normal-normal)",
    "shrunk_lo": "lower end of the credible interval",
    "shrunk_hi": "upper end of the credible interval",
    "quality_raw": "(n/N)^a (rate - base_rate)",
    "quality": "(n/N)^a (shrunk_rate - base_rate): the ranking measure",
    "direction": "'higher' or 'lower' than the rest (the difference's interval excludes 0), "
    "else 'unclear'",
}


@dataclass(frozen=True)
class SegmentSearchResult:
    """Segments found for one outcome, ranked by ``quality`` (largest magnitude first).

    ``segments`` holds only segments that met the minimum support and were not folded into a
    parent; ``n_evaluated`` counts every segment tested (the BH denominator).
    """

    outcome: str
    outcome_kind: OutcomeKind
    higher_is: Polarity
    attributes: tuple[str, ...]
    numeric_attributes: tuple[str, ...]
    depth: int
    min_support: int
    min_events: int
    max_share: float
    quality_a: float
    min_effect: float
    level: float
    n_accounts: int
    base_rate: float
    prior: BetaPrior | NormalPrior
    n_candidates: int
    n_evaluated: int
    n_folded: int
    segments: pd.DataFrame
    caveats: tuple[str, ...]

    def top(
        self, k: int | None = 10, direction: Direction = "worse", max_q: float | None = None
    ) -> pd.DataFrame:
        """The k best segments in one direction, by quality (``k`` None or 0: all of them).

        ``higher``/``lower`` refer to the outcome value; ``worse``/``better`` follow
        ``higher_is`` (for churn, worse = higher); ``unclear`` takes segments whose interval
        holds the rest's value. The direction is the ``direction`` column (the raw estimate
        against the rest, with its interval), never the sign of a shrunk value. ``max_q``
        keeps only q-values at or below it.
        """
        frame = self.segments
        if max_q is not None:
            frame = frame[frame["q_value"] <= max_q]
        if direction in ("worse", "better"):
            higher_bad = self.higher_is == "bad"
            direction = "higher" if (direction == "worse") == higher_bad else "lower"
        if direction not in ("higher", "lower", "unclear", "any"):
            raise IcploopError(
                f"unknown direction {direction!r}",
                "use one of: higher, lower, worse, better, unclear, any",
            )
        if direction != "any":
            frame = frame[frame["direction"] == direction]
            # quality has the sign of the raw difference (the shrunk value never crosses the
            # base), so its magnitude ranks the strongest first on either side
            frame = frame.iloc[rank_order(frame)]
        return frame.head(k) if k else frame

    def findings(self, max_q: float = 0.05) -> pd.DataFrame:
        """Segments whose q-value is at most ``max_q``, in ranking order."""
        return self.segments[self.segments["q_value"] <= max_q]

"""The outcomes a segment search can rank by, and how each reads (binary or mean, good or bad)."""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import pandas as pd

from icploop.segments.outcomes import CATEGORICAL, NUMERIC, extra_attributes
from icploop.segments.result import OutcomeKind, Polarity, SegmentSearchResult
from icploop.segments.search import search_segments


@dataclass(frozen=True)
class OutcomeSpec:
    name: str
    column: str
    kind: OutcomeKind
    higher_is: Polarity
    label: str
    event_phrase: str = ""


OUTCOMES: dict[str, OutcomeSpec] = {
    s.name: s
    for s in (
        OutcomeSpec("churn", "first_year_churn", "binary", "bad", "first-year logo churn", "churn"),
        OutcomeSpec("nrr", "nrr_12m", "continuous", "good", "12-month NRR"),
        OutcomeSpec("ltv", "ltv_per_month", "continuous", "good", "revenue per paid month"),
        OutcomeSpec("adoption", "adoption", "continuous", "good", "committed use cases adopted"),
        OutcomeSpec("win", "won", "binary", "good", "win rate", "win"),
    )
}


def search_outcome(
    frame: pd.DataFrame, outcome: str, depth: int = 2, min_size: int | None = None
) -> SegmentSearchResult:
    """Search ``frame`` (one row per account, or per deal for ``win``) for the segments that
    differ on ``outcome`` (a key of ``OUTCOMES``), over every known categorical attribute and
    extra attribute present, and the numeric attributes that have values."""
    spec = OUTCOMES[outcome]
    categorical = [c for c in (*CATEGORICAL, *extra_attributes(frame)) if c in frame.columns]
    numeric = [c for c in NUMERIC if c in frame.columns and frame[c].notna().any()]
    return search_segments(
        ibis.memtable(frame[[spec.column, *categorical, *numeric]]),
        spec.column,
        categorical,
        numeric,
        depth=depth,
        min_support=min_size,
        outcome_kind=spec.kind,
        higher_is=spec.higher_is,
    )

"""The outcomes a segment search can rank by, and how each reads (binary or mean, good or bad)."""

from __future__ import annotations

from dataclasses import dataclass

from icploop.segments.result import OutcomeKind, Polarity


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

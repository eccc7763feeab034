"""The outcomes a segment search can rank by, and how each reads (binary or mean, good or bad)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import ibis
import pandas as pd

from icploop.attributes import (
    AttributeCatalog,
    frame_catalog,
    recorded_with_outcome,
    searchable_columns,
)
from icploop.errors import IcploopError
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
    frame: pd.DataFrame,
    outcome: str,
    depth: int = 2,
    min_size: int | None = None,
    *,
    catalog: AttributeCatalog | None = None,
    attributes: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
) -> SegmentSearchResult:
    """Search ``frame`` (one row per account, or per deal for ``win``) for the segments that
    differ on ``outcome`` (a key of ``OUTCOMES``).

    The attributes come from ``catalog`` (default: the catalogue inferred from ``frame``):
    ``attributes`` (default every dimension and measure searched by default) less ``exclude``;
    dimensions are searched by value, measures at their quantiles, and attributes that do not
    vary are left out. Raises ``IcploopError`` for an unknown attribute or one whose role is
    never searched (a label, identifier or date).
    """
    spec = OUTCOMES[outcome]
    cat = catalog or frame_catalog(frame, labels=(spec.column,))
    categorical, numeric = searchable_columns(frame, cat.choose(attributes, exclude))
    notes: dict[str, str] = {}
    if spec.kind == "binary":
        notes = recorded_with_outcome(frame, spec.column, [*categorical, *numeric])
        categorical = [c for c in categorical if c not in notes]
        numeric = [c for c in numeric if c not in notes]
    if not categorical and not numeric:
        raise IcploopError(
            f"no attribute to search for {spec.label}",
            "load accounts with attributes (industry, segment, ...) or choose --attributes",
        )
    table = cat.typed(frame[[spec.column, *categorical, *numeric]])
    result = search_segments(
        ibis.memtable(table),
        spec.column,
        categorical,
        numeric,
        depth=depth,
        min_support=min_size,
        outcome_kind=spec.kind,
        higher_is=spec.higher_is,
    )
    return replace(result, caveats=(*notes.values(), *result.caveats))

"""The outcomes a segment search can rank by, and how each reads (binary or mean, good or bad)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import ibis
import pandas as pd

from icploop import formatting as fmt
from icploop.errors import IcploopError
from icploop.ingest.attributes import (
    AttributeCatalog,
    frame_catalog,
    recorded_with_outcome,
    searchable_columns,
)
from icploop.segments.outcomes import ACTIVATION_DAYS, VALUE_DAYS
from icploop.segments.result import OutcomeKind, Polarity, SegmentSearchResult
from icploop.segments.search import search_segments
from icploop.segments.thresholds import (
    PERCENT_MEASURES,
    THRESHOLD_ALPHA,
    THRESHOLD_UNITS,
    ThresholdResult,
    find_thresholds,
)

FrameKind = Literal["accounts", "deals", "activation"]
OutcomeUnit = Literal["share", "money", "days", "number"]


@dataclass(frozen=True)
class OutcomeSpec:
    """An outcome a search can rank by: its column, kind and polarity, the frame it lives in
    (``accounts``: paying accounts; ``deals``: decided deals; ``activation``: every account
    that started), and its horizon. ``horizon_days``: only accounts observed for that many days
    since their start are counted; ``horizon`` names the horizon in words (for an outcome such
    as first-year churn whose column is already missing under it)."""

    name: str
    column: str
    kind: OutcomeKind
    higher_is: Polarity
    label: str
    event_phrase: str = ""
    frame: FrameKind = "accounts"
    horizon_days: int | None = None
    horizon: str = ""
    custom: bool = False  # column:NAME: kind and values read from the column itself
    polarity_given: bool = True  # False: a column:NAME whose polarity follows its kind
    unit: OutcomeUnit = "number"
    """How a value reads: ``share`` a fraction shown as a percentage (a rate, NRR), ``money``
    an amount in the reporting currency, ``days``, or a plain ``number``. A binary outcome is
    always a share."""

    def shown(self, value: object) -> str:
        """One value of this outcome (a segment's rate, an interval's end, the base) as every
        surface prints it; ``-`` when unknown."""
        unit = "share" if self.kind == "binary" else self.unit
        if unit == "share":
            return fmt.pct(value, 1)
        if unit == "money":
            return fmt.money(value)
        if unit == "days":
            return fmt.unknown() if fmt.finite(value) is None else f"{fmt.number(value, 0)} days"
        return fmt.number(value, 2)


OUTCOMES: dict[str, OutcomeSpec] = {
    s.name: s
    for s in (
        OutcomeSpec(
            "churn",
            "first_year_churn",
            "binary",
            "bad",
            "first-year logo churn",
            "churn",
            horizon="12 months of history",
        ),
        OutcomeSpec(
            "nrr",
            "nrr_12m",
            "continuous",
            "good",
            "12-month NRR",
            horizon="12 months of history",
            unit="share",
        ),
        OutcomeSpec(
            "ltv", "ltv_per_month", "continuous", "good", "revenue per paid month", unit="money"
        ),
        OutcomeSpec(
            "adoption",
            "adoption",
            "continuous",
            "good",
            "committed use cases adopted in 90 days",
            horizon_days=90,
            unit="share",
        ),
        OutcomeSpec("win", "won", "binary", "good", "win rate", "win", frame="deals"),
        OutcomeSpec(
            "activation",
            "never_activated",
            "binary",
            "bad",
            f"never activated (no revenue or use within {ACTIVATION_DAYS} days)",
            "never activate",
            frame="activation",
            horizon_days=ACTIVATION_DAYS,
        ),
        OutcomeSpec(
            "time-to-value",
            "time_to_value",
            "continuous",
            "bad",
            f"days to first revenue or use (followed {VALUE_DAYS} days)",
            frame="activation",
            horizon_days=VALUE_DAYS,
            unit="days",
        ),
    )
}

COLUMN_PREFIX = "column:"
_TRUE = {"1", "1.0", "yes", "y", "true", "t"}
_FALSE = {"0", "0.0", "no", "n", "false", "f"}


def outcome_spec(
    outcome: str, days: int | None = None, higher_is: Polarity | None = None
) -> OutcomeSpec:
    """The spec of ``outcome``: a key of ``OUTCOMES`` (``days`` replaces the horizon of
    ``activation`` or ``time-to-value``) or ``column:NAME``, any 0/1 or numeric account
    attribute, which is then the outcome (a label, never an attribute); ``days`` is then its
    horizon: only accounts observed at least that many days since their start count.
    ``higher_is`` says whether a higher value is bad or good (default: bad for a 0/1 column, an
    event such as churned; good for a number). Raises ``IcploopError`` for an unknown outcome."""
    if outcome.startswith(COLUMN_PREFIX):
        name = outcome.removeprefix(COLUMN_PREFIX).strip()
        if not name:
            raise IcploopError("column: needs a column name", "e.g. --outcome column:churned")
        return OutcomeSpec(
            name,
            name,
            "binary",
            higher_is or "bad",
            name,
            name,
            horizon_days=days,
            custom=True,
            polarity_given=higher_is is not None,
        )
    if outcome not in OUTCOMES:
        raise IcploopError(
            f"unknown outcome {outcome!r}",
            f"use one of {', '.join(OUTCOMES)}, or column:NAME for an account attribute",
        )
    spec = OUTCOMES[outcome]
    if days is not None and spec.frame == "activation":
        label = spec.label.replace(str(spec.horizon_days), str(days))
        spec = replace(spec, horizon_days=days, label=label)
    return replace(spec, higher_is=higher_is) if higher_is else spec


def column_outcome(frame: pd.DataFrame, spec: OutcomeSpec) -> tuple[pd.DataFrame, OutcomeSpec]:
    """``frame`` with the ``column:NAME`` outcome as numbers, and its kind: 0/1 (or yes/no,
    true/false) is binary, any other number continuous. Raises ``IcploopError`` naming the
    column when it is missing, empty or holds text that is neither."""
    name = spec.column
    if name not in frame.columns:
        raise IcploopError(
            f"no account attribute {name!r} to use as an outcome",
            "icploop status lists the attributes; load it as a column of accounts",
        )
    values = frame[name]
    text = values.dropna().astype(str).str.strip().str.lower()
    text = text[text != ""]
    if text.empty:
        raise IcploopError(f"{name} has no values to use as an outcome", "load values for it")
    if text.isin(_TRUE | _FALSE).all():
        y = values.astype("string").str.strip().str.lower()
        numbers = y.map(lambda v: 1.0 if v in _TRUE else 0.0 if v in _FALSE else None)
        kind: OutcomeKind = "binary"
    else:
        numbers = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
        bad = text[pd.to_numeric(text, errors="coerce").isna()]
        if not bad.empty:
            raise IcploopError(
                f"{name} is neither 0/1 nor a number (e.g. {bad.iloc[0]!r})",
                "use a 0/1, yes/no or numeric column as an outcome",
            )
        kind = "continuous"
    higher_is = spec.higher_is if kind == "binary" or spec.polarity_given else "good"
    return frame.assign(**{name: numbers.astype("float64")}), replace(
        spec, kind=kind, higher_is=higher_is
    )


def exposed(frame: pd.DataFrame, spec: OutcomeSpec) -> tuple[pd.DataFrame, str | None]:
    """The rows of ``frame`` exposed for the whole horizon of ``spec``, and a sentence saying
    how many accounts with an outcome were left out for lack of exposure and from which start
    dates (None when none were). Rows under ``horizon_days`` since their start are left out;
    for an outcome whose column is already missing under its horizon (first-year churn), the
    rows missing it are the ones counted."""
    if spec.horizon_days is not None and "days_observed" in frame.columns:
        drop = (frame["days_observed"] < spec.horizon_days).to_numpy()
        counted = drop & frame[spec.column].notna().to_numpy()
        horizon = f"{spec.horizon_days} days"
    elif spec.horizon:
        drop = counted = frame[spec.column].isna().to_numpy()
        horizon = spec.horizon
    else:
        return frame, None
    if not counted.any():
        return frame[~drop], None
    left = frame[counted]
    starts = pd.to_datetime(left["close_date"]) if "close_date" in left.columns else None
    when = (
        f", started {starts.min():%Y-%m-%d} to {starts.max():%Y-%m-%d}"
        if starts is not None and starts.notna().any()
        else ""
    )
    note = (
        f"{int(counted.sum()):,} accounts left out for lack of exposure (under {horizon} "
        f"before the as-of date{when})"
    )
    return frame[~drop], note


def _searched(
    frame: pd.DataFrame,
    spec: OutcomeSpec,
    cat: AttributeCatalog,
    attributes: Sequence[str] | None,
    exclude: Sequence[str],
) -> tuple[list[str], list[str], dict[str, str]]:
    """The dimensions and measures searched among the exposed rows ``frame``, and a note for
    each attribute left out for being recorded with one outcome only."""
    categorical, numeric = searchable_columns(frame, cat.choose(attributes, exclude))
    notes: dict[str, str] = {}
    if spec.kind == "binary":
        notes = recorded_with_outcome(frame, spec.column, [*categorical, *numeric])
        categorical = [c for c in categorical if c not in notes]
        numeric = [c for c in numeric if c not in notes]
    return categorical, numeric, notes


def scan_thresholds(
    frame: pd.DataFrame,
    spec: OutcomeSpec,
    catalog: AttributeCatalog,
    attributes: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
) -> list[ThresholdResult]:
    """The one threshold scan of a binary outcome, read by ``icploop segments`` and the review's
    proposals alike: every measure the segment search of ``spec`` reads (``attributes`` less
    ``exclude``, default the catalogue's measures searched by default), over the rows exposed
    for the outcome's horizon, family-wise at :data:`THRESHOLD_ALPHA` (Holm). Every measure
    with an eligible cut is returned; ``recommended`` is set where a limit is supported."""
    if spec.kind != "binary":
        return []
    cat = catalog
    if spec.column not in cat or cat[spec.column].role != "label":
        cat = cat.with_labels((spec.column,))
    counted, _ = exposed(frame, spec)
    _, numeric, _ = _searched(counted, spec, cat, attributes, exclude)
    if not numeric:
        return []
    return find_thresholds(
        ibis.memtable(cat.typed(counted[[spec.column, *numeric]])),
        numeric,
        spec.column,
        alpha=THRESHOLD_ALPHA,
        units=THRESHOLD_UNITS,
        percent=PERCENT_MEASURES,
        higher_is=spec.higher_is,
        event_phrase=spec.event_phrase,
        horizon_phrase=" in year one" if spec.name == "churn" else "",
    )


def search_outcome(
    frame: pd.DataFrame,
    outcome: str | OutcomeSpec,
    depth: int = 2,
    min_size: int | None = None,
    *,
    catalog: AttributeCatalog | None = None,
    attributes: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
) -> SegmentSearchResult:
    """Search ``frame`` (the frame of the outcome's kind: accounts, deals or activation) for the
    segments that differ on ``outcome`` (a key of ``OUTCOMES`` or a spec).

    Only rows exposed for the outcome's whole horizon count, and a caveat says how many were
    left out and from which start dates. The attributes come from ``catalog`` (default: the
    catalogue inferred from ``frame``): ``attributes`` (default every dimension and measure
    searched by default) less ``exclude``; dimensions are searched by value, measures at their
    quantiles, and attributes that do not vary among the rows counted are left out, as is an
    attribute recorded only for one outcome (a caveat names it). Raises ``IcploopError`` for an
    unknown attribute or one whose role is never searched (a label, identifier or date).
    """
    spec = outcome if isinstance(outcome, OutcomeSpec) else outcome_spec(outcome)
    if spec.custom:
        frame, spec = column_outcome(frame, spec)
    cat = catalog or frame_catalog(frame, labels=(spec.column,))
    if spec.column not in cat or cat[spec.column].role != "label":
        cat = cat.with_labels((spec.column,))
    frame, exposure = exposed(frame, spec)
    categorical, numeric, notes = _searched(frame, spec, cat, attributes, exclude)
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
    if spec.custom and spec.horizon_days is None:
        exposure = (
            f"{spec.column} has no horizon: accounts observed for different lengths of time "
            "are compared (recent ones have had less time to act); give --days to count only "
            "accounts observed at least that many days"
        )
    caveats = [*([exposure] if exposure else []), *notes.values(), *result.caveats]
    return replace(result, caveats=tuple(caveats))


def search_with_thresholds(
    frame: pd.DataFrame,
    spec: OutcomeSpec,
    depth: int,
    min_size: int | None,
    catalog: AttributeCatalog,
    attributes: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
) -> tuple[SegmentSearchResult, list[ThresholdResult], OutcomeSpec]:
    """What ``icploop segments`` reports: the segment search of ``spec`` and, for a binary
    outcome, the recommended thresholds of the measures searched (:func:`scan_thresholds`);
    with the spec as the column read it (a ``column:NAME`` outcome learns its kind here)."""
    if spec.custom:
        frame, spec = column_outcome(frame, spec)
    result = search_outcome(
        frame, spec, depth, min_size, catalog=catalog, attributes=attributes, exclude=exclude
    )
    found = scan_thresholds(frame, spec, catalog, attributes, exclude)
    return result, [t for t in found if t.recommended is not None], spec

"""Segment search: every conjunction of up to ``depth`` conditions, with honest statistics.

Counting happens in the engine (``counts``); this module turns the counts into estimates,
intervals, tests, q-values and shrunk estimates for all segments at once, folds redundant
conjunctions into their parents and ranks what is left. See ``docs/statistics.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pandas as pd

from icploop.errors import IcploopError
from icploop.segments import stats
from icploop.segments.counts import (
    LOCAL_MAX_ROWS,
    Columns,
    Overview,
    SegmentCounts,
    fetch_columns,
    local_overview,
    local_segment_counts,
    local_value_counts,
    overview,
    row_count,
    segment_counts,
    value_counts,
)
from icploop.segments.folding import fold_mask, no_interaction_mask
from icploop.segments.result import (
    COLUMNS,
    OutcomeKind,
    Polarity,
    SegmentSearchResult,
    rank_order,
)
from icploop.segments.selectors import AttributeCoding, categorical_coding, numeric_coding

Array = stats.Array
BoolArray = npt.NDArray[np.bool_]


# a conjunction must beat what its parts predict by this factor (binary) to be a finding
MIN_INTERACTION_RATIO = 1.5


def default_min_support(base_rate: float, outcome_kind: OutcomeKind) -> int:
    """max(30, 5 / p0) accounts for a binary outcome (so a segment expects >= 5 events), else 30."""
    if outcome_kind == "binary" and base_rate > 0:
        return max(30, math.ceil(5 / base_rate))
    return 30


def search_segments(
    table: ir.Table,
    outcome: str,
    attributes: Sequence[str],
    numeric_attributes: Sequence[str] = (),
    depth: int = 3,
    min_support: int | None = None,
    quality_a: float = 0.5,
    outcome_kind: OutcomeKind = "binary",
    *,
    higher_is: Polarity = "bad",
    min_events: int = 5,
    max_share: float = 0.9,
    n_bins: int = 5,
    max_values: int = 20,
    min_effect: float | None = None,
    level: float = 0.95,
) -> SegmentSearchResult:
    """Search segments of ``table`` (one row per account) for differences in ``outcome``.

    ``outcome`` is 0/1 (or boolean) for ``binary``, any number for ``continuous`` (NRR as a
    fraction, LTV in the reporting currency); rows with a missing outcome are left out.
    ``attributes`` are categorical (each value is a condition; missing is ``is missing``);
    ``numeric_attributes`` are cut at their ``n_bins`` quantiles (rounded to 2 significant
    figures) into ``x < cut`` and ``x >= cut``. Conjunctions use distinct attributes.

    Minimum support: ``min_support`` accounts (default max(30, 5/p0)), ``min_events`` events
    (binary only) and at most ``max_share`` of all accounts. ``min_effect`` (default 0.1
    standard deviations of the outcome) is the smallest change over a parent that keeps a
    conjunction. Raises ``IcploopError`` for unknown columns or a non-0/1 binary outcome.
    """
    names = [*numeric_attributes, *attributes]
    _check(table, outcome, names, depth, outcome_kind, quality_a)
    ov, support, codings, centre, counts, ranks = _count(
        table,
        outcome,
        attributes,
        numeric_attributes,
        depth,
        min_support,
        outcome_kind,
        n_bins,
        max_values,
    )
    caveats: list[str] = []
    labels = np.array([lab for c in codings for lab in c.labels], dtype=object)

    n_all = counts.all_n
    kept = counts.n >= support
    if outcome_kind == "binary":
        kept &= counts.total >= min_events
    evaluated = kept & (counts.n <= max_share * n_all)
    sub = _subset(counts, kept)
    est = _estimates(sub, counts, outcome_kind, centre, level)
    if ranks is not None:
        # segments follow the same order in both countings (same codings and depth)
        rank_sum = ranks.counts.total[kept] + sub.n * (counts.all_n + 1) / 2
        est["p_value"] = stats.rank_sum_pvalue(rank_sum, sub.n, counts.all_n, ranks.tie_term)
    ev = evaluated[kept]
    p = np.where(ev, est["p_value"], np.nan)
    est["q_value"] = stats.benjamini_hochberg(p)
    sd = math.sqrt(ov.variance) if ov.n > 1 else 0.0
    effect = min_effect if min_effect is not None else 0.1 * sd
    folded = fold_mask(
        sub.selectors, sub.depth, est["rate"], est["rate_lo"], est["rate_hi"], effect
    ) | no_interaction_mask(
        sub.selectors,
        sub.depth,
        sub.n,
        sub.total,
        est["rate_lo"],
        est["rate_hi"],
        n_all,
        counts.all_total,
        centre,
        multiplicative=outcome_kind == "binary",
        min_departure=MIN_INTERACTION_RATIO if outcome_kind == "binary" else 3 * effect,
    )

    show = ev & ~folded
    base_rate = centre + counts.all_total / n_all if n_all else float("nan")
    prior: stats.BetaPrior | stats.NormalPrior
    if outcome_kind == "binary":
        # centred on the base rate, a shrunk rate lies between the raw rate and the base: it can
        # pull a segment towards the base, never across it
        prior = stats.fit_beta_prior(sub.total[ev], sub.n[ev], mean=base_rate)
        # every segment needs its posterior mean (the ranking); only shown ones need the
        # credible interval, whose beta quantiles are the costly part
        est["shrunk_rate"] = (sub.total + prior.a) / (sub.n + prior.a + prior.b)
        est["shrunk_lo"] = np.full(sub.n.shape, np.nan)
        est["shrunk_hi"] = np.full(sub.n.shape, np.nan)
        _, est["shrunk_lo"][show], est["shrunk_hi"][show] = stats.beta_posterior(
            sub.total[show], sub.n[show], prior, level
        )
    else:
        se2 = est["var"] / sub.n
        prior = stats.fit_normal_prior(est["rate"][ev], se2[ev], base_rate)
        shrunk = stats.normal_posterior(est["rate"], se2, prior, level)
        est["shrunk_rate"], est["shrunk_lo"], est["shrunk_hi"] = shrunk
    weight = (sub.n / n_all) ** quality_a if n_all else sub.n * 0
    est["quality_raw"] = weight * (est["rate"] - base_rate)
    est["quality"] = weight * (est["shrunk_rate"] - base_rate)

    frame = _frame(sub, est, labels, show, n_all, base_rate)
    caveats += _caveats(ov.n, ov.total, outcome_kind, int(ev.sum()), prior, codings, counts)
    return SegmentSearchResult(
        outcome=outcome,
        outcome_kind=outcome_kind,
        higher_is=higher_is,
        attributes=tuple(attributes),
        numeric_attributes=tuple(numeric_attributes),
        depth=max(1, min(depth, len(names))),
        min_support=support,
        min_events=min_events if outcome_kind == "binary" else 0,
        max_share=max_share,
        quality_a=quality_a,
        min_effect=effect,
        level=level,
        n_accounts=int(n_all),
        base_rate=base_rate,
        prior=prior,
        n_candidates=len(counts.n),
        n_evaluated=int(ev.sum()),
        n_folded=int((ev & folded).sum()),
        segments=frame,
        caveats=tuple(caveats),
    )


def _count(
    table: ir.Table,
    outcome: str,
    attributes: Sequence[str],
    numeric_attributes: Sequence[str],
    depth: int,
    min_support: int | None,
    outcome_kind: OutcomeKind,
    n_bins: int,
    max_values: int,
) -> tuple[Overview, int, list[AttributeCoding], float, SegmentCounts, Ranks | None]:
    """Overview, minimum support, codings and counts of every candidate segment, and for a
    continuous outcome the sums of midranks per segment (the rank test's statistic)."""
    table = table.filter(table[outcome].notnull())
    probs = [i / n_bins for i in range(1, n_bins)]
    cols: Columns | None = None
    if row_count(table) <= LOCAL_MAX_ROWS:
        cols = fetch_columns(table, outcome, attributes, numeric_attributes)
        ov = local_overview(cols, probs)
    else:
        ov = overview(table, outcome, list(numeric_attributes), probs)
    if outcome_kind == "binary" and ov.n and (ov.minimum < 0 or ov.maximum > 1):
        raise IcploopError(
            f"outcome {outcome!r} has values outside 0-1 but outcome_kind is 'binary'",
            "pass outcome_kind='continuous' or a 0/1 outcome column",
        )
    base = ov.mean if ov.n else float("nan")
    support = min_support if min_support is not None else default_min_support(base, outcome_kind)
    value_n = local_value_counts(cols) if cols is not None else value_counts(table, attributes)
    codings = [numeric_coding(a, ov.quantiles[a]) for a in numeric_attributes] + [
        categorical_coding(a, value_n[a], support, max_values) for a in attributes
    ]
    centre = 0.0 if outcome_kind == "binary" or not ov.n else ov.mean
    if cols is not None:
        counts = local_segment_counts(cols, codings, depth, centre, outcome_kind == "binary")
    else:
        counts = segment_counts(table, outcome, codings, depth, centre)
    ranks = None
    if outcome_kind == "continuous" and ov.n:
        ranks = _rank_counts(table, outcome, cols, codings, depth, ov.n)
    return ov, support, codings, centre, counts, ranks


@dataclass(frozen=True)
class Ranks:
    """Per segment, the sum of its accounts' midranks less (N+1)/2 each (``counts.total``), and
    the tie term sum(t^3 - t) of the outcome."""

    counts: SegmentCounts
    tie_term: float


def _rank_counts(
    table: ir.Table,
    outcome: str,
    cols: Columns | None,
    codings: list[AttributeCoding],
    depth: int,
    n: int,
) -> Ranks:
    """Midranks of the outcome summed per segment, by the same counting as the outcome."""
    centre = (n + 1) / 2
    if cols is not None:
        ranks, tie_term = stats.midranks(cols.y)
        ranked = replace(cols, y=ranks)
        return Ranks(local_segment_counts(ranked, codings, depth, centre, False), tie_term)
    y = table[outcome].cast("float64")
    ties = y.count().over(ibis.window(group_by=y))
    t = table.mutate(_rank=ibis.rank().over(ibis.window(order_by=y)) + 1 + (ties - 1) / 2)
    groups = table.group_by(_y=y).aggregate(t=ibis._.count().cast("float64"))
    tie_term = groups.aggregate(s=(groups.t**3 - groups.t).sum()).to_pandas()["s"].iloc[0]
    return Ranks(segment_counts(t, "_rank", codings, depth, centre), float(tie_term or 0.0))


def top_by_raw_quality(
    table: ir.Table,
    outcome: str,
    attributes: Sequence[str],
    numeric_attributes: Sequence[str] = (),
    depth: int = 3,
    k: int = 20,
    quality_a: float = 0.5,
    min_support: int | None = None,
    *,
    min_events: int = 5,
    max_share: float = 0.9,
    n_bins: int = 5,
    max_values: int = 20,
) -> tuple[pd.DataFrame, dict[str, tuple[float, ...]]]:
    """The ``k`` segments of highest raw quality ``(n/N)^a (p - p0)`` for a 0/1 outcome, with no
    tests, shrinkage or folding: the plain subgroup-discovery ranking, for comparisons with
    other tools on the same quality function (``bench/``).

    Same candidates and minimum support as ``search_segments``. Returns the frame (segment,
    conditions as a tuple of labels, n, events, quality) and the numeric cuts used per
    attribute, so a peer can search the same selectors.
    """
    _check(table, outcome, [*numeric_attributes, *attributes], depth, "binary", quality_a)
    _, support, codings, _, counts, _ = _count(
        table,
        outcome,
        attributes,
        numeric_attributes,
        depth,
        min_support,
        "binary",
        n_bins,
        max_values,
    )
    labels = np.array([lab for c in codings for lab in c.labels], dtype=object)
    n_all = counts.all_n
    ok = (counts.n >= support) & (counts.total >= min_events) & (counts.n <= max_share * n_all)
    idx = np.flatnonzero(ok)
    with np.errstate(divide="ignore", invalid="ignore"):
        base = counts.all_total / n_all
        q = (counts.n[idx] / n_all) ** quality_a * (counts.total[idx] / counts.n[idx] - base)
    order = idx[np.argsort(-q, kind="stable")[:k]]
    conds = [tuple(labels[g] for g in row if g >= 0) for row in counts.selectors[order].tolist()]
    with np.errstate(divide="ignore", invalid="ignore"):
        quality = (counts.n[order] / n_all) ** quality_a * (
            counts.total[order] / counts.n[order] - base
        )
    frame = pd.DataFrame(
        {
            "segment": [" AND ".join(c) for c in conds],
            "conditions": conds,
            "n": counts.n[order].astype(np.int64),
            "events": counts.total[order].astype(np.int64),
            "quality": quality,
        }
    )
    cuts = {c.name: c.cuts for c in codings if c.numeric}
    return frame, cuts


def _check(
    table: ir.Table,
    outcome: str,
    names: Sequence[str],
    depth: int,
    kind: str,
    quality_a: float,
) -> None:
    columns = set(table.columns)
    missing = [c for c in [outcome, *names] if c not in columns]
    if missing:
        raise IcploopError(
            f"unknown column(s): {', '.join(missing)}",
            f"use columns of the accounts table: {', '.join(sorted(columns))}",
        )
    if not names or len(set(names)) != len(names) or outcome in names:
        raise IcploopError(
            "attributes must be distinct, non-empty and not the outcome",
            "list each attribute once, as categorical or as numeric",
        )
    if not 1 <= depth <= 4:
        raise IcploopError(f"depth {depth} is out of range", "use a depth from 1 to 4 (3 is usual)")
    if kind not in ("binary", "continuous"):
        raise IcploopError(f"unknown outcome_kind {kind!r}", "use 'binary' or 'continuous'")
    if quality_a < 0:
        raise IcploopError("quality_a must be >= 0", "0 = lift, 0.5 = binomial-like, 1 = WRAcc")


def _subset(c: SegmentCounts, mask: BoolArray) -> SegmentCounts:
    return SegmentCounts(
        c.selectors[mask],
        c.depth[mask],
        c.n[mask],
        c.total[mask],
        c.sum_sq[mask],
        c.n_selectors,
        c.all_n,
        c.all_total,
        c.all_sum_sq,
    )


def _estimates(
    s: SegmentCounts, c: SegmentCounts, kind: OutcomeKind, centre: float, level: float
) -> dict[str, Array]:
    """Rates or means, intervals and the segment-versus-rest comparison for every segment."""
    n, k = s.n, s.total
    n_rest, k_rest = c.all_n - n, c.all_total - k
    out: dict[str, Array] = {}
    if kind == "binary":
        out["events"] = k
        out["rate"] = k / n
        out["rate_lo"], out["rate_hi"] = stats.wilson_interval(k, n, level)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["rest_rate"] = k_rest / n_rest
        out["ratio"], out["ratio_lo"], out["ratio_hi"] = stats.rate_ratio(
            k, n, k_rest, n_rest, level
        )
        diff = stats.rate_difference(k, n, k_rest, n_rest, level)
        out["difference"], out["difference_lo"], out["difference_hi"] = diff
        out["p_value"] = stats.two_proportion_pvalue(k, n, k_rest, n_rest)
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_c, rest_c = k / n, k_rest / n_rest
        var = np.maximum(s.sum_sq - k * mean_c, 0) / (n - 1)
        var_rest = np.maximum(c.all_sum_sq - s.sum_sq - k_rest * rest_c, 0) / (n_rest - 1)
        half = stats.stats.t.ppf(0.5 + level / 2, n - 1) * np.sqrt(var / n)
    out["events"] = np.full(n.shape, np.nan)
    out["var"] = var
    out["rate"] = centre + mean_c
    out["rate_lo"], out["rate_hi"] = out["rate"] - half, out["rate"] + half
    out["rest_rate"] = centre + rest_c
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio"] = out["rate"] / out["rest_rate"]
    out["ratio_lo"] = np.full(n.shape, np.nan)
    out["ratio_hi"] = np.full(n.shape, np.nan)
    d, lo, hi, p = stats.welch_test(mean_c, var, n, rest_c, var_rest, n_rest, level)
    out["difference"], out["difference_lo"], out["difference_hi"], out["p_value"] = d, lo, hi, p
    return out


def _frame(
    s: SegmentCounts,
    est: dict[str, Array],
    labels: npt.NDArray[np.object_],
    show: BoolArray,
    n_all: float,
    base_rate: float,
) -> pd.DataFrame:
    sel = s.selectors[show]
    described = [" AND ".join(labels[g] for g in row if g >= 0) for row in sel.tolist()]
    data: dict[str, object] = {
        "segment": described,
        "depth": s.depth[show],
        "n": s.n[show].astype(np.int64),
        "share": s.n[show] / n_all if n_all else s.n[show],
    }
    for col in COLUMNS:
        if col in est:
            data[col] = est[col][show]
    data["base_rate"] = np.full(int(show.sum()), base_rate)
    data["direction"] = direction(est["difference_lo"][show], est["difference_hi"][show])
    frame = pd.DataFrame(data)[list(COLUMNS)]
    return frame.iloc[rank_order(frame)].reset_index(drop=True)


def direction(difference_lo: Array, difference_hi: Array) -> npt.NDArray[np.object_]:
    """``higher`` where the interval of the difference to the rest lies above 0, ``lower`` where
    it lies below, ``unclear`` where it holds 0 (or is unknown): the raw estimate against the
    rest decides, never a shrunk value (which can collapse onto one number for all segments)."""
    out = np.full(difference_lo.shape, "unclear", dtype=object)
    out[difference_lo > 0] = "higher"
    out[difference_hi < 0] = "lower"
    return out


def _caveats(
    n: int,
    events: float,
    kind: OutcomeKind,
    n_evaluated: int,
    prior: stats.BetaPrior | stats.NormalPrior,
    codings: Sequence[AttributeCoding],
    counts: SegmentCounts,
) -> list[str]:
    out = []
    if n < 1000:
        out.append(f"small data: {n} accounts; only large effects can be detected")
    if kind == "binary" and events < 50:
        out.append(f"few events: {int(events)} in all; intervals are wide")
    if n_evaluated == 0:
        out.append("no segment meets the minimum support; lower min_support or add data")
    flat = (isinstance(prior, stats.BetaPrior) and prior.capped) or (
        isinstance(prior, stats.NormalPrior) and prior.tau2 == 0
    )
    if flat and n_evaluated:
        out.append("segments vary no more than chance would: shrunk estimates equal the base")
    for c in codings:
        if c.matrix.shape[0] == 0:
            out.append(f"{c.name}: no value or cut met the minimum support; not searched")
    return out

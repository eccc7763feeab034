"""Folding redundant conjunctions into their parents.

A parent of a conjunction of d conditions is the conjunction of d - 1 of them. A conjunction is
folded (dropped from the findings, still counted in the q-values) when one of its parents
explains it: the parent's rate lies inside the conjunction's own interval (the data cannot tell
them apart), or the two rates differ by less than ``min_effect`` (the extra condition adds
nothing worth acting on). Single conditions are never folded.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def segment_keys(selectors: IntArray, base: int) -> IntArray:
    """One integer per segment from its sorted selector ids (-1 = unused slot), unique across
    depths: the ids plus one, read as digits in ``base`` (base > largest id + 1)."""
    key = np.zeros(selectors.shape[0], dtype=np.int64)
    for col in range(selectors.shape[1]):
        g = selectors[:, col]
        key = np.where(g >= 0, key * base + g + 1, key)
    return key


def parent_index(
    selectors: IntArray, drop: int, keys_sorted: IntArray, order: IntArray, base: int
) -> IntArray:
    """Row of the parent without selector slot ``drop`` for every segment (-1 if not present)."""
    parent = np.delete(selectors, drop, axis=1)
    pkey = segment_keys(parent, base)
    pos = np.searchsorted(keys_sorted, pkey)
    pos = np.minimum(pos, max(len(keys_sorted) - 1, 0))
    found = (
        (keys_sorted.size > 0) & (keys_sorted[pos] == pkey)
        if keys_sorted.size
        else np.zeros(len(pkey), dtype=bool)
    )
    return np.where(found, order[pos] if keys_sorted.size else -1, -1)


class SegmentIndex:
    """Finds, for every segment, the row of its parent without one slot or of one single
    condition (-1 where that segment was not evaluated)."""

    def __init__(self, selectors: IntArray) -> None:
        self.selectors = selectors
        self.base = int(selectors.max()) + 2
        keys = segment_keys(selectors, self.base)
        self.order = np.argsort(keys, kind="stable")
        self.keys_sorted = keys[self.order]

    def parent(self, slot: int) -> IntArray:
        """Row of each segment's parent without selector slot ``slot``."""
        return parent_index(self.selectors, slot, self.keys_sorted, self.order, self.base)

    def single(self, slot: int) -> IntArray:
        """Row of the single-condition segment made of each segment's selector in ``slot``."""
        alone = np.full((len(self.selectors), 2), -1, dtype=self.selectors.dtype)
        alone[:, 0] = self.selectors[:, slot]
        return parent_index(alone, 1, self.keys_sorted, self.order, self.base)


def fold_mask(
    selectors: IntArray,
    depth: IntArray,
    rate: FloatArray,
    rate_lo: FloatArray,
    rate_hi: FloatArray,
    min_effect: float,
) -> BoolArray:
    """True for every conjunction that one of its parents explains (see the module docstring).

    Parents missing from the arrays (never the case for segments above the minimum support,
    whose parents are at least as large) do not fold anything.
    """
    folded = np.zeros(len(rate), dtype=bool)
    if selectors.size == 0:
        return folded
    index = SegmentIndex(selectors)
    deep = depth >= 2
    for slot in range(selectors.shape[1]):
        has_slot = deep & (selectors[:, slot] >= 0)
        if not has_slot.any():
            continue
        idx = index.parent(slot)
        ok = has_slot & (idx >= 0)
        p_rate = rate[np.where(ok, idx, 0)]
        inside = (p_rate >= rate_lo) & (p_rate <= rate_hi)
        small = np.abs(rate - p_rate) < min_effect
        folded |= ok & (inside | small)
    return folded


def no_interaction_mask(
    selectors: IntArray,
    depth: IntArray,
    n: FloatArray,
    total: FloatArray,
    rate_lo: FloatArray,
    rate_hi: FloatArray,
    n_all: float,
    total_all: float,
    centre: float,
    multiplicative: bool,
    min_departure: float,
    min_cell: int = 5,
) -> BoolArray:
    """True for every conjunction that shows no interaction between a parent and its last
    condition: what the two do apart predicts what they do together.

    For a conjunction A AND B (A a parent, B the remaining single condition) the accounts split
    into the cells A&B, A&~B, ~A&B and ~A&~B, all counted from the segment counts already made.
    With no interaction a binary outcome's risk ratios multiply, so A&B is expected at
    rate(A&~B) x rate(~A&B) / rate(~A&~B); a continuous outcome's differences add, so at
    mean(A&~B) + mean(~A&B) - mean(~A&~B). When the conjunction's interval holds that
    expectation, it tells the reader nothing its parts do not (small deals AND intent leads
    churning as much as either predicts), and it is folded; one AE's quarter-end deals, which
    churn far beyond what that AE's other deals and other AEs' quarter-end deals predict, stay.
    The departure must also be material: at least ``min_departure`` as a ratio (binary, either
    way) or as a difference (continuous), because correlated proxies (deal size and seats, intent
    score and intent source) leave small apparent interactions that are not worth a finding.
    Cells under ``min_cell`` accounts cannot show anything and fold nothing.
    """
    folded = np.zeros(len(n), dtype=bool)
    if selectors.size == 0:
        return folded
    index = SegmentIndex(selectors)
    deep = depth >= 2
    for slot in range(selectors.shape[1]):
        used = deep & (selectors[:, slot] >= 0)
        if not used.any():
            continue
        a, b = index.parent(slot), index.single(slot)
        ok = used & (a >= 0) & (b >= 0)
        ia, ib = np.where(ok, a, 0), np.where(ok, b, 0)
        cells_n = (n[ia] - n, n[ib] - n, n_all - n[ia] - n[ib] + n)
        cells_t = (total[ia] - total, total[ib] - total, total_all - total[ia] - total[ib] + total)
        ok &= np.all([c >= min_cell for c in cells_n], axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            a_only, b_only, neither = (
                centre + t / np.maximum(c, 1) for t, c in zip(cells_t, cells_n, strict=True)
            )
            if multiplicative:
                expected = np.where(neither > 0, a_only * b_only / neither, np.nan)
            else:
                expected = a_only + b_only - neither
            observed = centre + total / np.maximum(n, 1)
            if multiplicative:
                ratio = observed / expected
                material = (ratio >= min_departure) | (ratio <= 1 / min_departure)
            else:
                material = np.abs(observed - expected) >= min_departure
        inside = (expected >= rate_lo) & (expected <= rate_hi)
        folded |= ok & (inside | ~material)
    return folded

"""Selectors: the single conditions (``industry = Retail``, ``seats_at_close < 50``) segments are
built from, and how each attribute is encoded as small integer codes in the engine.

Each attribute becomes a code column with K codes; a selector matrix (S x K, zeros and ones) says
which codes each of its S selectors covers. Counts per code therefore turn into counts per
selector by one matrix product, and thresholds ``x < cut`` / ``x >= cut`` are cumulative sums of
quantile bins, with no extra query.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pandas as pd

from icploop.errors import IcploopError

MISSING_LABEL = "(missing)"


@dataclass(frozen=True)
class AttributeCoding:
    """How one attribute is encoded: ``n_codes`` codes, and the selectors over them."""

    name: str
    numeric: bool
    n_codes: int
    labels: tuple[str, ...]  # one human-readable condition per selector
    matrix: npt.NDArray[np.float64]  # selectors x codes
    values: tuple[Any, ...] = ()  # categorical: the kept values (None = missing), code = position
    cuts: tuple[
        float, ...
    ] = ()  # numeric: ascending cut points; bin b holds cuts[b-1] <= x < cuts[b]

    def code_expr(self, table: ir.Table) -> ir.IntegerValue:
        """The engine expression giving each account its code (last code = rare or missing)."""
        col = table[self.name]
        other = self.n_codes - 1
        if self.numeric:
            if not self.cuts:
                return ibis.literal(other, type="int32")
            branches = [(col.isnull(), other)]
            branches += [(col < c, i) for i, c in enumerate(self.cuts)]
            return ibis.cases(*branches, else_=len(self.cuts)).cast("int32")
        text = col.cast("string")
        branches = []
        for i, v in enumerate(self.values):
            branches.append((text.isnull() if v is None else text == v, i))
        if not branches:
            return ibis.literal(other, type="int32")
        return ibis.cases(*branches, else_=other).cast("int32")


def nice_round(x: float, digits: int = 2) -> float:
    """Round to ``digits`` significant figures (47.3 -> 47, 1234 -> 1200) so cuts read well."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def format_number(x: float) -> str:
    return f"{x:g}" if abs(x) < 1e6 else f"{x:.3g}"


def numeric_coding(name: str, quantiles: Sequence[float | None]) -> AttributeCoding:
    """Quantile bins of a numeric attribute, searched as ``x < cut`` and ``x >= cut``.

    Cuts are the quantiles rounded to 2 significant figures and de-duplicated; bins are
    0..B-1 with B = len(cuts) + 1 and the last code holds missing values (in no selector).
    """
    cuts = sorted({nice_round(float(q)) for q in quantiles if q is not None and math.isfinite(q)})
    n_bins = len(cuts) + 1
    labels: list[str] = []
    rows: list[npt.NDArray[np.float64]] = []
    for j, c in enumerate(cuts, start=1):
        below = np.zeros(n_bins + 1)
        below[:j] = 1
        above = np.zeros(n_bins + 1)
        above[j:n_bins] = 1
        rows += [below, above]
        labels += [f"{name} < {format_number(c)}", f"{name} >= {format_number(c)}"]
    matrix = np.array(rows) if rows else np.zeros((0, n_bins + 1))
    return AttributeCoding(name, True, n_bins + 1, tuple(labels), matrix, cuts=tuple(cuts))


def categorical_coding(
    name: str, counts: Mapping[Any, int], min_support: int, max_values: int = 50
) -> AttributeCoding:
    """One selector per value with at least ``min_support`` accounts (at most ``max_values``, the
    most frequent); rarer values share the last code and can never form a segment, because a
    conjunction is never larger than its parts. A missing value is a value ``(missing)``."""
    kept = [v for v, c in sorted(counts.items(), key=lambda kv: -kv[1]) if c >= min_support]
    kept = kept[:max_values]
    labels = tuple(f"{name} is missing" if v is None else f"{name} = {v}" for v in kept)
    n_codes = len(kept) + 1
    matrix = np.eye(len(kept), n_codes)
    return AttributeCoding(name, False, n_codes, labels, matrix, values=tuple(kept))


_CONDITION = re.compile(r"^(?P<name>\w+) (?:(?P<op><|>=|=) (?P<value>.+)|is missing)$")


def segment_members(frame: pd.DataFrame, description: str) -> pd.Series:
    """Which rows of ``frame`` belong to a segment, given its description as the search writes
    it (``seats_at_close < 50 AND industry = Retail``; ``x is missing``).

    Raises IcploopError for a condition the search would not write or a column ``frame`` lacks,
    so a hand-edited link fails with a message rather than matching nothing."""
    keep = pd.Series(True, index=frame.index)
    for part in description.split(" AND "):
        match = _CONDITION.match(part.strip())
        if match is None or match["name"] not in frame.columns:
            raise IcploopError(
                f"cannot read the segment condition {part!r}",
                "write `column = value`, `column < number`, `column >= number` or "
                "`column is missing`, joined by AND",
            )
        column = frame[match["name"]]
        if match["op"] is None:
            keep &= column.isna()
        elif match["op"] == "=":
            keep &= column.astype("string") == match["value"]
        else:
            try:
                bound = float(match["value"])
            except ValueError:
                raise IcploopError(f"{match['value']!r} is not a number in {part!r}") from None
            numbers = pd.to_numeric(column, errors="coerce")
            keep &= (numbers < bound) if match["op"] == "<" else (numbers >= bound)
    return keep.fillna(False).astype(bool)

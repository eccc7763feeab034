"""The points table: binned attributes to integer points and tiers A-D, for a CRM or a spreadsheet.

Each attribute is cut into a few bins: numbers at cut points found by a shallow decision tree on
first-year churn (rounded to two significant figures, so a seat floor reads ``50``, not
``48.73``), categories kept when common enough (the rest are ``(other)``), and a ``(missing)``
bin. A logistic regression of staying through year one on the bins gives each bin a weight;
points are the weight scaled so that 20 points double the odds of staying, rounded, and shifted
so the lowest bin of each attribute is 0. An account's points are the plain sum over attributes
and its tier comes from integer cut points on that sum, so a spreadsheet reproduces it exactly.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import yaml
from numpy.typing import NDArray
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from icploop.errors import IcploopError
from icploop.scoring.features import FeatureSet
from icploop.scoring.model import TIER_SHARES, infer_features
from icploop.spreadsheet import neutralise

POINTS_TO_DOUBLE = 20
MISSING = "(missing)"
OTHER = "(other)"
CSV_COLUMNS = ("attribute", "bin", "low", "high", "points")


def _nice(x: float) -> float:
    """``x`` rounded to two significant figures (cut points people can read)."""
    if x == 0 or not math.isfinite(x):
        return x
    digits = 1 - math.floor(math.log10(abs(x)))
    return round(x, digits)


@dataclass(frozen=True)
class PointsBin:
    """One row of the table: an attribute's bin and its points.

    A numeric bin holds values with ``low <= value < high`` (either side open when None); a
    category bin holds ``bin == value``; ``(other)`` any category not listed; ``(missing)`` a blank.
    """

    attribute: str
    bin: str
    points: int
    low: float | None = None
    high: float | None = None


@dataclass
class PointsTable:
    """Bins with points, and the minimum total points of tiers A, B and C (else D)."""

    bins: list[PointsBin] = field(default_factory=list)
    tier_minimums: dict[str, int] = field(default_factory=dict)

    def weights(self) -> dict[str, int]:
        """Per attribute, how far it can move the total: its highest points less its lowest."""
        out: dict[str, int] = {}
        for attribute in self.attributes:
            pts = [b.points for b in self._rows(attribute)]
            out[attribute] = max(pts) - min(pts)
        return out

    def coverage(self, frame: pd.DataFrame) -> pd.Series:
        """Per row, the share of the attributes' weight (``weights``) whose value is known: 1
        when every attribute that moves the total is filled in, 0 when none is."""
        weights = self.weights()
        total = sum(weights.values())
        known = pd.Series(0.0, index=frame.index)
        for attribute, weight in weights.items():
            if attribute in frame.columns and weight:
                values = frame[attribute]
                present = values.notna() & (values.astype(str).str.strip() != "")
                known += present.astype(float) * weight
        return known / total if total else pd.Series(1.0, index=frame.index)

    @property
    def attributes(self) -> list[str]:
        return list(dict.fromkeys(b.attribute for b in self.bins))

    def is_numeric(self, attribute: str) -> bool:
        """Whether ``attribute`` is binned by ranges (a number) rather than by value."""
        return any(
            b.low is not None or b.high is not None or b.bin == "any" for b in self._rows(attribute)
        )

    def _rows(self, attribute: str) -> list[PointsBin]:
        return [b for b in self.bins if b.attribute == attribute]

    def bin_index(self, attribute: str, values: pd.Series) -> NDArray[np.int64]:
        """For each value, the position of its bin among ``attribute``'s rows (vectorised)."""
        rows = self._rows(attribute)
        labels = [b.bin for b in rows]
        missing = labels.index(MISSING) if MISSING in labels else 0
        ranges = [i for i, b in enumerate(rows) if b.bin not in (MISSING, OTHER)]
        if self.is_numeric(attribute):
            v = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
            cuts = np.asarray([rows[i].high for i in ranges[:-1]], dtype="float64")
            pos = np.asarray(ranges)[np.searchsorted(cuts, np.nan_to_num(v), side="right")]
            return np.where(np.isnan(v), missing, pos).astype("int64")
        other = labels.index(OTHER) if OTHER in labels else missing
        lookup = {rows[i].bin: i for i in ranges}
        text = values.astype(str)
        blank = (values.isna() | (text == "")).to_numpy()
        found = text.map(lookup).fillna(other).to_numpy(dtype="int64")
        return np.where(blank, missing, found).astype("int64")

    def points(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per row: the points of each attribute and ``points`` (their plain sum)."""
        out = pd.DataFrame(index=frame.index)
        for attribute in self.attributes:
            values = (
                frame[attribute]
                if attribute in frame.columns
                else pd.Series(np.nan, index=frame.index, dtype="object")
            )
            pts = np.asarray([b.points for b in self._rows(attribute)], dtype="int64")
            out[attribute] = pts[self.bin_index(attribute, values)]
        out["points"] = out.sum(axis=1).astype(int)
        return out

    def tier_of(self, total: int) -> str:
        for tier in ("A", "B", "C"):
            if total >= self.tier_minimums[tier]:
                return tier
        return "D"

    def tiers(self, totals: pd.Series) -> pd.Series:
        return totals.map(self.tier_of)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [(b.attribute, b.bin, b.low, b.high, b.points) for b in self.bins],
            columns=list(CSV_COLUMNS),
        )

    def to_csv(self) -> str:
        """The bins as CSV, then the tier rows (``tier``, the tier, minimum points)."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for b in self.bins:
            writer.writerow(
                [
                    neutralise(b.attribute),
                    neutralise(b.bin),
                    "" if b.low is None else f"{b.low:g}",
                    "" if b.high is None else f"{b.high:g}",
                    b.points,
                ]
            )
        for tier, minimum in self.tier_minimums.items():
            writer.writerow(["tier", tier, minimum, "", ""])
        return buf.getvalue()

    def to_dict(self) -> dict[str, Any]:
        attributes: dict[str, list[dict[str, Any]]] = {}
        for b in self.bins:
            row: dict[str, Any] = {"bin": b.bin, "points": b.points}
            if b.low is not None:
                row["low"] = b.low
            if b.high is not None:
                row["high"] = b.high
            attributes.setdefault(b.attribute, []).append(row)
        out: dict[str, Any] = {
            "points_to_double_the_odds_of_staying": POINTS_TO_DOUBLE,
            "tiers": {"minimum_points": dict(self.tier_minimums), "below_C": "D"},
            "attributes": attributes,
        }
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PointsTable:
        bins = [
            PointsBin(attribute, row["bin"], int(row["points"]), row.get("low"), row.get("high"))
            for attribute, rows in data["attributes"].items()
            for row in rows
        ]
        minimums = {k: int(v) for k, v in data["tiers"]["minimum_points"].items()}
        return cls(bins, minimums)


def _numeric_cuts(x: pd.Series, churned: pd.Series, max_bins: int) -> list[float]:
    known = x.notna()
    if known.sum() < 50 or x[known].nunique() < 2:
        return []
    tree = DecisionTreeClassifier(
        max_leaf_nodes=max_bins, min_samples_leaf=max(30, int(0.05 * known.sum())), random_state=0
    )
    tree.fit(x[known].to_numpy().reshape(-1, 1), churned[known].to_numpy())
    inner = tree.tree_.feature >= 0
    cuts = sorted({_nice(float(t)) for t in tree.tree_.threshold[inner]})
    return [c for c in cuts if x[known].min() < c <= x[known].max()]


def _bins_for(
    name: str, numeric: bool, x: pd.Series, churned: pd.Series, max_bins: int, min_share: float
) -> list[PointsBin]:
    if numeric:
        edges: list[float | None] = [None, *_numeric_cuts(x, churned, max_bins), None]
        bins = []
        for lo, hi in itertools.pairwise(edges):
            if lo is None and hi is None:
                label = "any"
            elif lo is None:
                label = f"< {hi:g}"
            elif hi is None:
                label = f">= {lo:g}"
            else:
                label = f"{lo:g} to < {hi:g}"
            bins.append(PointsBin(name, label, 0, lo, hi))
        return [*bins, PointsBin(name, MISSING, 0)]
    counts = x.dropna().astype(str).value_counts()
    kept = counts[counts >= max(30, min_share * len(x))].index
    return [
        *(PointsBin(name, str(v), 0) for v in sorted(kept)),
        PointsBin(name, OTHER, 0),
        PointsBin(name, MISSING, 0),
    ]


def monotone(values: Sequence[float], weights: Sequence[float]) -> list[float]:
    """The closest monotone sequence to ``values`` (isotonic regression weighted by
    ``weights``), rising or falling, whichever fits better: points that go up and down along a
    number (seats 22-32 below both 0-22 and 32-50) are noise a person cannot act on."""
    x = np.arange(len(values), dtype="float64")
    v = np.asarray(values, dtype="float64")
    w = np.maximum(np.asarray(weights, dtype="float64"), 1e-9)  # an empty bin still has a place
    fits = [
        IsotonicRegression(increasing=up).fit(x, v, sample_weight=w).predict(x)
        for up in (True, False)
    ]
    best = min(fits, key=lambda f: float(np.sum(w * (f - v) ** 2)))
    return [float(f) for f in best]


@dataclass
class PointsFitter:
    """Fits a :class:`PointsTable` to pre-close attributes and an event (first-year churn)."""

    max_bins: int = 4
    min_share: float = 0.03
    regularization: float = 0.5
    table_: PointsTable = field(default_factory=PointsTable)

    def fit(
        self,
        frame: pd.DataFrame,
        churned: pd.Series,
        features: FeatureSet | None = None,
    ) -> PointsTable:
        """Bins and points for the attributes of ``features`` (default: every column, numbers
        binned by range); the exposure is no attribute of an account and gets no points. Points
        along a number are monotone. Tiers follow the one definition the model uses too
        (``TIER_SHARES``): the top 10% of the training accounts by the score are A, the next
        20% B, the next 30% C, the rest D; here the minimums are integer quantiles of the
        training totals, so a spreadsheet reproduces them exactly."""
        features = features or infer_features(frame)
        y = pd.Series(np.asarray(churned, dtype="float64"), index=frame.index)
        known = y.notna()
        frame, y = frame.loc[known], y[known]
        if len(y) < 100 or y.sum() < 10:
            raise IcploopError(
                f"too few accounts with a known outcome for a points table ({len(y)} accounts, "
                f"{int(y.sum())} events)",
                "load more history (at least 100 accounts and 10 events)",
            )
        bins: list[PointsBin] = []
        for name in features.attributes:
            if name in frame.columns and frame[name].notna().any():
                numeric = name in features.numeric
                bins += _bins_for(name, numeric, frame[name], y, self.max_bins, self.min_share)
        table = PointsTable(bins, {})
        design = np.zeros((len(frame), len(bins)))
        offset = 0
        for attribute in table.attributes:
            pos = table.bin_index(attribute, frame[attribute])
            design[np.arange(len(frame)), offset + pos] = 1.0
            offset += len(table._rows(attribute))
        stay = (1 - y).astype(int).to_numpy()
        lr = LogisticRegression(C=self.regularization, max_iter=2000).fit(design, stay)
        scale = POINTS_TO_DOUBLE / math.log(2)
        raw = lr.coef_[0] * scale
        counts = design.sum(axis=0)
        for attribute in table.attributes:
            if not table.is_numeric(attribute):
                continue
            ranged = [
                i for i, b in enumerate(bins) if b.attribute == attribute and b.bin != MISSING
            ]
            raw[ranged] = monotone(list(raw[ranged]), list(counts[ranged]))
        scored = []
        for attribute in table.attributes:
            members = [i for i, b in enumerate(bins) if b.attribute == attribute]
            used = [i for i in members if counts[i] > 0]
            floor = min(raw[i] for i in used) if used else 0.0
            for i in members:
                b = bins[i]
                pts = round(raw[i] - floor) if counts[i] > 0 else 0
                scored.append(PointsBin(b.attribute, b.bin, int(pts), b.low, b.high))
        table = PointsTable(scored, {})
        totals = table.points(frame)["points"]
        minimums, share = {}, 0.0
        for tier, tier_share in TIER_SHARES[:-1]:
            share += tier_share
            minimums[tier] = math.ceil(np.quantile(totals, 1.0 - share))
        table.tier_minimums = minimums
        self.table_ = table
        return table

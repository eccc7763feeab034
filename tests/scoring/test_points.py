"""The points table: integer points per bin, and tiers a spreadsheet reproduces exactly."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import pandas as pd

from icploop.scoring.points import PointsBin, PointsTable
from icploop.scoring.train import TrainedFit, score_records


def spreadsheet_points(table_csv: str, row: dict[str, str]) -> tuple[int, str]:
    """What a spreadsheet does with the exported CSV: for each attribute, the listed category
    (else (other)) or the range low <= value < high (blank = open), (missing) for blanks; sum
    the points; the first tier whose minimum the sum reaches, else D."""
    rows = list(csv.DictReader(io.StringIO(table_csv)))
    tiers = [(r["bin"], int(r["low"])) for r in rows if r["attribute"] == "tier"]
    total = 0
    for attribute in dict.fromkeys(r["attribute"] for r in rows if r["attribute"] != "tier"):
        bins = [r for r in rows if r["attribute"] == attribute]
        value = row.get(attribute, "")
        if value in ("", "nan", "None"):
            chosen = next(b for b in bins if b["bin"] == "(missing)")
        elif any(b["low"] or b["high"] for b in bins) or bins[0]["bin"] == "any":
            v = float(value)
            chosen = next(
                b
                for b in bins
                if b["bin"] != "(missing)"
                and (not b["low"] or v >= float(b["low"]))
                and (not b["high"] or v < float(b["high"]))
            )
        else:
            listed = [b for b in bins if b["bin"] == value]
            chosen = listed[0] if listed else next(b for b in bins if b["bin"] == "(other)")
        total += int(chosen["points"])
    tier = next((t for t, minimum in tiers if total >= minimum), "D")
    return total, tier


def test_a_plain_sum_of_the_exported_points_reproduces_the_stored_tiers_exactly(
    trained: TrainedFit, demo_inputs: dict[str, Any]
) -> None:
    history = demo_inputs["history"]
    records = history[["account_id", *trained.features.attributes]].head(400)
    scored = score_records(records, trained.model, trained.points, reasons=0)
    exported = trained.points.to_csv()
    # round trip through text, as a spreadsheet sees the rows
    text = pd.read_csv(io.StringIO(scored.to_csv(index=False)), dtype=str, keep_default_na=False)
    for row in text.to_dict("records"):
        total, tier = spreadsheet_points(exported, row)
        assert total == int(row["fit_points"])
        assert tier == row["points_tier"]
    assert set(scored["points_tier"]) == {"A", "B", "C", "D"}


def test_points_are_integers_with_a_zero_floor_per_attribute_and_survive_yaml(
    trained: TrainedFit,
) -> None:
    table = trained.points
    for attribute in table.attributes:
        pts = [b.points for b in table.bins if b.attribute == attribute]
        assert min(pts) == 0 and all(isinstance(p, int) for p in pts)
    again = PointsTable.from_dict(trained.points.to_dict())
    assert again.to_csv() == table.to_csv()
    assert "points_to_double_the_odds_of_staying: 20" in table.to_yaml()


def test_the_seat_bins_give_large_accounts_more_points_than_small_ones(trained: TrainedFit) -> None:
    seats = [
        b for b in trained.points.bins if b.attribute == "seats_at_close" and b.bin != "(missing)"
    ]
    assert len(seats) >= 2
    assert seats[-1].points > seats[0].points
    cuts = [b.low for b in seats if b.low is not None]
    assert any(30 <= c <= 75 for c in cuts), cuts  # the planted seat floor is near 50


def test_a_hand_made_table_bins_values_as_documented() -> None:
    """seats: < 50 -> 0, >= 50 -> 30; industry Software 10, (other) 0, (missing) 5.
    A 20-seat retailer: 0 + 0 = 0 (D); 80-seat software: 30 + 10 = 40 (A at >= 40);
    blank seats, blank industry: 2 + 5 = 7 (C at >= 5)."""
    table = PointsTable(
        [
            PointsBin("seats", "< 50", 0, None, 50),
            PointsBin("seats", ">= 50", 30, 50, None),
            PointsBin("seats", "(missing)", 2),
            PointsBin("industry", "Software", 10),
            PointsBin("industry", "(other)", 0),
            PointsBin("industry", "(missing)", 5),
        ],
        {"A": 40, "B": 20, "C": 5},
    )
    frame = pd.DataFrame({"seats": [20, 80, math.nan], "industry": ["Retail", "Software", None]})
    totals = table.points(frame)["points"]
    assert list(totals) == [0, 40, 7]
    assert list(table.tiers(totals)) == ["D", "A", "C"]


def test_the_exported_table_shows_a_formula_like_category_as_text() -> None:
    """A category from the data such as =HYPERLINK(...) is written with a leading ' so that a
    spreadsheet shows it instead of running it; a negative cut stays a number."""
    table = PointsTable(
        [
            PointsBin("industry", '=HYPERLINK("http://x.test")', 10),
            PointsBin("industry", "@SUM(A1)", 4),
            PointsBin("industry", "(other)", 0),
            PointsBin("margin", "< -5", 0, None, -5),
            PointsBin("margin", ">= -5", 3, -5, None),
        ],
        {"A": 10, "B": 5, "C": 1},
    )
    rows = list(csv.DictReader(io.StringIO(table.to_csv())))
    assert [r["bin"] for r in rows[:2]] == ['\'=HYPERLINK("http://x.test")', "'@SUM(A1)"]
    assert [r["high"] for r in rows if r["attribute"] == "margin"] == ["-5", ""]

"""The micro-review trigger on hand-made MRR (month numbers from January 2023 = 1).

Three accounts pay 100 a month from month 1. Quarter ends with a 12-month-old cohort are months
15 (2024Q1), 18 (2024Q2) and 21 (2024Q3); each cohort NRR is MRR at M over the 300 of M - 12.
"""

from __future__ import annotations

import pandas as pd
import pytest

from icploop.icp.micro_review import nrr_drops
from tests.metrics.conftest import month, tables_from

LAST = 21


def rows(a_from: dict[int, float]) -> list[tuple[str, int, float]]:
    """a, b and c pay 100 in months 1..LAST; ``a_from`` sets a's MRR from a month on."""
    out: list[tuple[str, int, float]] = []
    for m in range(1, LAST + 2):
        a = 100.0
        for start, value in sorted(a_from.items()):
            if m >= start:
                a = value
        out += [("a", m, a), ("b", m, 100.0), ("c", m, 100.0)]
    return out


def test_a_three_point_fall_in_the_last_quarter_makes_a_micro_review_due() -> None:
    # a drops to 91 in month 21: NRR 2024Q3 = 291 / 300 = 0.97 against 1.00 in 2024Q2
    result = nrr_drops(tables_from(rows({21: 91.0})), month(LAST))
    last = result.series.iloc[-1]
    assert last.period == "2024Q3"
    assert last.nrr == pytest.approx(0.97)
    assert last.change_points == pytest.approx(-3.0)
    assert result.due
    assert result.drops == ("2024Q3",)
    assert result.last_period == "2024Q3"


def test_a_one_point_fall_is_not_enough_for_a_micro_review() -> None:
    # a drops to 97: NRR 0.99, one point under the quarter before
    result = nrr_drops(tables_from(rows({21: 97.0})), month(LAST))
    assert result.series.iloc[-1].change_points == pytest.approx(-1.0)
    assert not result.due
    assert result.drops == ()


def test_a_fall_of_exactly_the_threshold_is_not_more_than_it() -> None:
    result = nrr_drops(tables_from(rows({21: 94.0})), month(LAST))
    assert result.series.iloc[-1].change_points == pytest.approx(-2.0)
    assert not result.due


def test_an_earlier_drop_is_listed_but_no_review_is_due_after_a_flat_quarter() -> None:
    # a at 91 from month 18: 2024Q2 falls 3 points, 2024Q3 stays at 0.97
    result = nrr_drops(tables_from(rows({18: 91.0})), month(LAST))
    assert result.drops == ("2024Q2",)
    assert not result.due


def test_a_larger_threshold_is_respected() -> None:
    result = nrr_drops(tables_from(rows({21: 91.0})), month(LAST), threshold_points=5.0)
    assert not result.due


def test_an_incomplete_quarter_is_left_out_with_a_caveat() -> None:
    # as of month 22 (October 2024) 2024Q4 has one month: the series still ends at 2024Q3
    result = nrr_drops(tables_from(rows({21: 91.0})), month(LAST + 1))
    assert result.last_period == "2024Q3"
    assert result.due
    assert any("2024Q4 is not complete" in c for c in result.caveats)


def test_quarters_without_a_year_old_cohort_have_no_change_and_never_drop() -> None:
    result = nrr_drops(tables_from(rows({})), month(LAST))
    early = result.series[result.series.period < "2024Q1"]
    assert early.nrr.isna().all()
    assert not early.dropped.any()
    assert pd.isna(result.series.set_index("period").change_points["2024Q1"])
    assert result.series.set_index("period").change_points["2024Q3"] == pytest.approx(0.0)

"""One way each outcome's values read, shared by the CLI and the web."""

from __future__ import annotations

import pandas as pd
import pytest

from icploop.segments.catalog import OUTCOMES, column_outcome, outcome_spec


@pytest.mark.parametrize(
    ("outcome", "value", "shown"),
    [
        ("churn", 0.123, "12.3%"),
        ("nrr", 1.053, "105.3%"),
        ("adoption", 0.5, "50.0%"),
        ("ltv", 1234.4, "1,234"),
        ("time-to-value", 12.4, "12 days"),
        ("nrr", None, "-"),
        ("time-to-value", float("nan"), "-"),
    ],
)
def test_each_outcome_reads_in_its_unit(outcome: str, value: float | None, shown: str) -> None:
    assert OUTCOMES[outcome].shown(value) == shown


def test_a_column_outcome_reads_as_its_values_say() -> None:
    scores = pd.DataFrame({"account_id": ["a", "b"], "health_score": [3.14159, 7.0]})
    _, spec = column_outcome(scores, outcome_spec("column:health_score"))
    assert spec.shown(3.14159) == "3.14"  # a number, not a share
    flags = pd.DataFrame({"account_id": ["a", "b"], "churned": ["yes", "no"]})
    _, spec = column_outcome(flags, outcome_spec("column:churned"))
    assert spec.shown(0.25) == "25.0%"

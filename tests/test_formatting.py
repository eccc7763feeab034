"""The one formatting module: numbers for people, unknown as "-", values JSON can hold."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from icploop import formatting as fmt

ABSENT = [None, float("nan"), float("inf"), -math.inf, np.nan, np.float64("nan"), pd.NA]


@pytest.mark.parametrize("value", ABSENT)
def test_an_unknown_value_is_a_dash_in_every_formatter(value: object) -> None:
    for render in (fmt.pct, fmt.points, fmt.ratio, fmt.q, fmt.money, fmt.count, fmt.number):
        assert render(value) == "-"
    assert fmt.shown(value) == "-"
    assert fmt.finite(value) is None and fmt.json_value(value) is None


def test_a_known_zero_stays_zero_and_numbers_read_as_people_write_them() -> None:
    assert fmt.pct(0.0) == "0%" and fmt.pct(0.1234, 1) == "12.3%"
    assert fmt.money(1234567.4, "EUR") == "1,234,567 EUR" and fmt.money(0) == "0"
    assert fmt.thousands(1234567) == "1,235k"
    assert fmt.count(np.int64(12345)) == "12,345"
    assert fmt.points(1.25) == "+1.2" and fmt.points(-3) == "-3.0" and fmt.points(-0.04) == "+0.0"
    assert fmt.ratio(2.104) == "2.10x"
    assert fmt.q(0.03141) == "0.031" and fmt.q(2.2e-7) == "<0.001"
    assert fmt.unknown() == "-" and fmt.unknown("no churn yet") == "- (no churn yet)"


def test_an_estimate_shows_its_interval_and_nothing_when_it_is_unknown() -> None:
    assert fmt.estimate(12_400, 10_100, 14_900) == "12k (10k-15k)"
    assert fmt.estimate(0, 0, 0) == "0k (0k-0k)"  # a known zero is a zero
    assert fmt.estimate(float("nan"), 0, 0) == "-" and fmt.estimate(None, None, None) == "-"
    assert fmt.estimate(0.5, None, pd.NA, fmt.pct) == "50%"
    assert fmt.points(pd.NA, 0) == "-" and fmt.points(2, 0) == "+2" and fmt.count(pd.NA) == "-"


def test_dates_lose_a_midnight_time_and_keep_any_other() -> None:
    assert fmt.day(dt.date(2026, 9, 30)) == "2026-09-30"
    assert fmt.day(pd.Timestamp("2026-09-30")) == "2026-09-30"
    assert fmt.day(dt.datetime(2026, 9, 30, 14, 5, 59)) == "2026-09-30 14:05"
    assert fmt.day("2026-09-30 00:00:00") == "2026-09-30"
    assert fmt.day("2026-09-30T00:00:00+00:00") == "2026-09-30"
    assert fmt.day("not a date 00:00:00") == "not a date 00:00:00"
    assert fmt.day("2026-12-02T14:07:22.406270") == "2026-12-02 14:07"
    assert fmt.day(pd.NaT) == "-"
    assert fmt.json_value(np.datetime64("2026-09-30T00:00:00")) == "2026-09-30"


def test_json_values_are_plain_python() -> None:
    values = [np.int64(3), np.float32(0.5), np.bool_(True), pd.Timestamp("2026-01-01"), "x"]
    out = [fmt.json_value(v) for v in values]
    assert out == [3, 0.5, True, "2026-01-01", "x"]
    assert [type(v) for v in out] == [int, float, bool, str, str]
    json.dumps(out)


def test_a_cell_shows_any_value_without_raw_digits() -> None:
    assert fmt.shown(0.9670442842430484) == "0.97"
    assert fmt.shown(3.0) == "3" and fmt.shown(1234) == "1,234"
    assert fmt.shown(True) == "yes" and fmt.shown("a@b.test") == "a@b.test"
    assert fmt.shown(pd.Timestamp("2026-03-01")) == "2026-03-01"


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_no_formatter_ever_prints_nan_or_inf(value: float) -> None:
    for render in (fmt.pct, fmt.points, fmt.ratio, fmt.q, fmt.money, fmt.number, fmt.shown):
        text = render(value).lower()
        assert "nan" not in text and "inf" not in text

"""Rows the web pages read from the warehouse hold plain values: unknown is None, never NaT/NA."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from icploop.web.queries import _plain


@pytest.mark.parametrize("unknown", [None, float("nan"), np.nan, pd.NaT, pd.NA])
def test_an_unknown_cell_is_none(unknown: object) -> None:
    assert _plain(unknown) is None


def test_known_cells_keep_their_value_as_plain_python() -> None:
    assert _plain(pd.Timestamp("2026-03-31")) == dt.date(2026, 3, 31)
    assert _plain(np.int64(0)) == 0 and type(_plain(np.int64(0))) is int
    assert _plain(np.float64(0.0)) == 0.0
    assert _plain("NaT-like text") == "NaT-like text"
    assert _plain(dt.date(2026, 1, 1)) == dt.date(2026, 1, 1)

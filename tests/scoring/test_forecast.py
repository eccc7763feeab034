"""The NRR forecast from the fit-tag mix: its backtest on the demo history, and hand-worked cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from icploop.flags.tags_in_force import computed_tags
from icploop.ingest.paying import paying_months
from icploop.scoring.forecast import actual_nrr, backtest, forecast_nrr_at

from .conftest import AS_OF

#: The backtest bound: forecasts 12 months ahead on the small demo company miss the NRR that
#: followed by at most 7 points on average (about 4-5 measured) and 15 at worst (about 13: one
#: quarter's cohort of oversold deals moves a small company's NRR a lot).
MEAN_ERROR_BOUND = 7.0
MAX_ERROR_BOUND = 15.0


@pytest.fixture(scope="module")
def paying_and_tags(demo_inputs: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    tables = demo_inputs["tables"]
    paying = paying_months(tables.mrr_monthly, AS_OF).select("account_id", "m", "cents").to_pandas()
    return paying, computed_tags(demo_inputs["backend"], AS_OF).known_months()


def test_the_backtest_of_the_nrr_forecast_stays_within_its_error_bound(
    paying_and_tags: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    paying, tags = paying_and_tags
    bt = backtest(paying, tags)
    assert len(bt.rows) >= 8
    assert bt.mean_abs_error_points <= MEAN_ERROR_BOUND
    assert bt.max_abs_error_points <= MAX_ERROR_BOUND
    assert bt.coverage >= 0.5
    assert "NRR points" in bt.sentence


def test_the_forecast_weights_bad_fits_at_their_lower_historical_retention(
    paying_and_tags: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    paying, tags = paying_and_tags
    f = forecast_nrr_at(paying, tags, AS_OF)
    groups = f.groups.set_index("group")
    assert groups.loc["bad_fit", "historical_nrr"] < groups.loc["strong_fit", "historical_nrr"]
    assert f.low < f.nrr < f.high
    assert abs(groups["mrr_share"].sum() - 1) < 1e-9
    assert f.target_month == dt.date(2027, 10, 1)


def _toy() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two waves of 60 accounts at MRR 100 (10,000 cents): wave 1 starts at month index 24000
    (2000-01), wave 2 at 24015; accounts 0-29 are strong fits, 30-59 bad fits, and 50-59 churn
    after 12 months. Tags are known at month 3 of each wave."""
    rows = []
    for wave, start in ((1, 24000), (2, 24015)):
        for i in range(60):
            acc = f"W{wave}-{i}"
            churns = i >= 50  # 10 of the 30 bad accounts (ids 30-59) churn after 12 months
            last = start + 11 if churns else 24040
            rows += [(acc, m, 10_000) for m in range(start, last + 1)]
    paying = pd.DataFrame(rows, columns=["account_id", "m", "cents"])
    tags = pd.DataFrame(
        {
            "account_id": [f"W{w}-{i}" for w in (1, 2) for i in range(60)],
            "tag": ["strong_fit" if i < 30 else "bad_fit" for _w in (1, 2) for i in range(60)],
            "known_m": [24003 if w == 1 else 24018 for w in (1, 2) for _i in range(60)],
        }
    )
    return paying, tags


def test_a_hand_worked_mix_gives_the_weighted_group_rates() -> None:
    """Forecast at 2001-07 (m = 24018). History at 24006, 24003 and 24000: wave 1 in its
    first year; strong 30 x 100 stays 30 x 100 (1.0), bad 30 x 100 becomes 20 x 100 (2/3);
    no tenured history, so tenured accounts get the overall rate 50/60. Book at 24018: wave 1
    tenured 50 x 100, wave 2 strong 30 x 100 and bad 30 x 100.
    Forecast = (5000 x 5/6 + 3000 x 1 + 3000 x 2/3) / 11000; actual = (5000 + 3000 + 2000) / 11000."""
    paying, tags = _toy()
    f = forecast_nrr_at(paying, tags, dt.date(2001, 7, 31), draws=50)
    expected = (5000 * 5 / 6 + 3000 * 1.0 + 3000 * 2 / 3) / 11000
    assert f.nrr == pytest.approx(expected, abs=1e-9)
    # no near fit now and none in history: no rate (not the overall 5/6 it would borrow);
    # untagged (none now) keeps the rate of its own history, tenured the one it borrows
    groups = f.groups.set_index("group")
    assert groups.loc[["near_fit", "untagged"], "accounts"].tolist() == [0, 0]
    assert pd.isna(groups.loc["near_fit", "historical_nrr"])
    assert groups.loc["untagged", "historical_nrr"] == pytest.approx(50 / 60)
    assert groups.loc["tenured", "historical_nrr"] == pytest.approx(5 / 6)
    assert f.to_dict()["groups"][2]["historical_nrr"] is None
    assert actual_nrr(paying, dt.date(2001, 7, 31)) == pytest.approx((5000 + 3000 + 2000) / 11000)

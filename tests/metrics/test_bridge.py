"""The MRR bridge reconciles with MRR every period and matches the monthly movements."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icploop.errors import IcploopError
from icploop.metrics.bridge import mrr_bridge
from icploop.metrics.movements import MOVEMENT_COLUMNS
from icploop.metrics.retention import retention

from .conftest import month, tables_from
from .test_properties import histories, rates, rows_of

LAST = 16
# each example runs the engine a few times: enough examples to meet lapses, fx and partial
# quarters, few enough to keep the suite lean
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(SETTINGS, max_examples=6)


def cents(s: pd.Series) -> pd.Series:
    return (s * 100).round().astype("int64")


def direct_mrr(hist: list[list[int]], fx: list[float]) -> dict[int, int]:
    """Total MRR per month number straight from the rows, in cents (no engine involved)."""
    out = dict.fromkeys(range(1, LAST + 1), 0)
    for _acc, m, mrr, *_ in rows_of(hist, fx):
        out[int(m)] += round(float(mrr) * 100)  # type: ignore[call-overload]
    return out


@SETTINGS
@given(histories, rates, st.sampled_from(["month", "quarter"]))
def test_the_bridge_reconciles_with_mrr_every_period(
    hist: list[list[int]], fx: list[float], period: str
) -> None:
    rows = rows_of(hist, fx)
    if not rows:
        return
    f = mrr_bridge(tables_from(rows), month(LAST), period=period).frame  # type: ignore[arg-type]
    c = {col: cents(f[col]) for col in ("mrr_start", *MOVEMENT_COLUMNS, "mrr_end")}
    moved = c["new"] + c["reactivation"] + c["expansion"] - c["contraction"] - c["churn"] + c["fx"]
    assert (c["mrr_end"] - c["mrr_start"] == moved).all()  # exact to the cent
    assert (c["mrr_start"].iloc[1:].to_numpy() == c["mrr_end"].iloc[:-1].to_numpy()).all()
    truth = direct_mrr(hist, fx)
    for r, end in zip(f.itertuples(index=False), c["mrr_end"], strict=True):
        assert end == truth[r.period_end.month + 12 * (r.period_end.year - 2023)]
    assert f.partial.tolist() == [False] * (len(f) - 1) + [period == "quarter"]


@FEWER
@given(histories, rates)
def test_the_bridge_matches_the_monthly_movements_and_quarters_sum_their_months(
    hist: list[list[int]], fx: list[float]
) -> None:
    rows = rows_of(hist, fx)
    if not rows:
        return
    t = tables_from(rows)
    monthly = mrr_bridge(t, month(LAST)).frame.set_index("period")
    flows = retention(t, month(LAST)).frame.set_index("period")
    cols = list(MOVEMENT_COLUMNS)
    both = flows.index  # retention lists the months with a movement row; the bridge every month
    pd.testing.assert_frame_equal(
        monthly.loc[both, cols].map(round), flows[cols].map(round), check_dtype=False
    )
    assert (monthly.drop(index=both)[cols] == 0).all().all()
    quarterly = mrr_bridge(t, month(LAST), period="quarter").frame.set_index("period")
    by_quarter = monthly.groupby(
        [f"{d.year}Q{(d.month - 1) // 3 + 1}" for d in monthly.period_start]
    )
    pd.testing.assert_frame_equal(
        cents(by_quarter[cols].sum().stack()).unstack(),
        cents(quarterly[cols].stack()).unstack(),
        check_names=False,
    )


@FEWER
@given(histories, st.permutations(["x", "y", "z"]))
def test_groups_add_up_to_the_total(hist: list[list[int]], labels: list[str]) -> None:
    rows = rows_of(hist)
    if not rows:
        return
    ids = sorted({r[0] for r in rows})
    accounts = pd.DataFrame(
        {"account_id": ids, "segment": [labels[i % 3] for i in range(len(ids))]}
    )
    t = tables_from(rows, accounts=accounts)
    total = mrr_bridge(t, month(LAST), period="quarter").frame.set_index("period")
    grouped = mrr_bridge(t, month(LAST), period="quarter", by=["segment"]).frame
    groups = grouped.segment.nunique()
    assert len(grouped) == groups * len(total)  # every group in every period
    cols = ["mrr_start", *MOVEMENT_COLUMNS, "mrr_end"]
    summed = grouped.groupby("period")[cols].sum()
    assert (cents(summed.stack()) == cents(total[cols].stack())).all()


def test_a_known_history_gives_the_bridge_by_hand() -> None:
    # a: new 100 in month 1, expands to 150 in 2, churns in 4; b: new 50 in 2, away in 3,
    # back at 80 in 4 (reactivation)
    rows = [("a", 1, 100), ("a", 2, 150), ("a", 3, 150), ("b", 2, 50), ("b", 4, 80)]
    f = mrr_bridge(tables_from(rows), month(4)).frame.set_index("period")
    assert f.loc["2023-01", ["mrr_start", "new", "mrr_end"]].tolist() == [0, 100, 100]
    assert f.loc["2023-02", ["new", "expansion", "mrr_end"]].tolist() == [50, 50, 200]
    assert f.loc["2023-03", ["churn", "mrr_end"]].tolist() == [50, 150]
    assert f.loc["2023-04", ["churn", "reactivation", "mrr_end", "net_change"]].tolist() == [
        150,
        80,
        80,
        -70,
    ]
    q = mrr_bridge(tables_from(rows), month(4), period="quarter")
    assert q.frame.period.tolist() == ["2023Q1", "2023Q2"]
    assert q.frame.partial.tolist() == [False, True]
    assert any("2023Q2 is not over" in c for c in q.caveats)


def test_a_year_is_refused_in_one_line() -> None:
    with pytest.raises(IcploopError, match="unknown period 'year'"):
        mrr_bridge(tables_from([("a", 1, 100)]), month(2), period="year")  # type: ignore[arg-type]

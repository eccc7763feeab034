"""The default as-of date: the end of the last complete month of data, a partial month named."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from icploop.errors import IcploopError
from icploop.metrics.data_end import activity_dates, data_end


def mrr(counts: dict[str, int]) -> ibis.Table:
    """``mrr_monthly`` with ``counts[month]`` paying accounts in each month (``2026-09``)."""
    rows = [
        {"account_id": f"A{i:04d}", "month": dt.date.fromisoformat(f"{month}-01"), "mrr": 100.0}
        for month, n in counts.items()
        for i in range(n)
    ]
    return ibis.memtable(pd.DataFrame(rows))


def dates(*days: str, column: str = "date") -> ibis.Table:
    return ibis.memtable(pd.DataFrame({column: [dt.date.fromisoformat(d) for d in days]}))


def test_a_month_whose_activity_reaches_its_last_week_is_complete() -> None:
    usage = dates("2026-09-14", "2026-10-26")  # a weekly row dated on the month's last Monday
    end = data_end(mrr({"2026-09": 50, "2026-10": 49}), [usage.date])
    assert end.as_of == dt.date(2026, 10, 31)
    assert end.partial_month is None and end.caveats == ()
    assert end.last_activity == dt.date(2026, 10, 26)


def test_an_export_taken_mid_month_leaves_the_month_out_and_says_so() -> None:
    notes = dates("2026-09-30", "2026-10-12")
    end = data_end(mrr({"2026-08": 50, "2026-09": 50, "2026-10": 50}), [notes.date])
    assert end.as_of == dt.date(2026, 9, 30)
    assert end.partial_month == dt.date(2026, 10, 1)
    assert end.last_month == dt.date(2026, 10, 1)
    (caveat,) = end.caveats
    assert "October 2026 is left out as a partial month" in caveat
    assert "2026-10-12" in caveat and "2026-09-30" in caveat


def test_far_fewer_paying_accounts_than_the_month_before_mark_a_partial_month() -> None:
    end = data_end(mrr({"2026-09": 100, "2026-10": 55}))
    assert end.as_of == dt.date(2026, 9, 30) and end.partial_month == dt.date(2026, 10, 1)
    assert "55 paying accounts against 100 in September 2026" in end.caveats[0]


def subscriptions_ending(accounts: range, day: str, earlier: range = range(0)) -> ibis.Table:
    """``subscriptions`` whose periods of ``accounts`` end on ``day`` (the others' on 2026-09-30
    for ``earlier``): what a snapshot records of the customers it saw leave."""
    rows = [{"account_id": f"A{i:04d}", "period_end": dt.date.fromisoformat(day)} for i in accounts]
    rows += [{"account_id": f"A{i:04d}", "period_end": dt.date(2026, 9, 30)} for i in earlier]
    return ibis.memtable(pd.DataFrame(rows))


def test_losses_the_export_records_inside_the_month_are_churn_not_a_cut() -> None:
    """A snapshot that ends its churners inside its last month (the Telco mapping): a 45% drop
    whose accounts all have a period ending in October is churn the data saw; the month stays."""
    churned = subscriptions_ending(range(55, 100), "2026-10-30")
    end = data_end(mrr({"2026-09": 100, "2026-10": 55}), subscriptions=churned)
    assert end.as_of == dt.date(2026, 10, 31) and end.partial_month is None
    assert end.caveats == ()


def test_accounts_whose_rows_stop_at_the_month_before_still_mark_a_partial_month() -> None:
    """Monthly rows missing after a cut end their periods at the previous month's end: that is
    not a recorded cancellation, so the month is still partial; 5 recorded ones do not save it."""
    missing = subscriptions_ending(range(95, 100), "2026-10-12", earlier=range(55, 95))
    end = data_end(mrr({"2026-09": 100, "2026-10": 55}), subscriptions=missing)
    assert end.as_of == dt.date(2026, 9, 30) and end.partial_month == dt.date(2026, 10, 1)
    assert "55 paying accounts and 5 recorded as ending against 100 in" in end.caveats[0]


def test_an_ordinary_month_of_churn_is_not_partial() -> None:
    end = data_end(mrr({"2026-09": 100, "2026-10": 81}))
    assert end.as_of == dt.date(2026, 10, 31) and end.caveats == ()


def test_a_small_book_losing_a_few_accounts_is_not_partial() -> None:
    # 19 accounts before: too few for the paying-account test to mean anything
    end = data_end(mrr({"2026-09": 19, "2026-10": 10}))
    assert end.as_of == dt.date(2026, 10, 31) and end.partial_month is None


def test_mrr_months_past_the_latest_activity_are_contract_periods_to_come() -> None:
    subscriptions = dates("2026-05-03", "2026-10-29", column="period_start")
    months = {"2026-09": 40, "2026-10": 40, "2026-11": 40, "2027-01": 40}
    end = data_end(mrr(months), [subscriptions.period_start])
    assert end.last_month == dt.date(2026, 10, 1) and end.as_of == dt.date(2026, 10, 31)
    (caveat,) = end.caveats
    assert "January 2027" in caveat and "left out" in caveat


def test_the_only_month_of_data_is_named_partial_but_kept() -> None:
    end = data_end(mrr({"2026-10": 30}), [dates("2026-10-05").date])
    assert end.as_of == dt.date(2026, 10, 31) and end.partial_month is None
    assert "the only month of data" in end.caveats[0]


def test_scheduled_dates_are_not_activity() -> None:
    deals = ibis.memtable(
        pd.DataFrame(
            {
                "close_date": [dt.date(2026, 10, 30), dt.date(2027, 3, 1)],
                "outcome": ["won", "open"],
                "created_date": [dt.date(2026, 9, 1), dt.date(2026, 10, 1)],
            }
        )
    )
    subscriptions = ibis.memtable(
        pd.DataFrame(
            {
                "period_start": [dt.date(2026, 10, 2)],
                "period_end": [dt.date(2027, 10, 1)],
            }
        )
    )
    columns = activity_dates({"deals": deals, "subscriptions": subscriptions})
    end = data_end(mrr({"2026-09": 30, "2026-10": 30}), columns)
    # the open deal's expected close and the period's end are plans, not events
    assert end.last_activity == dt.date(2026, 10, 30)
    assert end.as_of == dt.date(2026, 10, 31)


def test_an_empty_mrr_table_is_a_clear_error() -> None:
    empty = ibis.memtable(
        pd.DataFrame({"account_id": pd.Series([], dtype=str), "month": pd.Series([], dtype="datetime64[s]"),
                      "mrr": pd.Series([], dtype=float)})
    )  # fmt: skip
    with pytest.raises(IcploopError, match="no MRR is loaded: mrr_monthly is empty"):
        data_end(empty)

"""mrr_monthly: the month rule, normalisation, FX at the period-start rate, concurrent items."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from ibis.backends import BaseBackend

from icploop.ingest.load import load_paths
from icploop.ingest.mapping import load_preset

from .conftest import ACCOUNTS


def mrr(backend: BaseBackend, account: str = "a1") -> list[tuple[Any, ...]]:
    return backend.con.execute(  # type: ignore[attr-defined]
        "SELECT month, mrr FROM mrr_monthly WHERE account_id = $1 ORDER BY month", [account]
    ).fetchall()


def test_a_period_counts_in_a_month_only_when_active_on_its_last_day(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    """Jan 15 - Mar 15: active on Jan 31 and Feb 29, not on Mar 31 -> Jan and Feb only."""
    write("accounts.csv", ACCOUNTS)
    write(
        "subscriptions.csv", "account_id,period_start,period_end,mrr\na1,2024-01-15,2024-03-15,50\n"
    )
    load_paths(backend, [write("x.md", "").parent])
    assert mrr(backend) == [(date(2024, 1, 1), 50.0), (date(2024, 2, 1), 50.0)]


def test_open_ended_periods_run_to_the_latest_month_any_subscription_mentions(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    write("accounts.csv", ACCOUNTS + "a3,Gamma,USD\n")
    write(
        "subscriptions.csv",
        "account_id,period_start,period_end,mrr\na1,2024-01-01,,10\na3,2024-01-01,2024-03-31,5\n",
    )
    load_paths(backend, [write("x.md", "").parent])
    assert [m for m, _ in mrr(backend)] == [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)]


def test_an_annual_contract_is_normalised_to_monthly_mrr(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    """12,000 a year billed annually -> 1,000 in each of its 12 months."""
    load_paths(backend, [write("accounts.csv", "account_id\ncus_1\n", folder="a")])
    path = write(
        "billing.csv",
        "customer_id,subscription_id,plan,period_start,period_end,amount,billing_period_months,currency,quantity,charge_type\n"
        "cus_1,s1,Pro,2024-01-01,2024-12-31,12000,12,USD,5,\n",
    )
    load_paths(backend, [path], load_preset("generic-billing"))
    rows = mrr(backend, "cus_1")
    assert len(rows) == 12 and {v for _, v in rows} == {1000.0}


def test_mrr_converts_at_the_rate_valid_at_each_period_start(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    """EUR 100 from Jan (rate 1.10) and EUR 100 from Mar (rate 1.20 from Feb 15)."""
    write("accounts.csv", ACCOUNTS)
    write("fx_rates.csv", "currency,valid_from,rate\nEUR,2024-01-01,1.10\nEUR,2024-02-15,1.20\n")
    write(
        "subscriptions.csv",
        "subscription_id,account_id,period_start,period_end,mrr\n"
        "s1,a2,2024-01-01,2024-02-29,100\ns1,a2,2024-03-01,2024-03-31,100\n",
    )
    load_paths(backend, [write("x.md", "").parent])
    assert mrr(backend, "a2") == [
        (date(2024, 1, 1), 110.0),
        (date(2024, 2, 1), 110.0),
        (date(2024, 3, 1), 120.0),
    ]
    local = backend.con.execute("SELECT DISTINCT mrr_local, currency FROM mrr_monthly").fetchall()  # type: ignore[attr-defined]
    assert local == [(100.0, "EUR")]


def test_concurrent_subscriptions_of_one_account_are_summed(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    write("accounts.csv", ACCOUNTS)
    write(
        "subscriptions.csv",
        "subscription_id,account_id,period_start,period_end,mrr,seats,discount_mrr,discount_kind\r\n"
        "s1,a1,2024-01-01,2024-01-31,100,5,10,\r\ns2,a1,2024-01-10,2024-01-31,40,2,4,limited\r\n",
    )
    load_paths(backend, [write("x.md", "").parent])
    row = backend.con.execute(  # type: ignore[attr-defined]
        "SELECT mrr, seats, discount_forever, discount_limited FROM mrr_monthly"
    ).fetchall()
    assert row == [(140.0, 7, 10.0, 4.0)]


def test_only_recurring_charges_count(backend: BaseBackend, write: Callable[..., Path]) -> None:
    write("accounts.csv", ACCOUNTS)
    write(
        "subscriptions.csv",
        "subscription_id,account_id,period_start,period_end,mrr,charge_type\n"
        "s1,a1,2024-01-01,2024-01-31,100,recurring\ns2,a1,2024-01-01,2024-01-31,900,one_time\n",
    )
    load_paths(backend, [write("x.md", "").parent])
    assert mrr(backend) == [(date(2024, 1, 1), 100.0)]


def test_monthly_rows_without_an_end_end_where_the_next_month_starts(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    write("accounts.csv", ACCOUNTS)
    write(
        "subscriptions.csv",
        "account_id,period_start,mrr\na1,2024-01-01,100\na1,2024-02-01,80\na1,2024-03-01,90\n",
    )
    load_paths(backend, [write("x.md", "").parent])
    assert [v for _, v in mrr(backend)] == [100.0, 80.0, 90.0]

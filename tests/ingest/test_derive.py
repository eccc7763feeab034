"""mrr_monthly: the month rule, normalisation, FX at the period-start rate, concurrent items."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from ibis.backends import BaseBackend

from icploop.ingest import derive
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


def stored_months(backend: BaseBackend, columns: str = "*") -> list[tuple[Any, ...]]:
    """``columns`` of every stored mrr_monthly row, by account and month."""
    return backend.con.execute(  # type: ignore[attr-defined]
        f"SELECT {columns} FROM mrr_monthly ORDER BY account_id, month"
    ).fetchall()


def test_a_company_in_one_currency_gets_the_months_the_rated_path_gives(
    backend: BaseBackend, write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one-currency path (no join to accounts, amounts summed exactly) against the rated
    one on the same rows: forever and limited discounts, seats, concurrent items, open-ended
    periods bridged to the next, a one-off charge; every column of every row equal."""
    write("accounts.csv", "account_id,name,currency\na1,Alpha,USD\na2,Beta,\n")
    write(
        "subscriptions.csv",
        "subscription_id,account_id,period_start,period_end,mrr,discount_mrr,discount_kind,"
        "seats,charge_type\n"
        "s1,a1,2024-01-15,2024-06-14,100.10,10.05,forever,3,\n"
        "s2,a1,2024-02-01,,33.33,3.33,limited,1,\n"
        "s2,a1,2024-05-01,,40.00,,,2,\n"
        "s3,a2,2024-01-01,2024-12-31,0.07,,,,recurring\n"
        "s4,a2,2024-03-01,2024-03-31,500,,,,one_time\n",
    )
    folder = write("x.md", "").parent

    load_paths(backend, [folder])
    one_currency = stored_months(backend)
    assert len(one_currency) == 12 + 12 and {r[3] for r in one_currency} == {"USD"}
    assert one_currency[0][1:] == (date(2024, 1, 1), 100.1, "USD", 100.1, 10.05, 0.0, 3)
    monkeypatch.setattr(derive, "_one_currency", lambda con, reporting: False)
    load_paths(backend, [folder])
    assert stored_months(backend) == one_currency


def test_without_discounts_or_seats_the_one_currency_path_still_gives_the_rated_months(
    backend: BaseBackend, write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no discount or seats in any period those sums are left out of the one-currency
    aggregation: the months are still the rated path's, zero discounts and blank seats."""
    write("accounts.csv", "account_id,name\na1,Alpha\na2,Beta\n")
    folder = write(
        "subscriptions.csv",
        "subscription_id,account_id,period_start,period_end,mrr\n"
        "s1,a1,2024-01-01,2024-03-31,100.10\ns2,a1,2024-02-01,,0.05\ns3,a2,2024-02-01,,7\n",
    ).parent

    load_paths(backend, [folder])
    one_currency = stored_months(backend, "* EXCLUDE (account_id, month)")
    assert one_currency[1] == (100.15, "USD", 100.15, 0.0, 0.0, None)
    monkeypatch.setattr(derive, "_one_currency", lambda con, reporting: False)
    load_paths(backend, [folder])
    assert stored_months(backend, "* EXCLUDE (account_id, month)") == one_currency


def test_the_derivations_leave_the_engines_compression_setting_as_it_was(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    con = backend.con  # type: ignore[attr-defined]
    con.execute("SET disabled_compression_methods = 'rle'")
    before = con.execute("SELECT current_setting('disabled_compression_methods')").fetchall()
    write("accounts.csv", "account_id,name\na1,Alpha\n")
    folder = write("subscriptions.csv", "account_id,period_start,mrr\na1,2024-01-01,5\n").parent
    load_paths(backend, [folder])
    assert con.execute("SELECT count(*) FROM account_months").fetchall() == [(1,)]
    after = con.execute("SELECT current_setting('disabled_compression_methods')").fetchall()
    assert after == before

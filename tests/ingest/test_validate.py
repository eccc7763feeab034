"""Each validation rule, triggered by a small bad file, with the exact problem it reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ibis.backends import BaseBackend

from icploop.errors import Problem, ValidationError
from icploop.ingest.load import load_paths
from icploop.ingest.mapping import parse_mapping

from .conftest import ACCOUNTS, snapshot


def problems_of(
    backend: BaseBackend, paths: list[Path], mapping: str | None = None
) -> list[Problem]:
    before = snapshot(backend)
    with pytest.raises(ValidationError) as err:
        load_paths(backend, paths, parse_mapping(mapping) if mapping else None)
    assert snapshot(backend) == before, "a refused load must store nothing"
    return err.value.problems


CASES = {
    "a blank required value": (
        "deals.csv",
        "deal_id,account_id,outcome\nd1,a1,won\nd2,,won\n",
        Problem("deals.csv", 3, "account_id", None, "a value (this column is required)"),
    ),
    "a value of the wrong type": (
        "deals.csv",
        "deal_id,account_id,outcome,amount\nd1,a1,won,12k\n",
        Problem(
            "deals.csv",
            2,
            "amount",
            "12k",
            "an amount (a number below 10^16, at most 2 decimals kept)",
        ),
    ),
    "a decimal comma (not read as thousands separators)": (
        "deals.csv",
        'deal_id,account_id,outcome,amount\nd1,a1,won,"1.295,50"\n',
        Problem(
            "deals.csv",
            2,
            "amount",
            "1.295,50",
            "an amount (a number below 10^16, at most 2 decimals kept)",
        ),
    ),
    "a comma that does not group thousands": (
        "deals.csv",
        'deal_id,account_id,outcome,amount\nd1,a1,won,"12,5"\n',
        Problem(
            "deals.csv",
            2,
            "amount",
            "12,5",
            "an amount (a number below 10^16, at most 2 decimals kept)",
        ),
    ),
    "a bad date": (
        "deals.csv",
        "deal_id,account_id,outcome,close_date\nd1,a1,won,2024-02-30\n",
        Problem(
            "deals.csv", 2, "close_date", "2024-02-30", "a date YYYY-MM-DD between 1900 and 2200"
        ),
    ),
    "an absurd date": (
        "deals.csv",
        "deal_id,account_id,outcome,close_date\nd1,a1,won,9999-12-31\n",
        Problem(
            "deals.csv", 2, "close_date", "9999-12-31", "a date YYYY-MM-DD between 1900 and 2200"
        ),
    ),
    "a value outside the allowed ones": (
        "deals.csv",
        "deal_id,account_id,outcome\nd1,a1,maybe\n",
        Problem("deals.csv", 2, "outcome", "maybe", "one of won, lost, open"),
    ),
    "a number below its minimum": (
        "deals.csv",
        "deal_id,account_id,outcome,amount\nd1,a1,won,-5\n",
        Problem("deals.csv", 2, "amount", "-5", "at least 0"),
    ),
    "a number above its maximum": (
        "deals.csv",
        "deal_id,account_id,outcome,discount\nd1,a1,won,1.5\n",
        Problem("deals.csv", 2, "discount", "1.5", "at most 1"),
    ),
    "a duplicate key": (
        "deals.csv",
        "deal_id,account_id,outcome\nd1,a1,won\nd1,a1,lost\n",
        Problem("deals.csv", 3, "deal_id", "d1", "a unique deal_id (already on deals.csv row 2)"),
    ),
    "a duplicate key of several columns": (
        "usage.csv",
        "account_id,date,feature,events\na1,2024-01-05,f,3\na1,2024-01-06,f,1\na1,2024-01-05,f,4\n",
        Problem(
            "usage.csv",
            4,
            "account_id + date + feature",
            "a1 / 2024-01-05 / f",
            "a unique account_id + date + feature (already on usage.csv row 2)",
        ),
    ),
    "a reference to a missing account": (
        "deals.csv",
        "deal_id,account_id,outcome\nd1,zz,won\n",
        Problem(
            "deals.csv",
            2,
            "account_id",
            "zz",
            "a value present in accounts.account_id (in this load or already stored)",
        ),
    ),
    "dates in the wrong order": (
        "deals.csv",
        "deal_id,account_id,outcome,created_date,close_date\nd1,a1,won,2024-05-01,2024-04-01\n",
        Problem("deals.csv", 2, "close_date", "2024-04-01", "a date on or after created_date"),
    ),
    "a negative MRR": (
        "subscriptions.csv",
        "account_id,period_start,mrr\na1,2024-01-01,-10\n",
        Problem("subscriptions.csv", 2, "mrr", "-10", "at least 0"),
    ),
    "an absurd MRR": (
        "subscriptions.csv",
        "account_id,period_start,mrr\na1,2024-01-01,20000000\n",
        Problem(
            "subscriptions.csv",
            2,
            "mrr",
            "20000000",
            "at most 10,000,000 (an MRR above that is usually cents loaded as units)",
        ),
    ),
    "an unknown currency": (
        "subscriptions.csv",
        "account_id,period_start,mrr,currency\na1,2024-01-01,10,XYZ\n",
        Problem(
            "subscriptions.csv",
            2,
            "currency",
            "XYZ",
            "an ISO 4217 currency code such as USD, EUR, GBP",
        ),
    ),
    "a duplicate month of one subscription": (
        "subscriptions.csv",
        "subscription_id,account_id,period_start,mrr\ns1,a1,2024-01-01,10\ns1,a1,2024-01-15,10\n",
        Problem(
            "subscriptions.csv",
            3,
            "period_start",
            "s1 from 2024-01-15",
            "one period per subscription and month (overlaps subscriptions.csv row 2; give concurrent line items their own subscription_id)",
        ),
    ),
    "overlapping periods of one subscription": (
        "subscriptions.csv",
        "subscription_id,account_id,period_start,period_end,mrr\ns1,a1,2024-01-01,2024-06-30,10\ns1,a1,2024-03-01,,10\n",
        Problem(
            "subscriptions.csv",
            3,
            "period_start",
            "s1 from 2024-03-01",
            "one period per subscription and month (overlaps subscriptions.csv row 2; give concurrent line items their own subscription_id)",
        ),
    ),
    "a required column missing from the file": (
        "deals.csv",
        "deal_id,account_id\nd1,a1\n",
        Problem("deals.csv", 2, "outcome", None, "a value (this column is required)"),
    ),
    "a missing FX rate": (
        "subscriptions.csv",
        "account_id,period_start,mrr\na2,2024-01-01,10\n",
        Problem(
            "subscriptions.csv",
            2,
            "currency",
            "EUR",
            "an fx_rates row for EUR (rates into USD) valid on or before the period's start",
        ),
    ),
    "MRR of one account in two currencies": (
        "subscriptions.csv",
        "subscription_id,account_id,period_start,mrr,currency\ns1,a1,2024-01-01,10,USD\ns2,a1,2024-01-01,10,GBP\n",
        None,
    ),
}


@pytest.mark.parametrize("rule", list(CASES))
def test_each_rule_reports_file_row_column_value_and_expectation(
    rule: str, backend: BaseBackend, write: Callable[..., Path]
) -> None:
    name, text, expected = CASES[rule]
    write("accounts.csv", ACCOUNTS)
    write("fx_rates.csv", "currency,valid_from,rate\nGBP,2020-01-01,1.25\n")
    path = write(name, text)
    problems = problems_of(backend, [path.parent])
    if expected is None:
        assert [p.expected for p in problems] == [
            "one currency for all MRR of account a1 (it has GBP, USD)"
        ] * 2
    else:
        assert expected in problems, problems


def test_problems_of_all_files_are_reported_together(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    write("accounts.csv", "account_id,employees\na1,many\n")
    write("deals.csv", "deal_id,account_id,outcome\nd1,a1,perhaps\n")
    problems = problems_of(backend, [write("x.txt", "").parent])
    assert {p.file for p in problems} == {"accounts.csv", "deals.csv"}


def test_problems_beyond_the_cap_are_counted_not_listed(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    rows = "".join(f"d{i},a1,bad\n" for i in range(120))
    write("accounts.csv", ACCOUNTS)
    path = write("deals.csv", "deal_id,account_id,outcome\n" + rows)
    with pytest.raises(ValidationError) as err:
        load_paths(backend, [path.parent])
    assert len(err.value.problems) == 50
    assert err.value.truncated == 70
    assert "120 problem(s)" in err.value.message


def test_a_mapped_file_reports_the_source_column_name(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    load_paths(backend, [write("accounts.csv", ACCOUNTS, folder="first")])
    path = write("export.csv", "Id,Company,Stage\n1,a1,Closed Won\n2,a1,Stalled\n")
    mapping = (
        "tables:\n  - table: deals\n    files: export.csv\n    columns:\n"
        "      deal_id: Id\n      account_id: Company\n"
        "      outcome: {column: Stage, values: {Closed Won: won}}\n"
    )
    with pytest.raises(ValidationError) as err:
        load_paths(backend, [path], parse_mapping(mapping))
    assert (
        Problem("export.csv", 3, "Stage", "Stalled", "one of won, lost, open") in err.value.problems
    )


def test_a_mapping_naming_a_column_the_file_lacks_is_a_problem(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    path = write("export.csv", "Id,Name\n1,x\n")
    mapping = (
        "tables:\n  - table: accounts\n    files: '*'\n    columns:\n      account_id: Record ID\n"
    )
    with pytest.raises(ValidationError) as err:
        load_paths(backend, [path], parse_mapping(mapping))
    assert err.value.problems == [
        Problem(
            "export.csv",
            1,
            "Record ID",
            None,
            "a column 'Record ID' (mapped to accounts.account_id)",
        )
    ]


def test_rows_dropped_by_the_mapping_keep_the_row_numbers_of_the_rows_after_them(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    load_paths(backend, [write("accounts.csv", ACCOUNTS, folder="first")])
    path = write("export.csv", "Id,Company,Stage\n1,,won\n2,,won\n3,a1,won\n4,a1,Stalled\n")
    mapping = (
        "tables:\n  - table: deals\n    files: export.csv\n    drop_if_blank: [account_id]\n"
        "    columns:\n      deal_id: Id\n      account_id: Company\n      outcome: Stage\n"
    )
    with pytest.raises(ValidationError) as err:
        load_paths(backend, [path], parse_mapping(mapping))
    assert err.value.problems == [
        Problem("export.csv", 5, "Stage", "Stalled", "one of won, lost, open")
    ]


def test_typed_parquet_values_are_checked_and_shown_as_the_file_holds_them(
    backend: BaseBackend, tmp_path: Path
) -> None:
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table(
            {
                "account_id": ["a1", "a2", "a3"],
                "employees": pa.array([10, -3, 7], pa.int32()),
                "created_date": [dt.date(2024, 1, 2), dt.date(1, 1, 1), None],
                "intent_score": [55.5, float("inf"), 101.0],
            }
        ),
        tmp_path / "accounts.parquet",
    )
    problems = problems_of(backend, [tmp_path / "accounts.parquet"])
    assert problems == [
        Problem(
            "accounts.parquet",
            2,
            "created_date",
            "0001-01-01",
            "a date YYYY-MM-DD between 1900 and 2200",
        ),
        Problem("accounts.parquet", 2, "employees", "-3", "at least 0"),
        Problem("accounts.parquet", 2, "intent_score", "inf", "a number"),
        Problem("accounts.parquet", 3, "intent_score", "101.0", "at most 100"),
    ]


def test_numbers_with_thousands_separators_are_read_as_numbers(
    backend: BaseBackend, write: Callable[..., Path]
) -> None:
    write(
        "accounts.csv",
        "account_id,name,currency,employees,seats_at_close\n"
        'a1,Acme,USD,"1,295","1,000"\na2,Beta,USD,80,75\n',
    )
    deals = 'deal_id,account_id,outcome,amount\nd1,a1,won,"1,295.50"\nd2,a2,won,"12,345,678"\n'
    load_paths(backend, [write("deals.csv", deals).parent])
    accounts = backend.table("accounts").order_by("account_id").to_pandas()
    assert accounts["employees"].tolist() == [1295, 80]
    assert accounts["seats_at_close"].tolist() == [1000, 75]
    amounts = backend.table("deals").order_by("deal_id").to_pandas()["amount"]
    assert [float(a) for a in amounts] == [1295.5, 12345678.0]

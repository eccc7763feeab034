"""A marketplace's four exports (leads, closed deals, sellers, monthly revenue) load from one
mapping file with lookups, filters and monthly rows (examples/mappings/marketplace.yaml)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ibis.backends import BaseBackend

from icploop.errors import IcploopError, ValidationError
from icploop.ingest.load import load_paths
from icploop.ingest.mapping import load_mapping, parse_mapping

from .conftest import snapshot

REPO = Path(__file__).resolve().parents[2]
MAPPING = REPO / "examples" / "mappings" / "marketplace.yaml"
SAMPLES = Path(__file__).parent / "samples" / "marketplace"


def rows(backend: BaseBackend, sql: str) -> list[tuple[object, ...]]:
    return backend.con.execute(sql).fetchall()  # type: ignore[attr-defined]


def test_the_marketplace_loads_from_one_mapping_file(backend: BaseBackend) -> None:
    result = load_paths(backend, [SAMPLES], load_mapping(MAPPING), reporting_currency="BRL")
    assert result.tables["accounts"].inserted == 6
    assert result.tables["deals"].inserted == 6
    # 21 revenue rows: 4 commissions and one row of 2017 are left out by where
    assert result.tables["subscriptions"].inserted == 16
    assert (
        "seller_monthly_revenue.csv: kept 16 of 21 row(s) where revenue_type == subscription "
        "and month_start >= 2018-01-01" in result.notes
    )
    # the lookups: origin and first contact from leads.csv, state and city from sellers.csv
    assert rows(
        backend,
        "SELECT lead_source, region, CAST(created_date AS VARCHAR) FROM accounts "
        "WHERE account_id = 'bbb7d7893a450660432ea6652310ebb7'",
    ) == [("paid_search", "RJ", "2018-01-16")]
    assert rows(
        backend,
        "SELECT value FROM account_attributes WHERE account_id = "
        "'ed8cb7b190ceb6067227478e48cf8dde' AND attribute = 'seller_city'",
    ) == [("curitiba",)]
    assert rows(
        backend,
        "SELECT CAST(created_date AS VARCHAR), CAST(close_date AS VARCHAR) FROM deals "
        "WHERE deal_id = '7dfd0e3e7d9b3f11ca1d3c2cb1c3e2e5'",
    ) == [("2018-02-20", "2018-03-19")]
    # monthly rows: a month without a row is zero, nothing is carried forward
    assert rows(
        backend,
        "SELECT CAST(month AS VARCHAR), count(*), round(sum(mrr), 2) FROM mrr_monthly "
        "GROUP BY 1 ORDER BY 1",
    ) == [
        ("2018-02-01", 2, 249.8),
        ("2018-03-01", 5, 449.5),
        ("2018-04-01", 4, 449.6),
        ("2018-05-01", 5, 649.5),
    ]
    assert rows(
        backend,
        "SELECT CAST(month AS VARCHAR) FROM mrr_monthly "
        "WHERE account_id = '21e1781e36faf92725dde4730a88ca0f'",
    ) == [("2018-03-01",)]
    assert not any("no end date" in n for n in result.notes)


def test_without_grain_month_the_open_rows_are_carried_forward_with_a_warning(
    backend: BaseBackend,
) -> None:
    text = MAPPING.read_text(encoding="utf-8").replace("    grain: month\n", "")
    result = load_paths(backend, [SAMPLES], parse_mapping(text), reporting_currency="BRL")
    (note,) = [n for n in result.notes if "no end date" in n]
    # bbb7...'s March row bridges its April gap; 21e1...'s only row runs on to April and May
    assert note == (
        "2 subscription period(s) of 2 account(s) have no end date: counted as ongoing to their "
        "next period or through May 2018 (3 account-month(s) without a row of their own); if "
        "each row is one month, set 'grain: month' in the mapping"
    )


def test_a_required_lookup_that_finds_nothing_is_a_problem_and_nothing_is_stored(
    backend: BaseBackend, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    shutil.copytree(SAMPLES, folder)
    leads = folder / "leads.csv"
    kept = [line for line in leads.read_text().splitlines() if not line.startswith("327174")]
    leads.write_text("\n".join(kept) + "\n")
    before = snapshot(backend)
    with pytest.raises(ValidationError) as caught:
        load_paths(backend, [folder], load_mapping(MAPPING), reporting_currency="BRL")
    text = str(caught.value)
    assert (
        "closed_deals.csv, row 4, column 'mql_id': got '327174d3648a2d047e8940d7d15204ca'; "
        "expected a mql_id found in leads.csv (mql_id), as the lookup requires" in text
    )
    assert snapshot(backend) == before


def test_a_lookup_key_repeated_in_the_looked_up_file_is_refused(
    backend: BaseBackend, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    shutil.copytree(SAMPLES, folder)
    sellers = folder / "sellers.csv"
    sellers.write_text(sellers.read_text() + "2c43fb513632d29b3b58df74816f1b06,13024,campinas,SP\n")
    with pytest.raises(ValidationError, match="a unique seller_id to look up"):
        load_paths(backend, [folder], load_mapping(MAPPING), reporting_currency="BRL")


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("{status: {like: '%won%'}}", "where"),
        ("{status: {'==': won, '!=': lost}}", "exactly one operator"),
        ("{status: {in: won}}", "non-empty list"),
        ("{status: {blank: maybe}}", "blank takes true or false"),
        ("\"status == 'won' or 1=1\"", "where is a map"),
    ],
)
def test_where_is_parsed_strictly(where: str, message: str) -> None:
    text = f"tables:\n  - table: deals\n    files: d.csv\n    where: {where}\n"
    with pytest.raises(IcploopError) as caught:
        parse_mapping(text, "m.yaml")
    assert message in str(caught.value)
    assert "m.yaml, line 4" in str(caught.value)


def test_where_compares_numbers_as_numbers_and_never_keeps_blanks(
    backend: BaseBackend, tmp_path: Path
) -> None:
    data = tmp_path / "accounts_export.csv"
    data.write_text("id,size,kind\na1,9,x\na2,10,x\na3,,x\na4,100,y\n")
    mapping = parse_mapping(
        "tables:\n  - table: accounts\n    files: accounts_export.csv\n"
        "    where: {size: {'>=': 10}, kind: {not_in: [z]}}\n"
        "    columns: {account_id: id, employees: size}\n"
    )
    load_paths(backend, [data], mapping)
    assert rows(backend, "SELECT account_id FROM accounts ORDER BY 1") == [("a2",), ("a4",)]


def test_grain_month_is_only_for_subscriptions_and_sets_the_end_itself() -> None:
    with pytest.raises(IcploopError, match="grain: month is for subscriptions"):
        parse_mapping("tables:\n  - table: deals\n    files: d.csv\n    grain: month\n")
    with pytest.raises(IcploopError, match="leave period_end unmapped"):
        parse_mapping(
            "tables:\n  - table: subscriptions\n    files: s.csv\n    grain: month\n"
            "    columns: {period_end: ends}\n"
        )

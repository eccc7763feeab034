"""Each preset loads its realistic sample export (tests/ingest/samples)."""

from __future__ import annotations

from pathlib import Path

from ibis.backends import BaseBackend

from icploop.ingest.load import load_paths
from icploop.ingest.mapping import load_preset

SAMPLES = Path(__file__).parent / "samples"


def rows(backend: BaseBackend, sql: str) -> list[tuple[object, ...]]:
    return backend.con.execute(sql).fetchall()  # type: ignore[attr-defined]


def test_hubspot_companies_then_deals_load_and_drop_deals_without_a_company(
    backend: BaseBackend,
) -> None:
    load_paths(backend, [SAMPLES / "hubspot-companies.csv"], load_preset("hubspot-companies"))
    result = load_paths(backend, [SAMPLES / "hubspot-deals.csv"], load_preset("hubspot-deals"))
    assert result.tables["deals"].inserted == 3
    assert any("dropped 1 row" in n for n in result.notes)
    assert rows(backend, "SELECT deal_id, outcome FROM deals ORDER BY 1") == [
        ("9001", "won"),
        ("9002", "lost"),
        ("9003", "open"),
    ]
    assert ("5012345678", "annual_revenue", "12000000") in rows(
        backend, "SELECT * FROM account_attributes"
    )


def test_salesforce_accounts_then_opportunities_load_with_us_dates(backend: BaseBackend) -> None:
    load_paths(backend, [SAMPLES / "salesforce-accounts.csv"], load_preset("salesforce-accounts"))
    load_paths(
        backend, [SAMPLES / "salesforce-opportunities.csv"], load_preset("salesforce-opportunities")
    )
    assert rows(
        backend,
        "SELECT deal_id, outcome, deal_type, CAST(close_date AS VARCHAR) FROM deals ORDER BY 1",
    ) == [
        ("0065g00000XyZ01", "won", "new", "2021-06-30"),
        ("0065g00000XyZ02", "lost", "new", "2022-02-15"),
        ("0065g00000XyZ03", "open", "expansion", "2023-09-30"),
    ]


def test_generic_billing_loads_periods_and_ignores_one_time_charges_in_mrr(
    backend: BaseBackend, tmp_path: Path
) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id\ncus_001\ncus_002\n", encoding="utf-8")
    load_paths(backend, [accounts])
    load_paths(backend, [SAMPLES / "generic-billing.csv"], load_preset("generic-billing"))
    assert rows(backend, "SELECT count(*) FROM subscriptions") == [(4,)]
    assert rows(
        backend, "SELECT DISTINCT mrr FROM mrr_monthly WHERE account_id = 'cus_001' ORDER BY 1"
    ) == [
        (1000.0,),
        (1100.0,),
    ]
    assert rows(backend, "SELECT mrr FROM mrr_monthly WHERE account_id = 'cus_002'") == [(500.0,)]

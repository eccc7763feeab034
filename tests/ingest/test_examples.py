"""The public exports in ../shared/data load through the example mappings (skip when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ibis.backends import BaseBackend

from icploop.ingest.load import load_paths
from icploop.ingest.mapping import load_mapping

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
MAPPINGS = REPO / "examples" / "mappings"


def folder(name: str) -> Path:
    path = DATA / name
    if not path.is_dir():
        pytest.skip(
            f"public dataset folder {name} not found next to the repository (../shared/data)"
        )
    return path


def test_ravenstack_loads_with_concurrent_subscriptions_summed(backend: BaseBackend) -> None:
    result = load_paths(
        backend, [folder("ravenstack_saas")], load_mapping(MAPPINGS / "ravenstack.yaml")
    )
    assert result.tables["accounts"].inserted == 500
    assert result.tables["subscriptions"].inserted == 5000
    assert result.tables["notes"].inserted == 600
    con = backend.con  # type: ignore[attr-defined]
    [(n,)] = con.execute("SELECT count(DISTINCT account_id) FROM mrr_monthly").fetchall()
    assert 0 < n <= 500


def test_maven_crm_loads_and_reports_open_opportunities_without_an_account(
    backend: BaseBackend,
) -> None:
    path = folder("maven_crm_sales_opportunities")
    result = load_paths(backend, [path], load_mapping(MAPPINGS / "maven_crm.yaml"))
    assert "sales_pipeline.csv: dropped 1425 row(s) with a blank account_id" in result.notes
    con = backend.con  # type: ignore[attr-defined]
    assert con.execute(
        "SELECT count(*) FROM deal_use_cases WHERE use_case = 'GTXPro'"
    ).fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM accounts WHERE industry = 'technolgy'").fetchall() == [
        (0,)
    ]


def test_ibm_telco_snapshot_loads_with_periods_derived_from_tenure(backend: BaseBackend) -> None:
    path = folder("ibm_telco_churn") / "Telco-Customer-Churn.csv"
    result = load_paths(backend, [path], load_mapping(MAPPINGS / "ibm_telco.yaml"))
    assert result.tables["subscriptions"].inserted == 7043
    # the accounts entry keeps every other column as an attribute: none is "not loaded"
    assert not [note for note in result.notes if "columns not loaded" in note]
    con = backend.con  # type: ignore[attr-defined]
    [(start,)] = con.execute(
        "SELECT CAST(period_start AS VARCHAR) FROM subscriptions WHERE account_id = '5575-GNVDE'"
    ).fetchall()
    assert start == "2018-02-28"  # tenure 34 months before 2020-12-31
    # the customers still there are ongoing, as the snapshot means: one line with the counts,
    # and no advice about monthly rows (each customer is one row, not one month)
    [carried] = [note for note in result.notes if "no end date" in note]
    stayed = con.execute(  # those who started in the snapshot's month are not carried at all
        "SELECT count(*) FROM subscriptions WHERE period_end IS NULL "
        "AND period_start < DATE '2020-12-01'"
    ).fetchall()
    assert carried.startswith(
        f"{stayed[0][0]:,} subscription period(s) of {stayed[0][0]:,} account"
    )
    assert "counted as ongoing through December 2020" in carried
    assert "grain" not in carried and "\n" not in carried

"""The attribute roles catalogue: declared for canonical columns, inferred for extras,
overridden by a mapping's ``role:``, and read by segment search, the views and ``status``."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from icploop.cli.main import app
from icploop.errors import IcploopError
from icploop.ingest.attributes import frame_catalog, infer_role, profile_values
from icploop.ingest.load import load_paths
from icploop.ingest.mapping import parse_mapping
from icploop.ingest.schema import ACCOUNTS, ATTRIBUTE_ROLES, DEALS
from icploop.metrics.tables import CanonicalTables
from icploop.segments.catalog import search_outcome
from icploop.segments.compare import compare_icp_views
from icploop.segments.outcomes import account_outcomes, attribute_catalog, deal_outcomes
from icploop.segments.why_we_win import why_we_win

REPO = Path(__file__).resolve().parents[2]
TELCO = REPO.parent / "shared" / "data" / "ibm_telco_churn" / "Telco-Customer-Churn.csv"
runner = CliRunner()


def _role(name: str, values: list[Any]) -> str:
    return infer_role(name, profile_values(pd.Series(values, dtype=object)))[0]


def test_every_account_and_deal_column_declares_a_role_in_the_schema() -> None:
    for table in (ACCOUNTS, DEALS):
        for column in table.columns:
            assert column.role in ATTRIBUTE_ROLES, f"{table.name}.{column.name}"
    assert DEALS.column("outcome").role == "label"
    assert ACCOUNTS.column("account_id").role == "identifier"
    assert ACCOUNTS.column("owner_ae").person and DEALS.column("ae").person


def test_extra_columns_get_a_role_from_their_name_and_values() -> None:
    many = [str(i) for i in range(100)]
    assert _role("annual_revenue", [" 1200.5", "300", "7e3", None, ""]) == "measure"
    assert _role("senior_citizen", ["0", "1", "1", "0"]) == "dimension"  # a flag
    assert _role("plan", ["basic", "pro", "basic"]) == "dimension"
    assert _role("external_ref", [f"X{i:05d}" for i in range(100)]) == "identifier"
    assert _role("office_code", ["02139", "10001", "94105"]) == "dimension"  # zero-padded codes
    assert _role("zip", many) == "identifier"
    assert _role("signed_on", ["2024-01-31", "2023-12-01 10:00:00", "3/4/2024"]) == "date"
    for name in ("churn", "churned", "churn_date", "status", "outcome", "tenure", "cancelled_at"):
        assert _role(name, many) == "label", name
    # a measure that happens to be near-unique stays a measure
    assert _role("monthly_charges", [f"{i * 1.37:.2f}" for i in range(100)]) == "measure"


def test_a_mapping_role_key_parses_and_refuses_unknown_roles_and_tables() -> None:
    mapping = parse_mapping(
        "tables:\n  - table: accounts\n    files: a.csv\n    extra: keep\n"
        "    role: {Churn: label, zip: identifier}\n    columns: {account_id: id}\n"
    )
    assert mapping.tables[0].role == {"Churn": "label", "zip": "identifier"}
    with pytest.raises(IcploopError) as bad:
        parse_mapping(
            "tables:\n  - table: accounts\n    files: a.csv\n    role: {zip: postcode}\n"
            "    columns: {account_id: id}\n",
            "m.yaml",
        )
    assert "m.yaml, line 4" in str(bad.value) and "role.zip" in str(bad.value)
    with pytest.raises(IcploopError, match="role: is only for accounts and deals"):
        parse_mapping(
            "tables:\n  - table: usage\n    files: u.csv\n    role: {feature: label}\n"
            "    columns: {account_id: a, date: d, feature: f}\n"
        )


def _accounts_with_extras(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    n = 300
    ids = [f"a{i}" for i in range(n)]
    frame = pd.DataFrame(
        {
            "id": ids,
            "Industry": rng.choice(["Retail", "Software"], n),
            "Plan": rng.choice(["basic", "pro"], n),
            "Seats": rng.integers(1, 500, n).astype(str),
            "Status": rng.choice(["active", "cancelled"], n),
            "Zip": [f"{i:05d}" for i in rng.integers(1000, 99999, n)],
            "Signed": [f"2024-{m:02d}-01" for m in rng.integers(1, 13, n)],
            "Region Code": rng.choice(["1", "2", "3"], n),
        }
    )
    path = tmp_path / "crm.csv"
    frame.to_csv(path, index=False)
    subs = pd.DataFrame(
        {"account_id": ids, "period_start": "2024-01-01", "mrr": rng.integers(100, 900, n)}
    )
    subs.to_csv(tmp_path / "subs.csv", index=False)
    return path


MAPPING = """
tables:
  - table: accounts
    files: crm.csv
    extra: keep
    role: {Region Code: dimension, Plan: label, Industry: label}
    columns: {account_id: id, industry: Industry}
  - table: subscriptions
    files: subs.csv
    columns: {account_id: account_id, period_start: period_start, mrr: mrr}
"""


def test_status_lists_attributes_with_roles_where_the_mapping_overrides_inference(
    tmp_path: Path,
) -> None:
    _accounts_with_extras(tmp_path)
    ws = tmp_path / "ws"
    (tmp_path / "map.yaml").write_text(MAPPING)
    files = [str(tmp_path / "crm.csv"), str(tmp_path / "subs.csv")]
    mapping = ["--mapping", str(tmp_path / "map.yaml")]
    loaded = runner.invoke(app, ["load", *files, *mapping, "--workspace", str(ws)])
    assert loaded.exit_code == 0, loaded.output
    shown = runner.invoke(app, ["status", "--json", "--workspace", str(ws)])
    roles = {
        (a["table"], a["attribute"]): (a["role"], a["origin"])
        for a in json.loads(shown.output)["attributes"]
    }
    assert roles[("accounts", "account_id")] == ("identifier", "schema")
    assert roles[("accounts", "industry")] == ("label", "mapping")  # by its source name
    assert roles[("accounts", "plan")] == ("label", "mapping")
    assert roles[("accounts", "region_code")] == ("dimension", "mapping")  # else a measure
    assert roles[("accounts", "seats")] == ("measure", "inferred")
    assert roles[("accounts", "status")] == ("label", "inferred")
    assert roles[("accounts", "zip")] == ("identifier", "inferred")
    assert roles[("accounts", "signed")] == ("date", "inferred")
    text = runner.invoke(app, ["status", "--workspace", str(ws)]).output
    assert "attributes" in text and "region_code" in text


@pytest.fixture(scope="module")
def demo_frames(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("roles") / "analytics.duckdb"
    shutil.copy(demo_warehouse, path)
    backend = ibis.duckdb.connect(str(path), read_only=True)
    tables = CanonicalTables.from_backend(backend)
    as_of = dt.date(2026, 10, 31)
    accounts = account_outcomes(tables, as_of)
    deals = deal_outcomes(tables)
    return {"tables": tables, "accounts": accounts, "deals": deals}


def test_the_deal_outcome_is_never_searched_for_win_and_post_sale_attributes_are_left_out(
    demo_frames: dict[str, Any],
) -> None:
    deals = demo_frames["deals"]
    catalog = attribute_catalog(demo_frames["tables"], deals, ("won",))
    assert catalog["outcome"].role == "label"
    result = search_outcome(deals, "win", catalog=catalog)
    assert "outcome" not in result.attributes
    assert not result.segments["segment"].str.contains("outcome =").any()
    # the demo records plan_tier for customers only: a win rate by it would be circular
    assert "plan_tier" not in result.attributes
    assert any("plan_tier is recorded for 100%" in c for c in result.caveats)
    assert "crm_system" in result.attributes  # recorded for won and lost deals alike


def test_attributes_and_exclude_choose_what_is_searched(demo_frames: dict[str, Any]) -> None:
    accounts = demo_frames["accounts"]
    chosen = search_outcome(accounts, "churn", depth=1, attributes=["industry", "seats_at_close"])
    assert chosen.attributes == ("industry",)
    assert chosen.numeric_attributes == ("seats_at_close",)
    everything = search_outcome(accounts, "churn", depth=1)
    assert "owner_ae" in everything.attributes and "csm" not in everything.attributes
    assert "close_quarter" not in everything.attributes  # a date
    less = search_outcome(accounts, "churn", depth=1, exclude=["owner_ae", "seats_at_close"])
    assert set(less.attributes) == set(everything.attributes) - {"owner_ae"}
    assert "seats_at_close" not in less.numeric_attributes
    with pytest.raises(IcploopError, match="first_year_churn is a label"):
        search_outcome(accounts, "nrr", attributes=["first_year_churn"])
    with pytest.raises(IcploopError, match="unknown attribute 'colour'"):
        search_outcome(accounts, "churn", exclude=["colour"])


def test_the_comparison_views_take_customer_dimensions_from_the_catalogue(
    demo_frames: dict[str, Any],
) -> None:
    accounts, deals = demo_frames["accounts"], demo_frames["deals"]
    assert frame_catalog(accounts).customer_dimensions()[:5] == [
        "industry",
        "segment",
        "region",
        "lead_source",
        "use_case",
    ]
    views = compare_icp_views(accounts, deals, value_outcome="first_year_churn")
    chosen = " ".join(views.summary["segments"])
    assert "owner_ae" not in chosen and "plan_tier" not in chosen
    assert "crm_system" in set(views.rankings["segment"].str.split(" = ").str[0])
    table = why_we_win(deals, accounts).table
    assert "plan_tier" not in set(table["attribute"]) and "crm_system" in set(table["attribute"])


def test_the_segments_command_takes_attributes_and_exclude(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copy(demo_warehouse, ws / "analytics.duckdb")
    args = ["segments", "--workspace", str(ws), "--json", "--as-of", "2026-10-31"]
    out = runner.invoke(app, [*args, "--attributes", "industry, use_case", "--depth", "1"])
    assert out.exit_code == 0, out.output
    segments = [f["segment"] for f in json.loads(out.output)["findings"]]
    assert segments and all(s.split(" = ")[0] in ("industry", "use_case") for s in segments)
    refused = runner.invoke(app, [*args, "--attributes", "account_id"])
    assert refused.exit_code != 0
    assert "account_id is an identifier" in refused.output and "Traceback" not in refused.output


def test_telco_churn_and_tenure_are_labels_never_segment_attributes(tmp_path: Path) -> None:
    if not TELCO.is_file():
        pytest.skip("the IBM Telco export is not next to the repository (../shared/data)")
    from icploop.ingest.mapping import load_mapping

    backend = ibis.duckdb.connect(str(tmp_path / "analytics.duckdb"))
    load_paths(backend, [TELCO], load_mapping(REPO / "examples" / "mappings" / "ibm_telco.yaml"))
    tables = CanonicalTables.from_backend(backend)
    frame = account_outcomes(tables, dt.date(2020, 12, 31))
    catalog = attribute_catalog(tables, frame)
    assert catalog["churn"].role == "label" and catalog["tenure"].role == "label"
    assert catalog["monthlycharges"].role == "measure"
    assert catalog["contract"].role == "dimension"
    assert catalog["seniorcitizen"].role == "dimension"
    chosen = {a.name for a in catalog.choose()}
    assert not {"churn", "tenure", "account_id"} & chosen
    assert {"contract", "internetservice", "totalcharges"} <= chosen

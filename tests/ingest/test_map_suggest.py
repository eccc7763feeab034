"""icploop map suggest: a mapping proposed from an export's header and values, which loads the
public exports (../shared/data, skipped when absent) and the sample exports as they are."""

from __future__ import annotations

from pathlib import Path

import pytest
from ibis.backends import BaseBackend
from typer.testing import CliRunner

from icploop.cli.main import app
from icploop.ingest.load import load_paths
from icploop.ingest.mapping import parse_mapping
from icploop.ingest.suggest import suggest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
SAMPLES = Path(__file__).parent / "samples"
runner = CliRunner()


def public(name: str) -> Path:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"public dataset {name} not found next to the repository (../shared/data)")
    return path


def test_ravenstack_loads_through_suggested_mappings_alone(backend: BaseBackend) -> None:
    folder = public("ravenstack_saas")
    counts = {}
    for name, table in [
        ("ravenstack_accounts.csv", "accounts"),
        ("ravenstack_subscriptions.csv", "subscriptions"),
        ("ravenstack_support_tickets.csv", "tickets"),
    ]:
        suggestion = suggest(folder / name)
        assert suggestion.table == table
        result = load_paths(backend, [folder / name], parse_mapping(suggestion.yaml))
        counts[table] = result.tables[table].inserted
    assert counts == {"accounts": 500, "subscriptions": 5000, "tickets": 2000}
    con = backend.con  # type: ignore[attr-defined]
    # the trial flag was proposed as a value map: trials are not MRR
    assert (
        con.execute("SELECT count(*) FROM subscriptions WHERE charge_type = 'trial'").fetchall()[0][
            0
        ]
        > 0
    )
    # closed_at holds date and time: its format was recognised, so resolved dates are stored
    assert (
        con.execute("SELECT count(*) FROM tickets WHERE resolved_date IS NOT NULL").fetchall()[0][0]
        > 0
    )


def test_maven_pipeline_is_deals_with_a_stage_map() -> None:
    suggestion = suggest(public("maven_crm_sales_opportunities") / "sales_pipeline.csv")
    assert suggestion.table == "deals"
    entry = parse_mapping(suggestion.yaml).tables[0]
    outcome = entry.columns["outcome"]
    assert (outcome.column, outcome.values, outcome.otherwise) == (
        "deal_stage",
        {"Won": "won", "Lost": "lost"},
        "open",
    )
    assert entry.columns["deal_id"].column == "opportunity_id"
    assert entry.drop_if_blank == ["account_id"]  # open opportunities have no account
    assert entry.columns["amount"].column == "close_value"


def test_billing_quirks_are_proposed_cents_unix_times_trials() -> None:
    entry = parse_mapping(suggest(SAMPLES / "stripe-subscriptions.csv").yaml).tables[0]
    assert entry.table == "subscriptions"
    assert entry.columns["period_start"].date_format == "unix"
    assert entry.columns["period_end"].column == "ended_at"
    assert entry.columns["mrr"].divide_by == [100.0]
    assert entry.columns["charge_type"].values == {"trialing": "trial"}


def test_monthly_revenue_rows_are_proposed_as_grain_month() -> None:
    suggestion = suggest(SAMPLES / "marketplace" / "seller_monthly_revenue.csv")
    entry = parse_mapping(suggestion.yaml).tables[0]
    assert (entry.table, entry.grain) == ("subscriptions", "month")
    assert entry.columns["mrr"].column == "amount_brl"


def test_events_are_proposed_as_usage_counted_per_day(backend: BaseBackend, tmp_path: Path) -> None:
    suggestion = suggest(SAMPLES / "product-events.csv")
    mapping = parse_mapping(suggestion.yaml)
    entry = mapping.tables[0]
    assert (entry.table, entry.grain, entry.user) == ("usage", "event", "user_id")
    assert entry.columns["account_id"].column == "group_id"
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id\nacct_north\nacct_lumen\n")
    load_paths(backend, [accounts])
    # the two anonymous events have no account: dropped, and counted
    assert entry.drop_if_blank == ["account_id"]
    result = load_paths(backend, [SAMPLES / "product-events.csv"], mapping)
    assert result.tables["usage"].inserted == 6


def test_the_command_prints_or_writes_the_yaml_and_never_overwrites(tmp_path: Path) -> None:
    path = SAMPLES / "zendesk-tickets.csv"
    shown = runner.invoke(app, ["map", "suggest", str(path)])
    assert shown.exit_code == 0, shown.output
    assert parse_mapping(shown.stdout).tables[0].table == "tickets"
    out = tmp_path / "zendesk.yaml"
    written = runner.invoke(app, ["map", "suggest", str(path), "--out", str(out)])
    assert written.exit_code == 0 and out.read_text() == shown.stdout
    again = runner.invoke(app, ["map", "suggest", str(path), "--out", str(out)])
    assert again.exit_code == 1 and "exists" in again.stderr
    missing = runner.invoke(app, ["map", "suggest", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 1 and "no such file" in missing.stderr


def test_extra_account_columns_come_with_their_inferred_roles(backend: BaseBackend) -> None:
    path = public("ibm_telco_churn") / "Telco-Customer-Churn.csv"
    suggestion = suggest(path)
    entry = parse_mapping(suggestion.yaml).tables[0]
    assert entry.table == "accounts"
    assert (entry.role["Churn"], entry.role["tenure"]) == ("label", "label")
    assert (entry.role["Contract"], entry.role["MonthlyCharges"]) == ("dimension", "measure")
    load_paths(backend, [path], parse_mapping(suggestion.yaml))
    con = backend.con  # type: ignore[attr-defined]
    assert con.execute("SELECT role FROM attribute_roles WHERE attribute = 'churn'").fetchall() == [
        ("label",)
    ]

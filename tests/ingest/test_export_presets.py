"""Billing, support and product-analytics presets load their realistic sample exports
(tests/ingest/samples), quirks included: cents, Unix timestamps, trials, cancellations, refunds,
several currencies, anonymous events."""

from __future__ import annotations

from pathlib import Path

import pytest
from ibis.backends import BaseBackend

from icploop.ingest.load import load_paths
from icploop.ingest.mapping import load_preset

SAMPLES = Path(__file__).parent / "samples"
FX = "currency,valid_from,rate\nEUR,2020-01-01,1.1\nGBP,2020-01-01,1.25\n"


def rows(backend: BaseBackend, sql: str) -> list[tuple[object, ...]]:
    return backend.con.execute(sql).fetchall()  # type: ignore[attr-defined]


@pytest.fixture
def accounts_and_rates(backend: BaseBackend, tmp_path: Path) -> None:
    """The billing systems' customer ids as accounts, and rates into USD."""
    ids = [
        "cus_NffrFeUfNV2Hib", "cus_NgB2kTr9oQ4aZx", "cus_NeL8vQ2mWn5sTy", "cus_O0pLm3Ks8dVbQe",
        "cus_NhY6cRz1pXe7Lm", "cus_NzQ4xVb7nKe2Rt", "AzZlGJTb0xY9a1", "16CHg4Tbl4Kd0s",
        "AzyZ5hTc8Ui3Op", "169yXkTdPo1Kj8", "Bx1uRTTeUb2Ma7", "Cy7wQRTf9Zz8Yx",
    ]  # fmt: skip
    folder = tmp_path / "crm"
    folder.mkdir()
    (folder / "accounts.csv").write_text("account_id\n" + "\n".join(ids) + "\n")
    (folder / "fx_rates.csv").write_text(FX)
    load_paths(backend, [folder])


def monthly(backend: BaseBackend, month: str) -> dict[str, float]:
    found = rows(
        backend, f"SELECT account_id, round(mrr, 2) FROM mrr_monthly WHERE month = DATE '{month}'"
    )
    return {str(a): float(m) for a, m in found}  # type: ignore[arg-type]


@pytest.mark.usefixtures("accounts_and_rates")
def test_stripe_subscriptions_cents_unix_times_trials_and_cancellations(
    backend: BaseBackend,
) -> None:
    result = load_paths(
        backend, [SAMPLES / "stripe-subscriptions.csv"], load_preset("stripe-subscriptions")
    )
    assert result.tables["subscriptions"].inserted == 5  # the incomplete_expired one is left out
    # 3 x $49.00 a month; EUR 1,200 a year = 100 EUR/month at 1.1; GBP 300 per 3 months x 2
    # seats = 200 GBP/month at 1.25; the cancelled $99 ended on 10 June; the trial is no MRR
    assert monthly(backend, "2023-06-01") == {
        "cus_NffrFeUfNV2Hib": 147.0,
        "cus_NgB2kTr9oQ4aZx": 110.0,
        "cus_NhY6cRz1pXe7Lm": 250.0,
    }
    assert monthly(backend, "2023-05-01")["cus_NeL8vQ2mWn5sTy"] == 99.0
    # revenue starts when the trial ends: the annual plan's trial ran to 15 March
    assert rows(
        backend,
        "SELECT CAST(period_start AS VARCHAR), currency, CAST(cancel_requested_date AS VARCHAR) "
        "FROM subscriptions WHERE subscription_id = 'sub_1MpA7bLkdIwHu7ixs0kLcM2e'",
    ) == [("2023-03-15", "EUR", None)]
    assert rows(
        backend,
        "SELECT CAST(cancel_requested_date AS VARCHAR), charge_type FROM subscriptions "
        "WHERE account_id IN ('cus_NhY6cRz1pXe7Lm', 'cus_O0pLm3Ks8dVbQe') ORDER BY account_id",
    ) == [("2023-06-20", "recurring"), (None, "trial")]


@pytest.mark.usefixtures("accounts_and_rates")
def test_stripe_invoice_lines_leave_out_void_invoices_one_offs_and_credits(
    backend: BaseBackend,
) -> None:
    result = load_paths(backend, [SAMPLES / "stripe-invoices.csv"], load_preset("stripe-invoices"))
    # 11 lines: a void invoice, an onboarding workshop and a credit are not revenue
    assert result.tables["subscriptions"].inserted == 8
    assert any(n.startswith("stripe-invoices.csv: kept 8 of 11 row(s)") for n in result.notes)
    assert monthly(backend, "2023-05-01") == {
        "cus_NffrFeUfNV2Hib": 147.0,
        "cus_NgB2kTr9oQ4aZx": 110.0,
        "cus_NeL8vQ2mWn5sTy": 99.0,
        "cus_NhY6cRz1pXe7Lm": 250.0,
    }
    # June: the upgrade to 5 seats counts, its proration does not; the void invoice is no renewal
    assert monthly(backend, "2023-06-01") == {
        "cus_NffrFeUfNV2Hib": 245.0,
        "cus_NgB2kTr9oQ4aZx": 110.0,
        "cus_NhY6cRz1pXe7Lm": 250.0,
    }
    # a line's period ends the day before the next one starts
    assert rows(
        backend,
        "SELECT CAST(period_start AS VARCHAR), CAST(period_end AS VARCHAR) FROM subscriptions "
        "WHERE subscription_id = 'il_1MqA01a'",
    ) == [("2023-04-01", "2023-04-30")]


@pytest.mark.usefixtures("accounts_and_rates")
def test_chargebee_subscriptions_compute_mrr_of_cancelled_ones_from_the_price(
    backend: BaseBackend,
) -> None:
    result = load_paths(
        backend, [SAMPLES / "chargebee-subscriptions.csv"], load_preset("chargebee-subscriptions")
    )
    assert result.tables["subscriptions"].inserted == 5  # the future subscription is left out
    # the cancelled subscription's export says mrr 0.00; 4 seats x $25 is what it paid
    assert monthly(backend, "2023-04-01") == {
        "AzZlGJTb0xY9a1": 250.0,
        "16CHg4Tbl4Kd0s": 550.0,
        "AzyZ5hTc8Ui3Op": 100.0,
        "Bx1uRTTeUb2Ma7": 112.5,
    }
    assert "AzyZ5hTc8Ui3Op" not in monthly(backend, "2023-05-01")  # cancelled 16 May
    assert rows(
        backend,
        "SELECT CAST(period_start AS VARCHAR), charge_type FROM subscriptions "
        "WHERE account_id IN ('AzyZ5hTc8Ui3Op', '169yXkTdPo1Kj8') ORDER BY account_id",
    ) == [("2023-06-05", "trial"), ("2023-01-16", "recurring")]


def test_zendesk_tickets_load_with_scores_priorities_and_dates(
    backend: BaseBackend, tmp_path: Path
) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id\n360012345671\n360012345672\n360012345673\n")
    load_paths(backend, [accounts])
    result = load_paths(backend, [SAMPLES / "zendesk-tickets.csv"], load_preset("zendesk-tickets"))
    assert result.tables["tickets"].inserted == 5
    assert "zendesk-tickets.csv: dropped 1 row(s) with a blank account_id" in result.notes
    assert rows(
        backend,
        "SELECT ticket_id, CAST(created_date AS VARCHAR), CAST(resolved_date AS VARCHAR), "
        "category, priority, csat FROM tickets ORDER BY ticket_id",
    ) == [
        ("4801", "2023-05-02", "2023-05-02", "question", "medium", 5.0),
        ("4802", "2023-05-03", "2023-05-06", "incident", "high", 1.0),
        ("4803", "2023-05-04", None, "question", "low", None),
        ("4804", "2023-05-05", None, "problem", "urgent", None),
        ("4806", "2023-05-08", "2023-05-10", "task", "medium", 5.0),
    ]


def test_intercom_conversations_resolve_only_when_closed(
    backend: BaseBackend, tmp_path: Path
) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "account_id\n6450b1c2a3f4e5d6c7b8a901\n6450b1c2a3f4e5d6c7b8a902\n6450b1c2a3f4e5d6c7b8a903\n"
    )
    load_paths(backend, [accounts])
    result = load_paths(
        backend, [SAMPLES / "intercom-conversations.csv"], load_preset("intercom-conversations")
    )
    assert result.tables["tickets"].inserted == 4
    assert rows(
        backend,
        "SELECT ticket_id, CAST(created_date AS VARCHAR), CAST(resolved_date AS VARCHAR), "
        "priority, csat, text FROM tickets ORDER BY ticket_id",
    ) == [
        ("215470938012345", "2023-05-02", "2023-05-02", "medium", 5.0, "Can't invite teammates"),
        ("215470938012346", "2023-05-04", "2023-05-07", "high", 2.0, "Webhook deliveries delayed"),
        ("215470938012347", "2023-05-05", None, "medium", None, "Question about pricing"),
        ("215470938012348", "2023-05-06", None, "high", None, "Data export missing rows"),
    ]


def test_product_events_are_counted_per_account_day_and_event(
    backend: BaseBackend, tmp_path: Path
) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id\nacct_north\nacct_lumen\n")
    load_paths(backend, [accounts])
    result = load_paths(backend, [SAMPLES / "product-events.csv"], load_preset("product-events"))
    assert "product-events.csv: dropped 2 row(s) with a blank account_id" in result.notes
    assert "product-events.csv: 11 event(s) counted into 6 usage row(s)" in " ".join(result.notes)
    assert rows(
        backend,
        "SELECT account_id, CAST(date AS VARCHAR), feature, active_users, events FROM usage "
        "ORDER BY 1, 2, 3",
    ) == [
        ("acct_lumen", "2023-06-05", "Workflow Run", 1, 3),
        ("acct_lumen", "2023-06-06", "Report Viewed", 1, 1),
        ("acct_lumen", "2023-06-06", "Workflow Run", 1, 1),
        ("acct_north", "2023-06-05", "Export Created", 1, 1),
        ("acct_north", "2023-06-05", "Report Viewed", 3, 4),
        ("acct_north", "2023-06-06", "Report Viewed", 1, 1),
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("table: deals\n    files: d.csv\n    grain: event", "grain: event is for usage"),
        ("table: usage\n    files: u.csv\n    user: who", "goes with grain: event"),
        (
            "table: usage\n    files: u.csv\n    grain: event\n    columns: {events: n}",
            "counts events itself",
        ),
        ("table: deals\n    files: d.csv\n    columns: {amount: {constant: 1, fallback: b}}",
         "'fallback' goes with a 'column'"),
        ("table: deals\n    files: d.csv\n    columns: {amount: {column: a, divide_by: [2, 0]}}",
         "divide_by must not be 0"),
    ],
)  # fmt: skip
def test_new_mapping_keys_are_checked_when_parsed(entry: str, message: str) -> None:
    from icploop.errors import IcploopError
    from icploop.ingest.mapping import parse_mapping

    with pytest.raises(IcploopError, match=message):
        parse_mapping(f"tables:\n  - {entry}\n")

"""Activation and time to first value, custom column outcomes, and exposure: an outcome with a
horizon counts only accounts observed for all of it, and says how many it left out."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pytest
from typer.testing import CliRunner

from icploop.cli.main import app
from icploop.errors import IcploopError
from icploop.metrics.tables import CanonicalTables
from icploop.segments.catalog import column_outcome, outcome_spec, search_outcome
from icploop.segments.outcomes import account_outcomes, activation_outcomes

AS_OF = dt.date(2026, 10, 31)
runner = CliRunner()


@pytest.fixture(scope="module")
def variant(demo_variant: dict[str, Any]) -> dict[str, Any]:
    backend = ibis.duckdb.connect(str(demo_variant["warehouse"]), read_only=True)
    tables = CanonicalTables.from_backend(backend)
    usage = backend.table("usage")
    return {
        "truth": demo_variant["truth"],
        "accounts": account_outcomes(tables, AS_OF, usage, backend.table("deal_use_cases")),
        "activation": activation_outcomes(tables, AS_OF, usage),
        "tables": tables,
    }


def _effect(truth: dict[str, Any], effect_id: str) -> dict[str, Any]:
    return next(e for e in truth["effects"] if e["id"] == effect_id)


def _segments(result: Any) -> list[str]:
    return list(result.findings()["segment"])


def test_activation_finds_the_customers_who_win_and_never_start(variant: dict[str, Any]) -> None:
    frame = variant["activation"]
    realized = _effect(variant["truth"], "never_activated")["realized"]
    never = frame.set_index("account_id")["never_activated"]
    assert never.sum() >= realized["never"]  # every planted one, plus any slow to start
    result = search_outcome(frame, "activation")
    top = result.top(1, "worse", max_q=0.05).iloc[0]
    assert top["segment"] == "crm_system = dynamics" and top["q_value"] < 1e-10
    assert top["rate_lo"] <= realized["segment"] <= top["rate_hi"]
    assert any("left out for lack of exposure (under 60 days" in c for c in result.caveats)
    slower = search_outcome(frame, "time-to-value")
    assert slower.top(1, "worse", max_q=0.05).iloc[0]["segment"] == "crm_system = dynamics"


def test_a_started_account_is_activated_by_its_first_revenue_or_use() -> None:
    won = pd.DataFrame(
        {
            "deal_id": ["d1", "d2", "d3", "d4"],
            "account_id": ["paid", "used", "late", "never"],
            "outcome": "won",
            "close_date": pd.to_datetime(["2025-01-10"] * 4).date,
        }
    )
    mrr = pd.DataFrame(
        {
            "account_id": ["paid", "late", "selfserve"],
            "month": pd.to_datetime(["2025-01-01", "2025-05-01", "2025-03-01"]).date,
            "mrr": [100.0, 100.0, 50.0],
        }
    )
    usage = pd.DataFrame(
        {"account_id": ["used"], "date": pd.to_datetime(["2025-02-20"]).date, "events": [3]}
    )
    tables = CanonicalTables(mrr_monthly=ibis.memtable(mrr), deals=ibis.memtable(won))
    frame = activation_outcomes(tables, dt.date(2025, 12, 31), ibis.memtable(usage), days=60)
    got = frame.set_index("account_id")
    assert got.loc["paid", "days_to_value"] == 0  # paying from its close month
    assert got.loc["used", "days_to_value"] == 41 and got.loc["used", "never_activated"] == 0
    assert got.loc["late", "days_to_value"] == 111 and got.loc["late", "never_activated"] == 1
    assert pd.isna(got.loc["never", "days_to_value"]) and got.loc["never", "time_to_value"] == 180
    assert got.loc["selfserve", "days_to_value"] == 0  # first seen paying: value on day 0
    with pytest.raises(IcploopError, match="activation needs won deals"):
        activation_outcomes(CanonicalTables(mrr_monthly=ibis.memtable(mrr)), dt.date(2025, 12, 31))


def test_an_attribute_recorded_only_for_recent_deals_is_no_finding_once_exposure_counts(
    variant: dict[str, Any],
) -> None:
    accounts = variant["accounts"]
    recorded = accounts["onboarding_plan"].notna()
    assert recorded.sum() >= 100 and (accounts.loc[recorded, "days_observed"] < 181).all()
    # without a horizon, 'ever churned' makes the young accounts look loyal: the trap
    naive = search_outcome(accounts, outcome_spec("column:churned"))
    assert any(s.startswith("onboarding_plan") for s in _segments(naive))
    assert any("has no horizon" in c for c in naive.caveats)
    # counted over accounts observed a full year, the column is gone and the planted churn
    # effects are still there
    year = search_outcome(accounts, outcome_spec("column:churned", days=365))
    assert not any("onboarding_plan" in s for s in _segments(year))
    assert "lead_source = intent_vendor" in _segments(year)
    assert any("left out for lack of exposure (under 365 days" in c for c in year.caveats)
    # every built-in outcome with a horizon leaves it out too, and still finds its effects
    for outcome in ("churn", "nrr", "adoption"):
        result = search_outcome(accounts, outcome)
        assert not any("onboarding_plan" in s for s in _segments(result)), outcome
        assert any("lack of exposure" in c for c in result.caveats), outcome
    assert "lead_source = intent_vendor" in _segments(search_outcome(accounts, "churn"))
    for outcome in ("activation", "time-to-value"):
        result = search_outcome(variant["activation"], outcome)
        assert not any("onboarding_plan" in s for s in _segments(result)), outcome
        assert "crm_system = dynamics" in _segments(result)


def test_a_column_outcome_is_read_as_0_1_or_as_a_number_and_is_never_an_attribute() -> None:
    frame = pd.DataFrame(
        {
            "flag": ["Yes", "no", "YES", None],
            "score": ["1.5", "2", "", "7"],
            "word": ["a", "b", "a", "b"],
        }
    )
    binary, spec = column_outcome(frame, outcome_spec("column:flag"))
    assert spec.kind == "binary" and spec.higher_is == "bad"
    assert binary["flag"].tolist()[:3] == [1.0, 0.0, 1.0] and pd.isna(binary["flag"].iloc[3])
    numeric, spec = column_outcome(frame, outcome_spec("column:score"))
    assert spec.kind == "continuous" and spec.higher_is == "good"
    assert numeric["score"].tolist()[:2] == [1.5, 2.0]
    _, spec = column_outcome(frame, outcome_spec("column:score", higher_is="bad"))
    assert spec.higher_is == "bad"
    with pytest.raises(IcploopError, match="word is neither 0/1 nor a number"):
        column_outcome(frame, outcome_spec("column:word"))
    with pytest.raises(IcploopError, match="no account attribute 'nope'"):
        column_outcome(frame, outcome_spec("column:nope"))


def test_the_segments_command_answers_activation_and_column_outcomes(
    demo_variant: dict[str, Any], tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copy(demo_variant["warehouse"], ws / "analytics.duckdb")
    args = ["segments", "--workspace", str(ws), "--as-of", "2026-10-31", "--json"]
    out = runner.invoke(app, [*args, "--outcome", "activation", "--days", "45"])
    assert out.exit_code == 0, out.output
    shown = json.loads(out.output)
    assert "within 45 days" in shown["label"]
    assert shown["findings"][0]["segment"] == "crm_system = dynamics"
    assert any("under 45 days" in c for c in shown["caveats"])
    column = runner.invoke(app, [*args, "--outcome", "column:churned", "--days", "365"])
    assert column.exit_code == 0, column.output
    assert all("churned" not in f["segment"] for f in json.loads(column.output)["findings"])
    bad = runner.invoke(app, [*args, "--outcome", "column:onboarding_plan"])
    assert bad.exit_code == 1 and "neither 0/1 nor a number" in bad.output

"""The demo variants: the never-activated ninth effect and a column recorded only for recent
closes come from their own random stream, so every other row of the company stays the same."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from icploop.demo.generator import generate_company
from icploop.engine import connect
from icploop.ingest.load import load_paths
from icploop.metrics.tables import CanonicalTables
from icploop.segments.catalog import search_outcome
from icploop.segments.outcomes import activation_outcomes


def _read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def test_a_variant_changes_only_the_rows_it_is_about(tmp_path: Path) -> None:
    plain = generate_company(tmp_path / "plain", accounts=400, seed=3)
    variant = generate_company(
        tmp_path / "variant", accounts=400, seed=3, never_activated=True, recent_attribute=True
    )
    assert plain["prospects"] == variant["prospects"]
    assert [e["id"] for e in variant["effects"]] == [
        *(e["id"] for e in plain["effects"]),
        "never_activated",
    ]
    accounts = _read(tmp_path / "variant", "accounts")
    pd.testing.assert_frame_equal(
        accounts.drop(columns=["onboarding_plan"]), _read(tmp_path / "plain", "accounts")
    )
    recorded = accounts[accounts["onboarding_plan"] != ""]
    deals = _read(tmp_path / "variant", "deals")
    closes = deals[deals["account_id"].isin(recorded["account_id"]) & (deals["outcome"] == "won")]
    assert (pd.to_datetime(closes["close_date"]) >= pd.Timestamp("2026-05-04")).all()
    for table in ("contacts", "org", "fx_rates"):
        pd.testing.assert_frame_equal(
            _read(tmp_path / "variant", table), _read(tmp_path / "plain", table)
        )
    never = variant["effects"][-1]["realized"]["never"]
    for table in ("subscriptions", "usage", "tickets"):
        kept, full = _read(tmp_path / "variant", table), _read(tmp_path / "plain", table)
        gone = set(full["account_id"]) - set(kept["account_id"])
        assert len(kept) < len(full)
        # the rows kept are the plain company's rows, in order
        pd.testing.assert_frame_equal(
            kept.reset_index(drop=True),
            full[~full["account_id"].isin(gone)].reset_index(drop=True),
        )
    paying = set(_read(tmp_path / "plain", "subscriptions")["account_id"])
    assert len(paying - set(_read(tmp_path / "variant", "subscriptions")["account_id"])) == never


def test_the_null_company_with_the_variant_stays_clean(tmp_path: Path) -> None:
    truth = generate_company(
        tmp_path / "data", accounts=1500, seed=5, null=True, never_activated=True
    )
    effect = truth["effects"][-1]
    assert effect["id"] == "never_activated" and effect["present"] is False
    backend = connect("duckdb://:memory:")
    load_paths(backend, [tmp_path / "data"])
    frame = activation_outcomes(
        CanonicalTables.from_backend(backend), dt.date(2026, 10, 31), backend.table("usage")
    )
    assert frame["never_activated"].sum() >= 30  # never-starters exist, linked to nothing
    assert search_outcome(frame, "activation").findings().empty

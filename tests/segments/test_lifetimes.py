"""Survival, lifetime value and champion departures from the workspace, in the CLI with --json:
planted truths found, refusals in one line."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from icploop.cli.main import app
from icploop.demo.generator import generate_company
from icploop.engine import connect
from icploop.errors import IcploopError
from icploop.fit.champions import champion_departures
from icploop.ingest.load import load_paths
from icploop.metrics.tables import CanonicalTables
from icploop.segments.lifetimes import ltv_by, survival_by

runner = CliRunner()
AS_OF = "2026-10-31"


@pytest.fixture(scope="module")
def workspace(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lifetimes")
    shutil.copy(demo_warehouse, folder / "analytics.duckdb")
    return folder


def _json(*args: str) -> Any:
    out = runner.invoke(app, [*args, "--json", "--as-of", AS_OF])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def test_survival_by_segment_shows_small_accounts_churning_sooner_with_cox_ratios(
    workspace: Path,
) -> None:
    report = _json("survival", "--by", "segment", "--cox", "--workspace", str(workspace))
    groups = {g["group"]: g for g in report["groups"]}
    assert set(groups) == {"SMB", "Mid-Market", "Enterprise"}
    assert groups["SMB"]["s_at"] < groups["Enterprise"]["s_at"]
    assert report["logrank"]["p_value"] < 0.01
    smb = next(r for r in report["cox"]["hazard_ratios"] if r["covariate"] == "segment=SMB")
    assert smb["ci_lower"] > 1 and smb["ci_lower"] < smb["hazard_ratio"] < smb["ci_upper"]
    assert {"months", "survival", "ci_lower", "ci_upper"} <= set(report["curves"][0])


def test_survival_refuses_what_has_no_groups_in_one_line(workspace: Path) -> None:
    for by, said in (
        ("seats_at_close", "seats_at_close is a measure"),
        ("account_id", "account_id is an identifier"),
        ("colour", "unknown attribute 'colour'"),
    ):
        out = runner.invoke(app, ["survival", "--by", by, "--workspace", str(workspace)])
        assert out.exit_code == 1 and said in out.output and "Traceback" not in out.output
    bands = _json("survival", "--by", "seats_band", "--workspace", str(workspace))
    assert len(bands["groups"]) == 4 and bands["cox"] is None


def test_ltv_by_segment_fits_sbg_per_segment_with_del_and_derl(workspace: Path) -> None:
    report = _json("ltv", "--by", "segment", "--workspace", str(workspace))
    groups = {g["group"]: g for g in report["groups"]}
    assert report["currency"] == "USD" and report["annual_discount"] == 0.1
    for g in groups.values():
        assert g["alpha"] > 0 and g["beta"] > 0
        assert 0 < g["del_periods"] < 200 and 0 < g["derl_periods"] < 200
        assert g["ltv_sbg"] == pytest.approx(g["arpa"] * 0.8 * g["del_periods"], rel=1e-6)
        assert g["residual_value"] == pytest.approx(g["arpa"] * 0.8 * g["derl_periods"], rel=1e-6)
    assert groups["Enterprise"]["ltv_sbg"] > groups["SMB"]["ltv_sbg"]


def test_churn_follows_a_champion_departure_against_comparable_accounts(
    workspace: Path, demo_company: dict[str, Any]
) -> None:
    report = _json("champions", "--workspace", str(workspace))
    departed, comparable = report["groups"]
    assert departed["group"] == "departed" and comparable["accounts"] > departed["accounts"]
    assert departed["weight"] == pytest.approx(comparable["weight"])  # the same mix, weighed
    assert report["difference_lo"] > 0.1 and report["logrank_p"] < 0.001
    assert departed["churn_lo"] > comparable["churn_hi"]
    assert "comparable accounts of the same close cohort and tenure" in report["sentence"]
    truth = demo_company["truth"]
    assert any(e["id"] == "champion_departure_precedes_churn" for e in truth["effects"])


def test_on_a_null_company_a_departure_says_nothing_of_churn(tmp_path: Path) -> None:
    generate_company(tmp_path / "data", accounts=1500, seed=31, null=True)
    backend = connect("duckdb://:memory:")
    files = ["accounts", "deals", "subscriptions", "fx_rates", "contacts"]
    load_paths(backend, [tmp_path / "data" / f"{f}.csv" for f in files])
    tables = CanonicalTables.from_backend(backend)
    result = champion_departures(tables, backend.table("contacts"), dt.date(2026, 10, 31))
    assert result.difference_lo <= 0 <= result.difference_hi and result.logrank_p > 0.01
    with pytest.raises(IcploopError, match="champion departures need the contacts table"):
        champion_departures(tables, None, dt.date(2026, 10, 31))


def test_a_company_in_its_first_month_gets_reasons_not_empty_lifetimes(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text("account_id,name\na1,Acme\na2,Beta\n")
    (tmp_path / "subscriptions.csv").write_text(
        "account_id,period_start,period_end,mrr\n"
        "a1,2026-09-01,2026-09-30,100\na2,2026-09-01,2026-09-30,50\n"
    )
    backend = connect("duckdb://:memory:")
    load_paths(backend, [tmp_path])
    tables = CanonicalTables.from_backend(backend)
    ltv = ltv_by(tables, dt.date(2026, 9, 30), None)
    assert ltv.frame.empty
    assert any("no account paid before September 2026" in c for c in ltv.caveats)
    with pytest.raises(IcploopError, match="none started before the as-of month"):
        survival_by(tables, dt.date(2026, 9, 30))

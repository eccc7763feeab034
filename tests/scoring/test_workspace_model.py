"""The fit model on the workspace's own attributes: features from the catalogue, a choice of
target, a snapshot with tenure (the IBM Telco export), companies without deals or usage, and a
refusal that says exactly why."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from icploop.cli.main import app
from icploop.engine import connect
from icploop.errors import IcploopError
from icploop.ingest.load import load_paths
from icploop.metrics.tables import CanonicalTables
from icploop.scoring.features import deal_history, target_spec, training_frame
from icploop.scoring.train import TrainedFit, train_fit

REPO = Path(__file__).resolve().parents[2]
TELCO = REPO.parent / "shared" / "data" / "ibm_telco_churn" / "Telco-Customer-Churn.csv"
AS_OF = dt.date(2026, 10, 31)
runner = CliRunner()


def _train(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["model", "train", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _metric(report: dict[str, Any], score: str) -> dict[str, Any]:
    return next(m for m in report["evaluation"]["metrics"] if m["score"] == score)


def test_the_demo_model_learns_from_the_catalogue_never_from_owners_labels_or_ids(
    trained: TrainedFit,
) -> None:
    features = trained.features
    assert {"industry", "crm_system", "quarter_end_deal"} <= set(features.categorical)
    assert {"seats_at_close", "intent_score", "committed_use_cases"} <= set(features.numeric)
    never = {"owner_ae", "closing_ae", "ae", "csm", "account_id", "first_year_churn", "churned"}
    assert not never & set(features.names)
    assert "plan_tier" not in features.names  # recorded for won deals only: known after the sale
    assert "close_year" not in features.names  # a new lead's year is never in the training data
    people = {"owner_ae", "closing_ae", "ae", "csm"}
    assert not any(b.attribute in people for b in trained.points.bins)


def test_the_telco_snapshot_trains_with_tenure_as_exposure_beside_a_logistic_regression(
    tmp_path: Path,
) -> None:
    if not TELCO.is_file():
        pytest.skip("the IBM Telco export is not next to the repository (../shared/data)")
    ws = tmp_path / "telco"
    mapping = REPO / "examples" / "mappings" / "ibm_telco.yaml"
    loaded = runner.invoke(
        app, ["load", str(TELCO), "--mapping", str(mapping), "--workspace", str(ws)]
    )
    assert loaded.exit_code == 0, loaded.output
    report = _train("--workspace", str(ws), "--as-of", "2020-12-31")
    assert report["target"] == "churn_any"  # no deals: a snapshot with tenure
    features = report["features"]
    assert features["exposure"] == "months_observed"
    assert {"contract", "internetservice", "paymentmethod"} <= set(features["dimensions"])
    assert {"monthlycharges", "totalcharges"} <= set(features["measures"])
    named = set(features["dimensions"]) | set(features["measures"])
    assert not {"churn", "tenure", "account_id"} & named  # labels and the identifier
    model, logistic = _metric(report, "fit model"), _metric(report, "logistic regression")
    assert model["auc"] >= 0.83 and logistic["auc"] >= 0.8
    assert 0.7 <= model["calibration_slope"] <= 1.3
    calibration = report["evaluation"]["calibration"]
    assert len(calibration) == 10
    assert abs(calibration[-1]["predicted"] - calibration[-1]["observed"]) < 0.1
    assert (
        "logistic regression on the same features reaches AUC" in report["evaluation"]["sentence"]
    )


@pytest.fixture(scope="module")
def without(demo_company: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The small demo company loaded without some of its files."""
    folder = Path(str(demo_company["folder"]))

    def load(*left_out: str) -> CanonicalTables:
        backend = connect("duckdb://:memory:")
        files = [p for p in sorted(folder.glob("*.csv")) if p.stem not in left_out]
        load_paths(backend, files)
        return CanonicalTables.from_backend(backend)

    return load


def test_a_company_without_deals_trains_on_its_accounts_with_churn_by_exposure(
    without: Any,
) -> None:
    tables = without("deals", "notes")
    deals = deal_history(tables)
    assert deals.empty
    with pytest.raises(IcploopError, match="activation needs won deals"):
        training_frame(tables, AS_OF, target_spec("activation"))
    target = target_spec("churn_any")
    trained = train_fit(training_frame(tables, AS_OF, target), deals, AS_OF, target=target)
    assert "discount" not in trained.features.names  # no deal, no deal terms
    assert {"industry", "seats_at_close"} <= set(trained.features.names)
    assert trained.evaluation.row("fit model")["auc"] > 0.6
    assert trained.evaluation.split_date is None  # a random hold-out: no cohort to wait for


def test_a_company_without_usage_trains_on_first_year_churn_and_on_activation(
    without: Any,
) -> None:
    tables = without("usage")
    deals = deal_history(tables)
    churn = train_fit(customer_rows(tables), deals, AS_OF)
    assert churn.evaluation.has_skill
    target = target_spec("activation")
    frame = training_frame(tables, AS_OF, target)  # revenue alone says who started
    assert frame["never_activated"].notna().sum() > 1000
    with pytest.raises(IcploopError, match=r"cannot train on never activating .*: 0 of 1,"):
        train_fit(frame, deals, AS_OF, target=target)  # every demo customer pays at once


def customer_rows(tables: CanonicalTables) -> Any:
    return training_frame(tables, AS_OF, target_spec("churn_12m"))


def test_cannot_train_says_exactly_why(without: Any, tmp_path: Path) -> None:
    tables = without("usage")
    young = training_frame(tables, dt.date(2021, 12, 31), target_spec("churn_12m"))
    with pytest.raises(
        IcploopError, match=r"cannot train on first-year churn: \d+ accounts have a"
    ):
        train_fit(young, deal_history(tables), dt.date(2021, 12, 31))
    with pytest.raises(IcploopError, match="cannot train on column:plan_tier: it is not 0/1"):
        training_frame(tables, AS_OF, target_spec("column:plan_tier"))
    with pytest.raises(IcploopError, match="unknown target 'loyalty'"):
        target_spec("loyalty")
    out = runner.invoke(
        app, ["model", "train", "--target", "activation", "--workspace", str(tmp_path)]
    )
    assert out.exit_code == 1 and "Traceback" not in out.output

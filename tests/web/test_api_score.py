"""Scoring through the API: the same model and columns as `icploop score`, with clear errors."""

from __future__ import annotations

from typing import Any

from icploop import model_files
from icploop.config import Settings
from icploop.engine import open_analytics
from icploop.metrics.tables import CanonicalTables
from icploop.scoring.features import customer_history, deal_history
from icploop.scoring.train import train_fit

from .conftest import AS_OF, WebWorld

SMALL = {"seats_at_close": 12, "industry": "Retail", "lead_source": "intent_vendor",
         "use_case": "customer_health", "discount": 0.2}  # fmt: skip
LARGE = {"seats_at_close": 600, "industry": "Software", "lead_source": "referral",
         "use_case": "revenue_forecasting", "discount": 0.0}  # fmt: skip


def test_without_a_trained_model_the_api_says_how_to_get_one(web: WebWorld) -> None:
    # the workspace is this module's own and this test runs first: no model was trained yet
    assert model_files.versions(web.workspace) == []
    response = web.client().post("/api/v1/score", headers=web.bearer("ae"),
                                 json={"records": [LARGE]})  # fmt: skip
    assert response.status_code == 400
    assert "icploop model train" in response.json()["error"]["hint"]


def test_leads_are_scored_with_the_planted_risks_ranked_and_tiers_counted(web: WebWorld) -> None:
    backend = open_analytics(Settings(workspace=web.workspace))  # read-only, as the app
    try:
        tables = CanonicalTables.from_backend(backend)
        trained = train_fit(customer_history(tables, AS_OF), deal_history(tables), AS_OF)
    finally:
        backend.disconnect()
    version = model_files.save(web.workspace, trained.model, trained.points, {"as_of": AS_OF})
    client = web.client()
    response = client.post("/api/v1/score", headers=web.bearer("marketing"),
                           json={"records": [SMALL, LARGE, SMALL]})  # fmt: skip
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["version"] == version and sum(body["tiers"].values()) == 3
    small, large, again = body["rows"]
    assert small == again
    assert small["churn_probability"] > large["churn_probability"]
    assert small["fit_tier"] > large["fit_tier"]  # D is worse than A
    assert "seats" in small["reasons"] or "lead_source" in small["reasons"]
    unknown = client.post("/api/v1/score", headers=web.bearer("marketing"),
                          json={"records": [LARGE], "version": "v99"})  # fmt: skip
    assert unknown.status_code == 400 and "v99" in unknown.json()["error"]["message"]
    empty = client.post("/api/v1/score", headers=web.bearer("marketing"), json={"records": []})
    assert empty.status_code == 422

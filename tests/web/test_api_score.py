"""Scoring through the API: the same model and columns as `icploop score`, with clear errors."""

from __future__ import annotations

import html
import re
from typing import Any

from icploop import model_files
from icploop.config import Settings
from icploop.generations import open_analytics
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


def test_the_scoring_page_returns_the_uploaded_csv_scored_as_the_api_scores_it(
    web: WebWorld,
) -> None:
    import csv
    import io

    # runs after the model above is trained (same module, same workspace)
    client, csrf = web.login("marketing")
    page = client.get("/scoring")
    assert page.status_code == 200 and 'type="file"' in page.text
    text = "name,seats_at_close,industry,lead_source,use_case,discount\n"
    text += "=HYPERLINK(1),12,Retail,intent_vendor,customer_health,0.2\n"
    text += "Big Co,600,Software,referral,revenue_forecasting,0.0\n"
    got = client.post(
        "/scoring",
        data={"csrf_token": csrf},
        files={"file": ("leads q3.csv", text.encode(), "text/csv")},
    )
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/csv")
    assert 'filename="leads_q3.scored.csv"' in got.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert [r["name"] for r in rows] == ["'=HYPERLINK(1)", "Big Co"]  # no formula comes back
    api = web.client().post("/api/v1/score", headers=web.bearer("marketing"),
                            json={"records": [SMALL, LARGE]})  # fmt: skip
    assert [r["fit_tier"] for r in rows] == [r["fit_tier"] for r in api.json()["rows"]]
    bad = client.post(
        "/scoring",
        data={"csrf_token": csrf},
        files={"file": ("x.csv", b"\xff\xfe\x00", "text/csv")},
    )
    assert bad.status_code == 400 and "x.csv is not a readable CSV" in bad.text
    assert web.login("csm")[0].get("/scoring").status_code == 403


def test_the_deal_checks_page_lists_open_deals_at_risk_with_reasons_in_words(
    web: WebWorld,
) -> None:
    client, _ = web.login("revops")
    page = client.get("/deals")
    assert page.status_code == 200
    summary = re.search(r'id="summary">(\d+) of (\d+) open deals at risk', page.text)
    assert summary is not None
    at_risk, total = map(int, summary.groups())
    assert 0 < at_risk <= total
    assert page.text.count("data-deal=") == at_risk
    # no ICP is published in this workspace: the page says so, and the risks found are the AE
    # patterns that churned, each listed in words above the table
    assert "No ICP version is published" in page.text
    patterns = re.findall(r"<li>(AE [^<]+)</li>", page.text.split('id="summary"')[0])
    assert patterns
    risks = re.findall(r"<li>([^<]+)</li>", page.text.split('id="summary"')[1])
    assert risks and set(risks) <= set(patterns)
    every = client.get("/deals", params={"risky": "false"})
    assert every.text.count("data-deal=") == total
    ae, _ = web.login("ae")
    own = ae.get("/deals", params={"risky": "false"}).text
    mine = re.search(r'id="summary">\d+ of (\d+) open deals', own)
    assert mine is not None and int(mine.group(1)) < total
    assert web.login("marketing")[0].get("/deals").status_code == 403
    # the API gives the same checks: every deal to RevOps, the AE's own to the AE
    api = web.client()
    body = api.get("/api/v1/deals", headers=web.bearer("revops")).json()
    assert len(body["deals"]) == total and sum(d["at_risk"] for d in body["deals"]) == at_risk
    assert body["ae_patterns"] == [html.unescape(p) for p in patterns]
    risky = api.get("/api/v1/deals", params={"risky": True}, headers=web.bearer("revops"))
    assert len(risky.json()["deals"]) == at_risk
    own_api = api.get("/api/v1/deals", headers=web.bearer("ae")).json()["deals"]
    assert len(own_api) == int(mine.group(1))
    me = api.get("/api/v1/me", headers=web.bearer("ae")).json()["person_id"]
    assert own_api and {d["ae"] for d in own_api} == {me}
    assert api.get("/api/v1/deals", headers=web.bearer("marketing")).status_code == 403

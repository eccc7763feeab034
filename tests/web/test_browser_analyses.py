"""The analysis pages in a real browser (Debian's Chromium through Playwright), each opened as
the role that uses it, the numbers shown checked against the API for the same workspace.
Screenshots go to ``$ICPLOOP_SCREENSHOTS`` when it is set (CI keeps them)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from icploop import model_files
from icploop.config import Settings
from icploop.generations import open_analytics
from icploop.metrics.tables import CanonicalTables
from icploop.scoring.features import customer_history, deal_history
from icploop.scoring.train import train_fit

from . import test_browser_loop as loop
from .conftest import AS_OF, WebWorld
from .test_browser_loop import Shots, _login

served = loop.served  # the app on a loopback port (a module fixture of the loop's test)

LEADS = (
    "name,seats_at_close,industry,lead_source,use_case,discount\n"
    "Small Co,12,Retail,intent_vendor,customer_health,0.2\n"
    "Big Co,600,Software,referral,revenue_forecasting,0.0\n"
)


def _money(value: float) -> str:
    return f"{value:,.0f}".replace("-", "−")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


@pytest.mark.slow
def test_each_analysis_page_shows_what_the_api_gives_to_the_role_that_uses_it(
    web: WebWorld, served: str, browser: Any, tmp_path: Any
) -> None:
    shots = Shots()
    api = web.client()

    # RevOps reads the MRR bridge by quarter: each cell is the API's number
    revops = _login(browser, served, web.people["revops"])
    revops.goto("/bridge?period=quarter&periods=4")
    shots.take(revops, "mrr-bridge")
    rows = api.get("/api/v1/metrics/bridge", params={"period": "quarter", "periods": 4},
                   headers=web.bearer("revops")).json()["rows"]  # fmt: skip
    assert revops.locator("svg.chart").count() == 1
    for r in rows:
        line = revops.locator(f"tr[data-period='{r['period']}']")
        for col in ("new", "expansion", "contraction", "churn", "mrr_end"):
            assert line.locator(f"td[data-col='{col}']").inner_text() == _money(r[col]), col

    # Marketing reads the forecast and asks what a higher bad-fit share would do: the page
    # says what the API says for the same inputs
    marketing = _login(browser, served, web.people["marketing"])
    marketing.goto("/forecast")
    forecast = api.get("/api/v1/forecast", headers=web.bearer("marketing")).json()
    assert marketing.inner_text("#forecast") == forecast["sentence"]
    for g in forecast["groups"]:
        cells = marketing.locator(f"tr[data-group='{g['group']}'] td")
        assert cells.nth(1).inner_text() == f"{g['accounts']:,}"
    assert marketing.inner_text("#retention-value") == forecast["retention"]["sentence"]
    marketing.fill("input[name=bad_share]", "0.25")
    with marketing.expect_navigation():
        marketing.locator("form:has(input[name=bad_share]) button").first.click()
    higher = api.get("/api/v1/forecast", params={"bad_share": 0.25},
                     headers=web.bearer("marketing")).json()  # fmt: skip
    assert marketing.inner_text("#bad-fit") == higher["bad_fit"]["sentence"]
    assert higher["bad_fit"]["sentence"].startswith("Closing 25% bad-fit deals")
    shots.take(marketing, "forecast")

    # Marketing compares the ICPs and reads survival by segment, both as the API gives them
    marketing.goto("/segments/compare")
    views = api.get("/api/v1/segments/compare", headers=web.bearer("marketing")).json()["views"]
    assert marketing.locator("tr[data-view]").count() == len(views) == 4
    for v in views:
        line = marketing.locator(f"tr[data-view='{v['view']}']")
        for col in ("account_share", "mrr_share", "retained_mrr_share", "churned_mrr_share"):
            assert line.locator(f"td[data-col='{col}']").inner_text() == _pct(v[col]), col
    shots.take(marketing, "icp-comparison")
    marketing.goto("/survival?by=segment")
    groups = api.get("/api/v1/survival?by=segment", headers=web.bearer("marketing")).json()
    curves = marketing.locator("polyline.km")
    shown = {curves.nth(i).get_attribute("data-group") for i in range(curves.count())}
    assert shown == {g["group"] for g in groups["groups"]}
    shots.take(marketing, "survival")

    # Sales: an AE sees the checks of their own open deals, those the API gives the AE
    ae = _login(browser, served, web.people["ae"])
    ae.goto("/deals?risky=false")
    deals = api.get("/api/v1/deals", headers=web.bearer("ae")).json()["deals"]
    at_risk = sum(bool(d["at_risk"]) for d in deals)
    assert ae.inner_text("#summary") == f"{at_risk} of {len(deals)} open deals at risk"
    rows = ae.locator("tr[data-deal]")
    assert [rows.nth(i).get_attribute("data-deal") for i in range(rows.count())] == [
        str(d["deal_id"]) for d in deals
    ]
    shots.take(ae, "deal-checks")

    # the VP of CS reads cost to serve by tier, as the API gives it
    cs = _login(browser, served, web.people["cs_manager"])
    cs.goto("/reasons")
    cost = api.get("/api/v1/reasons", headers=web.bearer("cs_manager")).json()["cost"]
    assert cost["tiers"]
    for t in cost["tiers"]:
        line = cs.locator(f"tr[data-tier='{t['tier']}']")
        assert line.locator("td[data-col='accounts']").inner_text() == str(t["accounts"])
        assert line.locator("td[data-col='revenue']").inner_text() == f"{t['revenue']:,.0f}"
        assert line.locator("td[data-col='cost']").inner_text() == f"{t['cost']:,.0f}"
    shots.take(cs, "cost-to-serve")

    # Marketing scores a list of leads: the download holds the tiers the API gives
    backend = open_analytics(Settings(workspace=web.workspace))
    try:
        tables = CanonicalTables.from_backend(backend)
        trained = train_fit(customer_history(tables, AS_OF), deal_history(tables), AS_OF)
    finally:
        backend.disconnect()
    model_files.save(web.workspace, trained.model, trained.points, {"as_of": AS_OF})
    leads = tmp_path / "leads.csv"
    leads.write_text(LEADS)
    marketing.goto("/scoring")
    marketing.set_input_files("input[type=file]", str(leads))
    shots.take(marketing, "scoring")
    with marketing.expect_download() as download:
        marketing.click("button:has-text('Score and download')")
    assert download.value.suggested_filename == "leads.scored.csv"
    scored = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    records = list(csv.DictReader(io.StringIO(LEADS)))
    by_api = api.post("/api/v1/score", headers=web.bearer("marketing"),
                      json={"records": records}).json()["rows"]  # fmt: skip
    assert [r["fit_tier"] for r in scored] == [r["fit_tier"] for r in by_api]

    # the CSM reads their account's fit evidence in words
    csm = _login(browser, served, web.people["csm"])
    csm.goto(f"/accounts/{web.csm_account}")
    champion = csm.inner_text("td[data-signal=champion_stability]")
    assert champion == "No champion was recorded at close." or "day 180" in champion
    assert "=" not in csm.inner_text("table")
    shots.take(csm, "account-evidence")

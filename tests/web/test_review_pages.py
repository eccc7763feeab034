"""The review in the browser: a background build with progress, the pack, decisions by RevOps;
the segment explorer and its link to the accounts of a segment; the dashboard's loop state."""

from __future__ import annotations

import json
import re
import time

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from icploop.cli.main import app
from icploop.icp.document import IcpContent
from icploop.segments.catalog import OUTCOMES
from icploop.store.models import IcpVersionRecord, Review
from tests.review.test_raw_values import raw_values

from .conftest import WebWorld


def _finished_job(client, job_url: str) -> str:  # type: ignore[no-untyped-def]
    """Follow a job page until the job ends (the page itself refreshes the same way)."""
    for _ in range(600):
        page = client.get(job_url)
        assert page.status_code == 200
        if "refreshes every second" not in page.text:
            return page.text
        time.sleep(0.5)
    raise AssertionError("the job did not finish in five minutes")


def test_revops_builds_the_review_in_the_background_and_decides_proposals(web: WebWorld) -> None:
    client, csrf = web.login("revops")
    started = client.post("/review/build", data={"csrf_token": csrf}, follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"].startswith("/jobs/")
    job_url = started.headers["location"]
    done = _finished_job(client, job_url)
    assert "done:" in done and 'value="100"' in done
    review_url = re.search(r'href="(/review/\d+)"', done).group(1)  # type: ignore[union-attr]

    page = client.get(review_url)
    assert page.status_code == 200
    ids = [int(i) for i in re.findall(r'id="proposal-(\d+)"', page.text)]
    assert len(ids) >= 3
    pack = client.get(f"{review_url}/pack")
    assert pack.status_code == 200 and "Proposed decisions" in pack.text
    assert "'unsafe-inline'" in pack.headers["content-security-policy"]
    # the dashboard opens with the same executive summary as the pack
    dashboard = client.get("/").text
    summary = dashboard[
        dashboard.index("Executive summary") : dashboard.index("<h2>NRR by quarter")
    ]
    assert "The three findings that matter most" in summary and "Decisions proposed" in summary
    titles = re.findall(r"<h3>([^<]+)</h3><p>", pack.text)  # every proposal of the pack
    assert len(titles) >= 3 and all(title in summary for title in titles)
    for text in (dashboard, pack.text):  # as people read numbers: no raw floats, nan, 00:00:00
        shown = re.sub(r"<svg.*?</svg>|<style>.*?</style>|<[^>]+>", " ", text, flags=re.S)
        assert raw_values(shown) == []

    review_id = int(review_url.rsplit("/", 1)[1])
    with web.store() as session:
        review = session.get(Review, review_id)
        assert review is not None
        first, second, third = review.proposals[:3]
    for pid, decision in ((first.id, "accept"), (third.id, "reject")):
        response = client.post(f"{review_url}/proposals/{pid}", follow_redirects=False,
                               data={"decision": decision, "comment": "seen", "csrf_token": csrf})  # fmt: skip
        assert response.status_code == 303
    edited = dict(second.payload)
    if "rule" in edited:
        edited["rule"] = {**edited["rule"], "rationale": "edited in the review"}
    response = client.post(
        f"{review_url}/proposals/{second.id}",
        data={"decision": "edit", "payload": yaml.safe_dump(edited), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    again = client.post(f"{review_url}/proposals/{first.id}", follow_redirects=False,
                        data={"decision": "reject", "csrf_token": csrf})  # fmt: skip
    assert again.status_code == 400 and "already decided" in again.text

    with web.store() as session:
        drafts = session.scalars(
            select(IcpVersionRecord).where(IcpVersionRecord.review_id == review_id)
        ).all()
        decided = {p.id: p.decision for p in session.get(Review, review_id).proposals}  # type: ignore[union-attr]
    assert len(drafts) == 1 and drafts[0].status == "draft"
    assert decided[first.id] == "accepted" and decided[second.id] == "edited"
    assert decided[third.id] == "rejected"
    content = IcpContent.model_validate(drafts[0].content)
    assert first.title in content.changelog and second.title in content.changelog
    assert third.title not in content.changelog


def test_only_revops_builds_and_decides_and_jobs_are_private(web: WebWorld) -> None:
    revops, revops_csrf = web.login("revops")
    started = revops.post("/review/build", data={"csrf_token": revops_csrf, "quarter": "2026Q2"},
                          follow_redirects=False)  # fmt: skip
    job_url = started.headers["location"]
    csm, csm_csrf = web.login("csm")
    assert csm.post("/review/build", data={"csrf_token": csm_csrf}).status_code == 403
    assert csm.get(job_url).status_code == 403
    _finished_job(revops, job_url)
    with web.store() as session:
        review = session.scalars(select(Review).where(Review.quarter == "2026Q2")).one()
        pid = review.proposals[0].id
    page = csm.get(f"/review/{review.id}")
    assert page.status_code == 200 and 'value="accept"' not in page.text
    refused = csm.post(f"/review/{review.id}/proposals/{pid}",
                       data={"decision": "accept", "csrf_token": csm_csrf})  # fmt: skip
    assert refused.status_code == 403
    bad_quarter = revops.post(
        "/review/build", data={"csrf_token": revops_csrf, "quarter": "2026Q9"}
    )
    assert bad_quarter.status_code in (400, 422)


def test_the_segment_explorer_links_each_finding_to_exactly_its_accounts(web: WebWorld) -> None:
    client, _ = web.login("ae")
    page = client.get("/segments", params={"outcome": "churn", "depth": 1})
    assert page.status_code == 200
    rows = re.findall(
        r"<tr><td>([^<]+)</td><td>(\d+)</td>.*?href=\"/accounts\?where=([^\"&]+)&amp;outcome=churn\"",
        page.text,
        re.S,
    )
    seat_rows = [r for r in rows if r[0].startswith("seats_at_close &lt;")]
    assert seat_rows, "the planted seat floor is missing from the risk findings"
    _, n, link = seat_rows[0]
    listed = client.get(f"/accounts?where={link}&outcome=churn")
    assert listed.status_code == 200
    assert re.search(rf"<small>{n} found</small>", listed.text)
    wrong = client.get("/accounts", params={"where": "seats_at_close ~ 5"})
    assert wrong.status_code == 400 and "cannot read the segment condition" in wrong.text


def test_the_dashboard_shows_the_cohort_triangle_and_the_icp_in_force(web: WebWorld) -> None:
    client, _ = web.login("marketing")
    page = client.get("/")
    assert page.status_code == 200
    assert "Revenue retention by close cohort" in page.text
    assert len(re.findall(r'class="heat\d"', page.text)) >= 10
    assert "ICP implementation" in page.text


def test_the_reasons_page_ranks_reasons_with_evidence_and_lists_tier_moves(web: WebWorld) -> None:
    client, _ = web.login("cs_manager")
    page = client.get("/reasons")
    assert page.status_code == 200
    text = page.text
    assert "Low adoption" in text and "Does support cause churn?" in text
    assert "not supported:" in text
    # each sample of evidence links to its account, and tier moves are listed with links too
    assert len(re.findall(r'href="/accounts/A\d+"', text)) >= 5
    assert "would add about" in text
    # the API gives the same reasons and cost to serve
    body = web.client().get("/api/v1/reasons", headers=web.bearer("cs_manager")).json()
    assert body["reasons"]["pareto"]["reasons"][0]["label"] in text
    for tier in body["cost"]["tiers"]:
        shown = re.search(rf'data-tier="{tier["tier"]}">.*?data-col="cost">([^<]+)<', text)
        assert shown is not None and shown.group(1) == f"{tier['cost']:,.0f}"


def test_the_alignment_page_shows_the_scorecard_and_records_an_experiment(web: WebWorld) -> None:
    client, csrf = web.login("marketing")
    response = client.post(
        "/alignment/experiments",
        data={"name": "hospitality-push", "segment": "industry == Hospitality\nclose_year == 2023",
              "change_kind": "campaign", "change": "the 2023 push", "start": "2023-01-01",
              "end": "2023-12-31", "control_segment": "industry != Hospitality\nclose_year == 2023",
              "csrf_token": csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303
    page = client.get("/alignment")
    assert page.status_code == 200
    text = page.text
    assert "Retention-adjusted AE scorecard" in text and "hospitality-push" in text
    assert "first-year churn" in text and "worse" in text
    bad = client.post(
        "/alignment/experiments",
        data={"name": "x", "segment": "industry ~ Retail", "change_kind": "campaign",
              "change": "c", "start": "2025-01-01", "csrf_token": csrf},
    )  # fmt: skip
    assert bad.status_code == 400 and "cannot read the rule" in bad.text
    csm, csm_csrf = web.login("csm")
    assert "Record a segment experiment" not in csm.get("/alignment").text
    refused = csm.post("/alignment/experiments", data={"name": "y", "segment": "industry == Retail",
                       "change_kind": "campaign", "change": "c", "start": "2025-01-01",
                       "csrf_token": csm_csrf})  # fmt: skip
    assert refused.status_code == 403


def test_the_reasons_page_says_how_many_rows_it_leaves_out_and_shows_them_all(
    web: WebWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from icploop.web.routes import reasons as route

    monkeypatch.setitem(route.SHOWN, "objections", 2)
    client, _ = web.login("cs_manager")
    body = web.client().get("/api/v1/reasons", headers=web.bearer("cs_manager")).json()
    clusters = len(body["reasons"]["pareto"]["unmatched_clusters"])
    objections = len(body["reasons"]["objections"]["by_reason"])
    assert clusters > route.SHOWN["clusters"] and objections > 2
    page = client.get("/reasons").text
    assert page.count("no reason matched") == route.SHOWN["clusters"]
    assert f"{clusters - route.SHOWN['clusters']} more groups of unmatched reasons" in page
    assert f"{objections - 2} more objections" in page
    every = client.get("/reasons?all=true").text
    assert every.count("no reason matched") == clusters
    assert "more groups of unmatched reasons" not in every and "more objections" not in every


def test_the_segment_explorer_reads_nrr_as_the_cli_does(web: WebWorld) -> None:
    client, _ = web.login("ae")
    page = client.get("/segments", params={"outcome": "nrr", "depth": 1})
    assert page.status_code == 200
    overall = re.search(r"accounts, overall ([^;]+);", page.text)
    assert overall and overall[1].endswith("%")
    args = ["segments", "--outcome", "nrr", "--depth", "1", "--workspace", str(web.workspace)]
    cli = CliRunner().invoke(app, [*args, "--json"])
    assert cli.exit_code == 0, cli.output
    assert overall[1] == OUTCOMES["nrr"].shown(json.loads(cli.output)["base_rate"])

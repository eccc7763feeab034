"""The loop in a real browser (Debian's Chromium through Playwright), as the people who work it.

A CSM overrides a signal and sends a flag; the account's AE finds it in their inbox; RevOps
builds the quarterly review in the background and accepts two proposals; Sales objects to a line,
RevOps answers, every team approves and RevOps publishes the version;
Marketing confirms its timeline; the CSM acknowledges; the dashboard shows those steps done.
Screenshots of the main pages go to ``$ICPLOOP_SCREENSHOTS`` when it is set (CI keeps them).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from icploop.store.models import Flag, IcpVersionRecord, Person
from icploop.web.auth import hash_password

from .conftest import PASSWORD, WebWorld

SCREENSHOTS_VAR = "ICPLOOP_SCREENSHOTS"
REASON = "The champion moved to another team in September; nobody owns the rollout."
EVIDENCE = "Bought for revenue forecasting, never connected the CRM; usage is two seats of 40."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(web: WebWorld) -> Iterator[str]:
    """The app on a loopback port, served by uvicorn in a thread for the module's tests."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(web.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


class Shots:
    """Saves full-page screenshots, numbered in the order of the walk."""

    def __init__(self) -> None:
        folder = os.environ.get(SCREENSHOTS_VAR)
        self.folder = Path(folder) if folder else None
        self.count = 0

    def take(self, page: Any, name: str) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count += 1
        page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)


def _login(browser: Any, base: str, email: str) -> Any:
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(f"{base}/")
    return page


def _step_row(page: Any, label: str) -> Any:
    return page.locator("tr", has_text=label)


@pytest.mark.slow
def test_the_loop_walks_from_a_csm_override_to_the_dashboard(
    web: WebWorld, served: str, browser: Any
) -> None:
    shots = Shots()
    account = web.csm_account

    # the CSM overrides a signal on their account and sends a flag
    csm = _login(browser, served, web.people["csm"])
    shots.take(csm, "dashboard")
    csm.goto(f"/accounts/{account}/tag")
    csm.select_option("#override-form select[name=signal]", "champion_stability")
    csm.select_option("#override-form select[name=value]", "bad")
    csm.fill("#override-form textarea[name=reason]", REASON)
    with csm.expect_navigation():
        csm.click("#override-form button[type=submit]")
    shots.take(csm, "tagging-form")
    csm.goto(f"/accounts/{account}")
    assert REASON[:40] in csm.inner_text("body") or "champion_stability" in csm.inner_text("body")
    csm.fill("textarea[name=evidence]", EVIDENCE)
    # a form post answers with a redirect: wait for that page before the next step
    with csm.expect_navigation():
        csm.click("button:has-text('Raise a draft flag')")
    csm.goto("/flags?status=draft")
    card = csm.locator("article.flag", has_text=account).first
    with csm.expect_navigation():
        card.locator("button:has-text('Send')").click()
    shots.take(csm, "flag-inbox-csm")
    with web.store() as session:
        flag = session.scalars(
            select(Flag).where(Flag.account_id == account).order_by(Flag.id.desc())
        ).first()
        assert flag is not None and flag.status == "sent" and flag.ae
        ae_person = session.get(Person, flag.ae)
        assert ae_person is not None
    with web.store() as session, session.begin():
        person = session.get(Person, flag.ae)
        assert person is not None
        person.password_hash = person.password_hash or hash_password(PASSWORD)
        ae_email = person.email or person.person_id

    # the account's AE sees it in their inbox
    ae = _login(browser, served, ae_email)
    ae.goto("/flags")
    inbox = ae.inner_text("main")
    assert account in inbox and EVIDENCE[:30] in inbox
    shots.take(ae, "flag-inbox-ae")

    # RevOps builds the review in the background, accepts two proposals, publishes
    revops = _login(browser, served, web.people["revops"])
    revops.goto("/segments")
    shots.take(revops, "segment-explorer")
    revops.goto("/review")
    revops.click("button:has-text('Build the review pack')")
    revops.wait_for_url(re.compile(r"/jobs/\d+"))
    shots.take(revops, "review-build-progress")
    revops.wait_for_selector("a:has-text('Open the result')", timeout=300_000)
    revops.click("a:has-text('Open the result')")
    revops.wait_for_url(re.compile(r"/review/\d+$"))
    for _ in range(2):
        with revops.expect_navigation():
            revops.locator(
                "article.proposal", has=revops.locator("button[value=accept]")
            ).first.locator("button[value=accept]").click()
    assert revops.locator(".decision.accepted").count() == 2
    shots.take(revops, "review")

    # every team signs off: Sales objects to a line, RevOps answers, then all approve
    ae.goto("/icp")
    draft = ae.locator("section.draft").first
    objected = draft.locator("select[name=criterion] option").first.inner_text()
    draft.locator("input[name=comment][required]").fill("our renewals below this look fine")
    with ae.expect_navigation():
        draft.locator("button:has-text('Object')").click()
    revops.goto("/icp")
    draft = revops.locator("section.draft").first
    assert "publish without" in draft.locator("input[name=override]").get_attribute("placeholder")
    draft.locator("input[name=text]").fill("they churn 2.4x in year one: see the review's evidence")
    with revops.expect_navigation():
        draft.locator("button:has-text('Answer')").click()
    marketing = _login(browser, served, web.people["marketing"])
    # a team's approval is its lead's: the AE and the CSM object or comment, their managers sign
    sales_lead = _login(browser, served, web.people["sales_manager"])
    cs_lead = _login(browser, served, web.people["cs_manager"])
    for page in (revops, sales_lead, marketing, cs_lead):
        page.goto("/icp")
        with page.expect_navigation():
            page.locator("section.draft").first.locator("button:has-text('Approve for')").click()
    revops.goto("/icp")
    draft = revops.locator("section.draft").first
    assert objected in draft.inner_text() and "answer from" in draft.inner_text()
    shots.take(revops, "icp-sign-off")
    with revops.expect_navigation():
        draft.locator("button", has_text=re.compile(r"^Publish$")).click()
    assert "in force since" in revops.inner_text("main")
    revops.locator("input[name=note]").first.fill("sent to all teams")
    with revops.expect_navigation():
        _step_row(revops, "RevOps circulates").locator("button").click()
    with web.store() as session:
        published = session.scalars(
            select(IcpVersionRecord).where(IcpVersionRecord.status == "published")
        ).one()
        assert published.review_id is not None

    # Marketing confirms its timeline; the CSM acknowledges
    marketing.goto("/icp")
    row = _step_row(marketing, "Marketing confirms")
    row.locator("input[name=note]").fill("lead scoring updated by 2026-12-15")
    with marketing.expect_navigation():
        row.locator("button").click()
    csm.goto("/icp")
    assert _step_row(csm, "Marketing confirms").locator("button").count() == 0
    with csm.expect_navigation():
        _step_row(csm, "CS acknowledges").locator("button").click()
    shots.take(csm, "icp-document")

    # the dashboard shows every step done
    revops.goto("/")
    panel = revops.locator("section", has_text="ICP implementation")
    assert panel.locator(".step.done").count() == 3
    assert panel.locator(".step.overdue").count() == 0
    shots.take(revops, "dashboard-after")
    revops.goto("/accounts")
    shots.take(revops, "accounts")
    revops.goto(f"/accounts/{account}")
    shots.take(revops, "account")

    admin = _login(browser, served, web.people["admin"])
    admin.goto("/audit")
    log = admin.inner_text("main")
    for action in ("fit.override", "review.accept", "icp.object", "icp.answer", "icp.approve",
                   "icp.publish", "icp.marketing_timeline"):  # fmt: skip
        assert action in log
    shots.take(admin, "audit-log")
    if shots.folder is not None:
        assert len(list(shots.folder.glob("*.png"))) >= shots.count

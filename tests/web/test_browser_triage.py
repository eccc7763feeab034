"""Inbox and watch-list triage in a real browser (Debian's Chromium through Playwright): RevOps
acknowledges a flag and resolves it, the inbox regrouping it, then snoozes a watch-list entry,
marks another reviewed and reads the history. Screenshots go to
``$ICPLOOP_SCREENSHOTS`` when it is set."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from icploop.store.models import Flag, Person, WatchItem

from . import test_browser_loop as loop
from .conftest import WebWorld
from .test_browser_loop import Shots, _login

served = loop.served  # the app on a loopback port (a module fixture of the loop's test)


@pytest.mark.slow
def test_a_flag_is_triaged_and_watch_entries_are_snoozed_and_reviewed_in_the_browser(
    web: WebWorld, served: str, browser: Any
) -> None:
    shots = Shots()
    with web.store() as session:
        flag = session.scalars(select(Flag).where(Flag.status == "draft").order_by(Flag.id)).first()
        assert flag is not None
    assert web.client().post(f"/api/v1/flags/{flag.id}/send",
                             headers=web.bearer("admin")).status_code == 200  # fmt: skip

    revops = _login(browser, served, web.people["revops"])
    revops.goto("/flags?state=new")
    group = revops.locator(f'section[data-state="new"][data-account="{flag.account_id}"]')
    card = group.locator(f"#flag-{flag.id}")
    with revops.expect_navigation():
        card.locator("button:has-text('Acknowledge')").click()
    revops.goto("/flags?state=acknowledged")
    card = revops.locator(f'section[data-state="acknowledged"] #flag-{flag.id}')
    assert "acknowledged by" in card.inner_text()
    shots.take(revops, "inbox-acknowledged")
    with revops.expect_navigation():
        card.locator("button:has-text('Resolve')").click()
    revops.goto("/flags")
    assert revops.locator(f'section[data-state="resolved"] #flag-{flag.id}').count() == 1
    assert revops.locator(f'section[data-state="new"] #flag-{flag.id}').count() == 0
    with web.store() as session:
        stored = session.get(Flag, flag.id)
        assert stored is not None and stored.state == "resolved"

    # RevOps snoozes one entry and reviews another on the watch list
    revops.goto("/watch?all=true")
    rows = revops.locator("tr.watch")
    assert rows.count() >= 2
    first, second = (rows.nth(i).get_attribute("data-account") for i in (0, 1))
    until = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    row = revops.locator(f'tr.watch[data-account="{first}"]')
    row.locator("input[name=until]").fill(until)
    row.locator("input[name=reason]").fill("renewal call first")
    with revops.expect_navigation():
        row.locator("button:has-text('Snooze')").click()
    row = revops.locator(f'tr.watch[data-account="{second}"]')
    row.locator("input[name=outcome]").fill("stays near: second team onboarding")
    with revops.expect_navigation():
        row.locator("button:has-text('Reviewed')").click()
    revops.goto("/watch?all=true")
    assert revops.locator(f'tr.watch[data-account="{second}"]').count() == 0
    assert until in revops.locator(f'tr.watch[data-account="{first}"]').inner_text()
    shots.take(revops, "watch-list")
    revops.goto(f"/watch?account={first}")
    history = revops.locator("#history").inner_text()
    assert "snoozed" in history and "renewal call first" in history
    with web.store() as session:
        revops_id = session.scalars(
            select(Person.person_id).where(Person.role == "revops").order_by(Person.person_id)
        ).first()
        item = session.scalars(select(WatchItem).where(WatchItem.account_id == second)).one()
        assert item.reviewed_by == revops_id and item.outcome.startswith("stays near")

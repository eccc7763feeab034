"""Triage on the web: flags acknowledged and resolved in the API and the inbox (grouped by state
and account); watch-list entries marked reviewed or snoozed, with their history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from icploop.store.models import Flag, Person, WatchItem
from icploop.web.auth import create_token

from .conftest import WebWorld


def _sent_flag(web: WebWorld) -> Flag:
    with web.store() as session:
        flag = session.scalars(select(Flag).where(Flag.status == "draft").order_by(Flag.id)).first()
    assert flag is not None
    sent = web.client().post(f"/api/v1/flags/{flag.id}/send", headers=web.bearer("admin"))
    assert sent.status_code == 200, sent.text
    return flag


def test_a_flag_is_acknowledged_in_the_api_and_resolved_in_the_inbox(web: WebWorld) -> None:
    flag = _sent_flag(web)
    untouched = _sent_flag(web)
    client = web.client()
    fresh = client.get(f"/api/v1/flags/{flag.id}", headers=web.bearer("revops")).json()
    assert (fresh["state"], fresh["state_by"]) == ("new", None)
    moved = client.post(f"/api/v1/flags/{flag.id}/state", headers=web.bearer("revops"),
                        json={"state": "acknowledged", "note": "on the next pipeline call"})  # fmt: skip
    assert moved.status_code == 200, moved.text
    with web.store() as session:
        revops = session.scalars(
            select(Person.person_id).where(Person.role == "revops").order_by(Person.person_id)
        ).first()
        other_ae = session.scalars(
            select(Person.person_id).where(Person.role == "ae", Person.person_id != flag.ae)
        ).first()
        token = create_token(session, str(other_ae), "t", "tests")
        session.commit()
    assert (moved.json()["state"], moved.json()["state_by"]) == ("acknowledged", revops)
    # a flag outside one's inbox cannot be triaged; an unknown state is refused
    outside = client.post(f"/api/v1/flags/{flag.id}/state", json={"state": "resolved"},
                          headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert outside.status_code == 404
    bad = client.post(f"/api/v1/flags/{flag.id}/state", headers=web.bearer("revops"),
                      json={"state": "done"})  # fmt: skip
    assert bad.status_code == 422

    page, csrf = web.login("revops")
    inbox = page.get("/flags?state=acknowledged").text
    assert f'data-state="acknowledged" data-account="{flag.account_id}"' in inbox
    assert 'data-state="new"' not in inbox
    resolved = page.post(f"/flags/{flag.id}/state", data={"state": "resolved", "csrf_token": csrf},
                         follow_redirects=False)  # fmt: skip
    assert resolved.status_code == 303
    with web.store() as session:
        stored = session.get(Flag, flag.id)
        assert stored is not None and (stored.state, stored.state_by) == ("resolved", revops)
    # the inbox groups by state (new before resolved) and by account within it
    grouped = page.get("/flags").text
    assert grouped.index(f'data-state="new" data-account="{untouched.account_id}"') < grouped.index(
        f'data-state="resolved" data-account="{flag.account_id}"'
    )


def test_watch_entries_are_snoozed_and_reviewed_with_history_in_the_api_and_the_page(
    web: WebWorld,
) -> None:
    client = web.client()
    everything = client.get("/api/v1/watch?all=true", headers=web.bearer("revops")).json()
    assert len(everything) >= 2
    first, second = everything[0]["account_id"], everything[1]["account_id"]
    due_on = max(dt.date.fromisoformat(w["due_date"]) for w in everything[:2])
    until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    snoozed = client.post(f"/api/v1/watch/{first}/snooze", headers=web.bearer("revops"),
                          json={"until": until, "reason": "renewal call first"})  # fmt: skip
    assert snoozed.status_code == 200 and snoozed.json()["snoozed_until"] == until
    day = max(due_on, dt.date.today()).isoformat()
    due = {w["account_id"] for w in client.get(f"/api/v1/watch?as_of={day}",
                                               headers=web.bearer("revops")).json()}  # fmt: skip
    assert first not in due and second in due
    refused = client.post(f"/api/v1/watch/{second}/review", headers=web.bearer("marketing"),
                          json={"outcome": "fine"})  # fmt: skip
    assert refused.status_code == 403

    page, csrf = web.login("revops")
    assert f'data-account="{second}"' in page.get("/watch?all=true").text
    reviewed = page.post(f"/watch/{second}/review", follow_redirects=False,
                         data={"outcome": "stays near: second team onboarding", "csrf_token": csrf})  # fmt: skip
    assert reviewed.status_code == 303
    assert f'data-account="{second}"' not in page.get("/watch?all=true").text
    history = page.get(f"/watch?account={first}").text
    assert "renewal call first" in history and "snoozed" in history
    with web.store() as session:
        item = session.scalars(select(WatchItem).where(WatchItem.account_id == second)).one()
        assert item.reviewed_at is not None and item.outcome.startswith("stays near")

"""One user's bad record never breaks a page for the others: rules are checked when recorded
(web and API), a bad record that reached the store is named on the page while the rest renders,
and experiments and ICP drafts can be ended or deleted by their owner or RevOps, audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from icploop.ingest.schema import ROLES
from icploop.store.database import utcnow
from icploop.store.models import AuditEvent, Experiment, IcpVersionRecord

from .conftest import WebWorld


def _experiment(segment: str, name: str, csrf: str) -> dict[str, str]:
    return {"name": name, "segment": segment, "change_kind": "campaign", "change": "c",
            "start": "2023-01-01", "csrf_token": csrf}  # fmt: skip


def test_a_bad_experiment_is_refused_and_a_stored_one_never_breaks_alignment(
    web: WebWorld,
) -> None:
    client, csrf = web.login("marketing")
    for segment, problem in (
        ("seats_at_close < abc", "holds numbers, and &#39;abc&#39; is not one"),
        ("nosuchcolumn == 1", "there is no attribute &#39;nosuchcolumn&#39;"),
    ):
        response = client.post("/alignment/experiments", data=_experiment(segment, "bad", csrf))
        assert response.status_code == 400 and problem in response.text
    with web.store() as session:
        assert session.scalars(select(Experiment).where(Experiment.name == "bad")).first() is None
    made = client.post(
        "/alignment/experiments",
        data=_experiment("industry == Hospitality", "good", csrf),
        follow_redirects=False,
    )
    assert made.status_code == 303
    with web.store() as session, session.begin():
        # as if recorded before rules were checked
        session.add(Experiment(name="stored-bad", segment=[{"attribute": "seats_at_close",
                               "op": "<", "value": "abc"}], change_kind="campaign", change="c",
                               start_date=dt.date(2023, 1, 1), created_by="someone",
                               created_at=utcnow()))  # fmt: skip
    for role in ROLES:
        viewer, _ = web.login(role)
        page = viewer.get("/alignment")
        assert page.status_code == 200, (role, page.status_code)
        assert "stored-bad" in page.text and "Not measured" in page.text
        assert "good" in page.text
    # marketing may end or delete its own experiment, not another one; RevOps may delete any
    with web.store() as session:
        ids = dict(session.execute(select(Experiment.name, Experiment.id)).all())
    own = client.get("/alignment").text
    assert f"/alignment/experiments/{ids['good']}/delete" in own
    assert f"/alignment/experiments/{ids['stored-bad']}/delete" not in own
    ended = client.post(f"/alignment/experiments/{ids['good']}/stop",
                        data={"end": "2023-06-30", "csrf_token": csrf}, follow_redirects=False)  # fmt: skip
    assert ended.status_code == 303
    refused = client.post(f"/alignment/experiments/{ids['stored-bad']}/delete",
                          data={"csrf_token": csrf})  # fmt: skip
    assert refused.status_code == 400 and "may not delete this experiment" in refused.text
    revops, revops_csrf = web.login("revops")
    for name in ("stored-bad", "good"):
        gone = revops.post(f"/alignment/experiments/{ids[name]}/delete",
                           data={"csrf_token": revops_csrf}, follow_redirects=False)  # fmt: skip
        assert gone.status_code == 303
    with web.store() as session:
        assert session.scalars(select(Experiment)).all() == []
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_type == "experiment")
        ).all()
    assert actions.count("experiment.delete") == 2 and "experiment.stop" in actions


def test_an_icp_draft_is_checked_against_the_accounts_and_can_be_deleted(web: WebWorld) -> None:
    api = web.client()
    revops = web.bearer("revops")
    bad = api.post("/api/v1/icp/versions", headers=revops, json={
        "yaml": "criteria:\n  - {attribute: seats_at_close, op: '>=', value: lots}\n"
                "do_not_close:\n  - {attribute: nosuch, op: '==', value: x}\n"})  # fmt: skip
    assert bad.status_code == 400
    message = bad.json()["error"]["message"]
    assert "criteria 1: 'seats_at_close >= lots'" in message
    assert "do_not_close 1: 'nosuch == x': there is no attribute 'nosuch'" in message
    made = api.post("/api/v1/icp/versions", headers=revops,
                    json={"yaml": "criteria:\n  - {attribute: seats_at_close, op: '>=', value: 75}\n"})  # fmt: skip
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    assert (
        api.delete(f"/api/v1/icp/versions/{number}", headers=web.bearer("csm")).status_code == 403
    )
    assert api.delete(f"/api/v1/icp/versions/{number}", headers=revops).status_code == 204
    assert api.get(f"/api/v1/icp/versions/{number}", headers=revops).status_code == 404
    again = api.post("/api/v1/icp/versions", headers=revops, json={"yaml": "criteria: []\n"})
    assert again.json()["number"] == number + 1  # a deleted draft's number is not given again
    with web.store() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "icp.delete")).one()
    assert event.object_id == str(number) and event.details["lines"] == ["seats_at_close >= 75"]
    # a draft whose stored content no longer reads is named on the page, the rest still shows
    with web.store() as session, session.begin():
        record = session.scalars(
            select(IcpVersionRecord).where(IcpVersionRecord.number == number + 1)
        ).one()
        record.content = {"criteria": [{"attribute": "x", "op": "=>", "value": 1}]}
    client, csrf = web.login("revops")
    page = client.get("/icp")
    assert page.status_code == 200 and f"Draft version {number + 1} cannot be shown" in page.text
    deleted = client.post(f"/icp/{number + 1}/delete", data={"csrf_token": csrf},
                          follow_redirects=False)  # fmt: skip
    assert deleted.status_code == 303
    assert "cannot be shown" not in client.get("/icp").text

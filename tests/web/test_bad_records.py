"""One user's bad record never breaks a page for the others: rules are checked when recorded
(web and API), a bad record that reached the store is named on the page while the rest renders,
and experiments and ICP drafts can be ended or deleted by their owner or RevOps, audited."""

from __future__ import annotations

import datetime as dt

from fastapi.routing import iter_route_contexts
from sqlalchemy import select

from icploop.icp.in_force import rules_in_force
from icploop.ingest.schema import ROLES
from icploop.rules import Rule
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


def test_experiments_in_the_api_are_checked_when_recorded_and_changed_by_owner_or_revops(
    web: WebWorld,
) -> None:
    api = web.client()
    marketing, sales = web.bearer("marketing"), web.bearer("sales_manager")
    body = {"name": "api-exp", "segment": ["industry == Hospitality"], "change_kind": "campaign",
            "change": "c", "start": "2023-01-01"}  # fmt: skip
    for segment, problem in (
        ("seats_at_close < abc", "holds numbers, and 'abc' is not one"),
        ("nosuchcolumn == 1", "there is no attribute 'nosuchcolumn'"),
    ):
        bad = api.post(
            "/api/v1/experiments", headers=marketing, json={**body, "segment": [segment]}
        )
        assert bad.status_code == 400 and problem in bad.json()["error"]["message"]
    deep = '{"attribute": "industry", "op": "in", "value": ' + "[" * 975 + "]" * 975 + "}"
    whole = "[" * 1000 + "]" * 1000  # the request body itself
    for response in (
        api.post("/api/v1/experiments", headers=marketing, json={**body, "segment": [deep]}),
        api.post(
            "/api/v1/experiments",
            content=whole,
            headers={**marketing, "Content-Type": "application/json"},
        ),
    ):
        assert response.status_code in (400, 422), response.text
        assert "\n" not in response.json()["error"]["message"]
    bad_control = api.post("/api/v1/experiments", headers=marketing, json={
        **body, "control": {"kind": "segment", "rules": ["nosuch == 1"]}})  # fmt: skip
    assert bad_control.status_code == 400
    assert "the control segment" in bad_control.json()["error"]["message"]
    assert api.get("/api/v1/experiments", headers=marketing).json() == []
    made = api.post("/api/v1/experiments", headers=marketing, json=body)
    assert made.status_code == 201, made.text
    number = made.json()["id"]
    assert made.json()["segment"] == "industry == Hospitality"
    listed = api.get("/api/v1/experiments", headers=web.bearer("csm")).json()
    assert [e["name"] for e in listed] == ["api-exp"]
    # another experimenter may neither end nor delete it; who recorded it and RevOps may
    end = {"end": "2023-06-30"}
    assert api.post(f"/api/v1/experiments/{number}/end", headers=sales, json=end).status_code == 403
    assert api.delete(f"/api/v1/experiments/{number}", headers=sales).status_code == 403
    ended = api.post(f"/api/v1/experiments/{number}/end", headers=marketing, json=end)
    assert ended.status_code == 200 and ended.json()["end"] == "2023-06-30"
    early = api.post(
        f"/api/v1/experiments/{number}/end", headers=marketing, json={"end": "2022-01-01"}
    )
    assert early.status_code == 400 and "before the experiment's start" in early.text
    assert (
        api.delete(f"/api/v1/experiments/{number}", headers=web.bearer("revops")).status_code == 204
    )
    assert api.delete(f"/api/v1/experiments/{number}", headers=marketing).status_code == 404
    assert api.get("/api/v1/experiments", headers=marketing).json() == []
    with web.store() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "experiment").order_by(AuditEvent.id)
        ).all()
    trail = [e for e in events if e.details.get("name") == "api-exp"]
    assert [e.action for e in trail] == ["experiment.add", "experiment.stop", "experiment.delete"]
    assert trail[-1].actor != trail[0].actor  # RevOps deleted what marketing recorded
    assert trail[-1].details["segment"] == [
        {"attribute": "industry", "op": "==", "value": "Hospitality"}
    ]


def test_a_published_version_with_a_line_that_no_longer_reads_breaks_no_page(
    web: WebWorld,
) -> None:
    with web.store() as session, session.begin():
        top = max(session.scalars(select(IcpVersionRecord.number)).all() or [0])
        # as if written before rules were checked: an operator that does not exist, beside a
        # line that reads
        session.add(IcpVersionRecord(
            number=top + 1, status="published", created_by="x", created_at=utcnow(),
            published_by="x", effective_date=dt.date(2021, 1, 1),
            content={"criteria": [{"attribute": "seats_at_close", "op": "=>", "value": 1},
                                  {"attribute": "seats_at_close", "op": ">=", "value": 75}]},
        ))  # fmt: skip
    client, _ = web.login("revops")
    admin = web.bearer("admin")
    for route in iter_route_contexts(web.app.routes):
        path = route.path_format
        if path is None or "{" in path or "GET" not in (route.methods or ()):
            continue
        if path.startswith("/api/"):
            response = web.client().get(path, headers=admin)
        else:
            response = client.get(path)
        assert response.status_code < 500, (path, response.status_code)
    page = client.get("/icp").text
    assert f"Parts of version {top + 1} as stored cannot be read" in page
    assert "criteria 1: op: Input should be" in page
    assert "seats_at_close" in page  # the line that reads is shown
    diff = web.client().get(f"/api/v1/icp/diff?old={top + 1}&new={top + 1}", headers=admin)
    assert diff.status_code == 200
    with web.store() as session:
        in_force = rules_in_force(session, dt.date(2026, 10, 31))
    assert in_force.version == top + 1
    assert in_force.criteria == (Rule(attribute="seats_at_close", op=">=", value=75),)

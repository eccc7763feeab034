"""A CSM overrides a signal through the form; search and filters treat hostile text as text."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from icploop.store.models import AuditEvent, FitTag

from .conftest import WebWorld

HOSTILE = [
    "' OR '1'='1",
    "x'; DROP TABLE accounts; --",
    '" OR 1=1 --',
    "%' UNION SELECT password_hash FROM people --",
    "\\'; SELECT 1; --",
]


def _current_tag(session: Session, account: str) -> FitTag:
    return session.scalars(
        select(FitTag).where(FitTag.account_id == account, FitTag.current.is_(True))
    ).one()


def _override(
    client: TestClient, csrf: str, account: str, signal: str, value: str, reason: str
) -> Response:
    return client.post(
        f"/accounts/{account}/tag/override",
        data={"signal": signal, "value": value, "reason": reason, "csrf_token": csrf},
        follow_redirects=False,
    )


def test_a_csm_overrides_a_signal_through_the_form_and_the_audit_log_has_it(web: WebWorld) -> None:
    client, csrf = web.login("csm")
    account = web.csm_account
    form = client.get(f"/accounts/{account}/tag")
    assert form.status_code == 200 and "Confirm or override a signal" in form.text
    response = _override(
        client, csrf, account, "champion_stability", "bad", "the champion left in May"
    )
    assert response.status_code == 303
    with web.store() as session:
        tag = _current_tag(session, account)
        assert tag.method == "override" and tag.created_by == web.people["csm"]
        event = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "fit.override")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event is not None and event.actor == web.people["csm"]
        assert event.details["account_id"] == account
        assert event.details["reason"] == "the champion left in May"


def test_a_change_the_store_fails_to_commit_is_answered_as_an_error_not_a_redirect(
    web: WebWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit happens before the response is sent: when it fails the browser is told so (and
    the tag is as it was) instead of following a redirect to a page without the change."""
    client, csrf = web.login("csm")
    account = web.csm_account
    with web.store() as session:
        before = _current_tag(session, account).id

    def failing_commit(self: Session) -> None:
        raise RuntimeError("the store went away")

    monkeypatch.setattr(Session, "commit", failing_commit)
    response = _override(client, csrf, account, "icp_segment_match", "near", "a failing commit")
    monkeypatch.undo()
    assert response.status_code == 500
    with web.store() as session:
        assert _current_tag(session, account).id == before


def test_a_csm_may_not_tag_an_account_that_is_not_theirs(web: WebWorld) -> None:
    client, csrf = web.login("csm")
    api = web.client().get(
        "/api/v1/accounts?page_size=200&fit_tag=bad_fit", headers=web.bearer("admin")
    )
    other = next(a for a in api.json()["items"] if a["csm"] != web.people["csm"])
    response = _override(client, csrf, other["account_id"], "champion_stability", "bad", "x")
    assert response.status_code == 403


def test_hostile_search_and_filter_text_gives_normal_results(web: WebWorld) -> None:
    client, _ = web.login("revops")
    api = web.client()
    total = api.get("/api/v1/accounts", headers=web.bearer("revops")).json()["total"]
    assert total > 100
    for text in HOSTILE:
        page = client.get("/accounts", params={"q": text, "segment": text, "tag": ""})
        assert page.status_code == 200 and "No account matches" in page.text
        for params in ({"q": text}, {"segment": text}):
            result = api.get("/api/v1/accounts", params=params, headers=web.bearer("revops"))
            assert result.status_code == 200 and result.json()["total"] == 0
        bad_tag = api.get(
            "/api/v1/accounts", params={"fit_tag": text}, headers=web.bearer("revops")
        )
        assert bad_tag.status_code in (400, 422) and "password" not in bad_tag.text
        assert set(bad_tag.json()["error"]) == {"message", "hint"}
        audit = api.get("/api/v1/audit", params={"actor": text}, headers=web.bearer("admin"))
        assert audit.status_code == 200 and audit.json() == []
    again = api.get("/api/v1/accounts", headers=web.bearer("revops")).json()["total"]
    assert again == total


def test_the_main_pages_render_for_each_role(web: WebWorld) -> None:
    for role in ("csm", "ae", "revops", "marketing", "admin"):
        client, _ = web.login(role)
        for path in ("/", "/accounts", f"/accounts/{web.csm_account}", "/flags", "/icp"):
            response = client.get(path)
            assert response.status_code == 200, (role, path)
            assert "http://" not in response.text and "https://" not in response.text


def test_the_account_page_gives_each_signal_in_words_with_champions_at_30_90_180(
    web: WebWorld,
) -> None:
    client, _ = web.login("csm")
    page = client.get(f"/accounts/{web.csm_account}").text
    cells = dict(re.findall(r'data-signal="(\w+)">([^<]*)<', page))
    assert set(cells) == {"core_use_case_active", "champion_stability", "icp_segment_match",
                          "adoption_trajectory", "ae_committed_use_cases_active"}  # fmt: skip
    assert not any("=" in text or "nan" in text.lower() for text in cells.values())
    champion = cells["champion_stability"]
    assert champion == "No champion was recorded at close." or all(
        f"day {d}:" in champion for d in (30, 90, 180)
    )
    assert "Champion in place" in page and "adoption_ratio" not in page

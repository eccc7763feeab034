"""Every route refuses an anonymous request and, where a role is needed, a role without it.

The routes come from the app itself and the roles from ``icploop.web.permissions``, the table the
app's guards read: a new route missing from the table fails here.
"""

from __future__ import annotations

import re

from fastapi.routing import iter_route_contexts

from icploop.ingest.schema import ROLES
from icploop.web.permissions import ACTIONS, PUBLIC_ROUTES, ROUTE_ACTIONS

from .conftest import WebWorld

VALUES = {"flag_id": "1", "number": "1", "step": "circulate", "old": "1", "new": "1",
          "experiment_id": "1"}  # fmt: skip


def _routes(web: WebWorld) -> list[tuple[str, str, str]]:
    """(name, method, concrete path) for every route of the app, included routers flattened
    (FastAPI keeps included routers as branches of ``app.routes``)."""
    out = []
    for route in iter_route_contexts(web.app.routes):
        if route.path_format is None or route.name == "static":
            continue
        path = re.sub(
            r"\{(\w+)\}", lambda m: VALUES.get(m.group(1), web.csm_account), route.path_format
        )
        for method in sorted(route.methods or ()):
            out.append((str(route.name), method, path))
    return out


def test_every_route_is_public_or_in_the_permissions_table(web: WebWorld) -> None:
    names = {name for name, _, _ in _routes(web)}
    assert names - PUBLIC_ROUTES <= set(ROUTE_ACTIONS), names - PUBLIC_ROUTES - set(ROUTE_ACTIONS)
    assert len(names) > 30


def test_every_route_refuses_an_anonymous_request(web: WebWorld) -> None:
    client = web.client()
    for name, method, path in _routes(web):
        if name in PUBLIC_ROUTES:
            continue
        response = client.request(method, path, follow_redirects=False)
        if path.startswith("/api/") or path == "/openapi.json":
            assert response.status_code == 401, (method, path, response.status_code)
            assert set(response.json()["error"]) == {"message", "hint"}
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login")


def test_every_route_refuses_a_role_without_the_right(web: WebWorld) -> None:
    sessions = {role: web.login(role) for role in ROLES}
    checked = 0
    for name, method, path in _routes(web):
        if name in PUBLIC_ROUTES:
            continue
        refused = sorted(set(ROLES) - ACTIONS[ROUTE_ACTIONS[name]])
        for role in refused:
            if path.startswith("/api/") or path == "/openapi.json":
                response = web.client().request(method, path, headers=web.bearer(role))
                assert response.json()["error"]["message"]
            else:
                client, csrf = sessions[role]
                data = {"csrf_token": csrf} if method != "GET" else None
                response = client.request(method, path, data=data, follow_redirects=False)
            assert response.status_code == 403, (role, method, path, response.status_code)
            checked += 1
    assert checked > 40


def test_api_errors_have_one_shape(web: WebWorld) -> None:
    client = web.client()
    admin = web.bearer("admin")
    cases = [
        client.get("/api/v1/accounts/NO-SUCH-ACCOUNT", headers=admin),
        client.get("/api/v1/flags/999999", headers=admin),
        client.get("/api/v1/icp/versions/999", headers=admin),
        client.get("/api/v1/accounts?page=0", headers=admin),
        client.post("/api/v1/flags", json={"account_id": web.csm_account, "fit_issue": "x",
                                           "evidence": "e"}, headers=admin),
        client.post("/api/v1/icp/versions", json={"yaml": "::: not yaml"}, headers=admin),
        client.get("/api/v1/nothing-here", headers=admin),
    ]  # fmt: skip
    for response in cases:
        assert 400 <= response.status_code < 500, response.text
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"message", "hint"}
    assert [r.status_code for r in cases[:3]] == [404, 404, 404]

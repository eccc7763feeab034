"""ICP documents posted to the API go through the one YAML reader: an alias bomb or deep nesting
is a 400 naming the line, nothing is stored, and the ICP page stays as it was for every viewer."""

from __future__ import annotations

from tests.test_safe_yaml import ALIAS_BOMB, deep

from .conftest import WebWorld


def test_an_alias_bomb_or_deep_nesting_is_refused_and_nothing_is_stored(web: WebWorld) -> None:
    client = web.client()
    revops = web.bearer("revops")
    before = client.get("/api/v1/icp/versions", headers=revops).json()
    page_before = client.get("/api/v1/icp/versions", headers=web.bearer("csm")).text
    for text, problem in ((ALIAS_BOMB, "the alias *a"), (deep(1000), "nesting deeper")):
        response = client.post("/api/v1/icp/versions", json={"yaml": text}, headers=revops)
        assert response.status_code == 400, response.text
        message = response.json()["error"]["message"]
        assert message.startswith("the request body, line ") and problem in message
    assert client.get("/api/v1/icp/versions", headers=revops).json() == before
    assert client.get("/api/v1/icp/versions", headers=web.bearer("csm")).text == page_before


def test_a_valid_document_with_a_repeated_key_is_refused_with_its_line(web: WebWorld) -> None:
    text = "criteria: []\nchangelog: a\nchangelog: b\n"
    response = web.client().post(
        "/api/v1/icp/versions", json={"yaml": text}, headers=web.bearer("revops")
    )
    assert response.status_code == 400
    assert "line 3: the key 'changelog' is repeated" in response.json()["error"]["message"]

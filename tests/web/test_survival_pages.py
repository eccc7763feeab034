"""Survival and lifetime value on the web and through the API give what the CLI gives."""

from __future__ import annotations

from .conftest import WebWorld


def test_the_survival_page_and_api_show_the_segments_curves_and_lifetime_values(
    web: WebWorld,
) -> None:
    client, _ = web.login("marketing")
    page = client.get("/survival", params={"by": "segment"})
    assert page.status_code == 200
    assert "Hazard ratios" in page.text and "segment=SMB" in page.text
    assert "DERL" in page.text and "Enterprise" in page.text
    refused = client.get("/survival", params={"by": "seats_at_close"})
    assert refused.status_code == 400 and "is a measure" in refused.text
    api = web.client()
    survival = api.get("/api/v1/survival?by=segment&cox=true", headers=web.bearer("ae"))
    assert survival.status_code == 200
    body = survival.json()
    assert {g["group"] for g in body["groups"]} == {"SMB", "Mid-Market", "Enterprise"}
    assert body["cox"]["hazard_ratios"] and body["logrank"]["p_value"] < 0.01
    ltv = api.get("/api/v1/ltv?by=industry", headers=web.bearer("ae"))
    assert ltv.status_code == 200 and len(ltv.json()["groups"]) >= 5
    assert api.get("/api/v1/ltv?by=account_id", headers=web.bearer("ae")).status_code == 400
    assert api.get("/api/v1/survival").status_code == 401

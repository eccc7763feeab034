"""Survival, lifetime value and the MRR bridge on the web and through the API give what the CLI gives."""

from __future__ import annotations

import datetime as dt
import itertools
import re

from .conftest import WebWorld


def test_the_survival_page_and_api_show_the_segments_curves_and_lifetime_values(
    web: WebWorld,
) -> None:
    client, _ = web.login("marketing")
    page = client.get("/survival", params={"by": "segment"})
    assert page.status_code == 200
    assert "Hazard ratios" in page.text and "segment=SMB" in page.text
    assert "DERL" in page.text and "Enterprise" in page.text
    curves = re.findall(r'class="km" data-group="([^"]+)"', page.text)
    assert sorted(curves) == ["Enterprise", "Mid-Market", "SMB"]  # one step line per segment
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


def test_the_bridge_page_shows_the_api_numbers_and_they_add_up(web: WebWorld) -> None:
    api = web.client().get(
        "/api/v1/metrics/bridge", params={"period": "quarter", "periods": 4},
        headers=web.bearer("revops"),
    )  # fmt: skip
    assert api.status_code == 200
    rows = api.json()["rows"]
    assert len(rows) == 4
    for before, after in itertools.pairwise(rows):
        assert before["mrr_end"] == after["mrr_start"]
    for r in rows:
        moved = r["new"] + r["reactivation"] + r["expansion"] - r["contraction"] - r["churn"]
        assert abs(r["mrr_start"] + moved + r["fx"] - r["mrr_end"]) < 0.005
    assert rows[-1]["churn"] > 0 and rows[-1]["new"] > 0
    client, _ = web.login("revops")
    page = client.get("/bridge", params={"period": "quarter", "periods": 4})
    assert page.status_code == 200 and "<svg" in page.text
    last = rows[-1]
    shown = re.search(
        rf'data-period="{last["period"]}">.*?data-col="churn">([^<]+)<.*?data-col="mrr_end">([^<]+)<',
        page.text,
        re.S,
    )
    assert shown is not None
    assert shown.groups() == (f"{last['churn']:,.0f}", f"{last['mrr_end']:,.0f}")
    by = client.get("/bridge", params={"by": "segment", "periods": 2})
    assert by.status_code == 200 and "Enterprise" in by.text
    assert client.get("/bridge", params={"period": "year"}).status_code in (400, 422)


def test_the_forecast_page_gives_the_forecast_and_what_ifs_that_answer_their_inputs(
    web: WebWorld,
) -> None:
    from icploop.config import Settings
    from icploop.flags.tags_in_force import fit_tags_in_force
    from icploop.generations import open_analytics
    from icploop.ingest.paying import paying_months
    from icploop.metrics.tables import CanonicalTables
    from icploop.scoring.forecast import forecast_nrr_at

    client, _ = web.login("marketing")
    page = client.get("/forecast")
    assert page.status_code == 200, page.text
    as_of = dt.date.fromisoformat(re.search(r"data as of (\S+)</small>", page.text).group(1))  # type: ignore[union-attr]
    # the same forecast straight from the analytics, with the tags stored in the app store
    backend = open_analytics(Settings(workspace=web.workspace))
    try:
        with web.store() as session:
            tags = fit_tags_in_force(backend, session, as_of, []).known_months()
        tables = CanonicalTables.from_backend(backend)
        paying = paying_months(tables.mrr_monthly, as_of).select("account_id", "m", "cents")
        expected = forecast_nrr_at(paying.to_pandas(), tags, as_of)
    finally:
        backend.disconnect()
    assert expected.sentence in page.text.replace("&#39;", "'")
    groups = re.findall(r'data-group="(\w+)"', page.text)
    assert groups and set(groups) <= {"tenured", "strong_fit", "near_fit", "bad_fit", "untagged"}
    bad_fit = re.search(r'id="bad-fit">Closing (\d+)% bad-fit deals instead of (\d+)%', page.text)
    assert bad_fit is not None and bad_fit.group(1) == "6"
    current = int(bad_fit.group(2))
    same = client.get("/forecast", params={"bad_share": current / 100}).text
    moved = re.search(r"moves cohort NRR from ([\d.]+)% to ([\d.]+)%", same)
    assert moved is not None
    assert abs(float(moved.group(1)) - float(moved.group(2))) <= 0.15  # rounding of the share
    more = client.get("/forecast", params={"points": 10, "years": 2}).text
    assert re.search(r'id="retention-value">Lifting annual net retention from \d+% to \d+%', more)
    assert "over 2 years" in more
    assert client.get("/forecast", params={"bad_share": 2}).status_code in (400, 422)
    # the API gives the same forecast and what-ifs for the same inputs
    api = web.client()
    inputs = {"bad_share": 0.25, "points": 10, "years": 2}
    body = api.get("/api/v1/forecast", params=inputs, headers=web.bearer("marketing")).json()
    assert body["sentence"] == expected.sentence and body["nrr"] == expected.nrr
    assert body["bad_fit"]["share"] == 0.25 and body["retention"]["years"] == 2
    shown = client.get("/forecast", params=inputs).text.replace("&#39;", "'")
    assert f'id="bad-fit">{body["bad_fit"]["sentence"]}<' in shown
    assert f'id="retention-value">{body["retention"]["sentence"]}<' in shown
    assert [g["group"] for g in body["groups"]] == groups
    assert api.get("/api/v1/forecast", params={"bad_share": 2},
                   headers=web.bearer("marketing")).status_code == 422  # fmt: skip
    assert api.get("/api/v1/forecast").status_code == 401


def test_the_icp_comparison_page_puts_the_four_shares_side_by_side(web: WebWorld) -> None:
    client, _ = web.login("marketing")
    page = client.get("/segments/compare")
    assert page.status_code == 200, page.text
    views = re.findall(r'data-view="(\w+)"', page.text)
    assert views[0] == "value" and set(views) == {"value", "win_rate", "intent", "lookalike"}
    for view in views:
        row = page.text.split(f'data-view="{view}"')[1].split("</tr>")[0]
        shares = dict(re.findall(r'data-col="(\w+)">(\d+)%<', row))
        assert set(shares) == {"account_share", "mrr_share", "retained_mrr_share",
                               "churned_mrr_share"}  # fmt: skip
        assert all(0 <= int(v) <= 100 for v in shares.values())
    assert "owner_ae" not in page.text and "csm =" not in page.text
    ranked = re.findall(r'data-use-case="(\w+)">\1: first-year churn \d+% \(([\d.]+)x', page.text)
    assert ranked and not re.search(r"\bnan\b", page.text, re.I)
    api = web.client().get("/api/v1/segments/compare", headers=web.bearer("marketing")).json()
    assert [v["view"] for v in api["views"]] == views
    assert [u["use_case"] for u in api["use_cases"]] == [u for u, _ratio in ranked]

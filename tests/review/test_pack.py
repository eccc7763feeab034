"""The pack: agenda order, planted effects proposed with evidence, nothing on a null company."""

from __future__ import annotations

import datetime as dt
from typing import Any

from icploop.review.pack import SECTIONS, build_pack, resolve_quarter
from icploop.review.quarters import Quarter, latest_full_quarter

AGENDA = ("churn_cohort", "fit_tags", "close_rates", "synthesis", "proposals")


def test_a_quarter_reads_and_ends_as_people_write_it() -> None:
    quarter = Quarter.parse("2026q3")
    assert (quarter.label, quarter.start, quarter.end) == (
        "2026Q3",
        dt.date(2026, 7, 1),
        dt.date(2026, 9, 30),
    )
    assert quarter.shift(-5).label == "2025Q2"
    assert latest_full_quarter(dt.date(2026, 10, 1)) == quarter
    assert latest_full_quarter(dt.date(2026, 9, 1)) == quarter


def test_the_sections_follow_the_agenda_and_the_last_decisions_open_the_pack(
    small_workspace: tuple[Any, Any],
) -> None:
    backend, factory = small_workspace
    with factory() as session:
        pack = build_pack(backend, session, resolve_quarter(backend, None))
    ids = [s["id"] for s in pack["sections"]]
    assert ids == [s[0] for s in SECTIONS]
    assert ids[:2] == ["executive", "previous_review"]
    assert [i for i in ids if i in AGENDA] == list(AGENDA)
    assert pack["quarter"] == "2026Q3" and pack["as_of"] == "2026-09-30"
    cohort = pack["churn_cohort"]
    assert cohort["window"] == {"start": "2025-04-01", "end": "2025-09-30"}
    assert set(cohort["by"]) == {"closing_ae", "segment", "industry", "use_case"}
    row = cohort["by"]["segment"][0]
    assert row["lo"] <= row["rate"] <= row["hi"] and row["n"] > 0
    assert pack["close_rates"]["overall"]["n"] > 0
    assert isinstance(pack["headline"]["micro_review"]["due"], bool)


def _titles(pack: dict[str, Any]) -> list[str]:
    return [p["title"] for p in pack["proposals"]["items"]]


def test_the_demo_proposals_include_every_planted_effect_with_its_evidence(
    demo_pack: dict[str, Any],
) -> None:
    items = {p["title"]: p for p in demo_pack["proposals"]["items"]}
    seat = next(
        p
        for p in items.values()
        if p["payload"].get("rule", {}).get("attribute") == "seats_at_close"
    )
    assert seat["kind"] == "criterion" and seat["payload"]["rule"]["op"] == ">="
    assert 40 <= seat["payload"]["rule"]["value"] <= 80
    assert seat["evidence"]["permutation_p"] <= 0.01 and seat["evidence"]["ratio"] > 2

    ae = next(p for p in items.values() if "haddad" in p["title"])
    assert ae["kind"] == "qualification"
    assert {r["attribute"] for r in ae["payload"]["rules"]} == {"closing_ae", "quarter_end_deal"}
    assert ae["evidence"]["q_value"] < 0.05 and ae["evidence"]["ratio"] > 1.5

    hospitality = items["Do not close: industry = Hospitality"]
    assert hospitality["kind"] == "do_not_close"
    assert "2023" in hospitality["evidence"]["targeted_cohort"]
    assert hospitality["evidence"]["ratio"] >= 2 and hospitality["evidence"]["q_value"] < 0.01

    intent = items["Lead scoring: -10 for lead_source = intent_vendor"]
    assert intent["payload"]["points"] < 0 and intent["evidence"]["intent_trap"] is True
    for item in items.values():
        assert item["sentence"] and item["evidence"]
    kinds = [p["kind"] for p in demo_pack["proposals"]["items"]]
    assert 3 <= kinds.count("criterion") <= 5 and 1 <= kinds.count("qualification") <= 2


def test_a_null_company_gets_none_of_those_proposals_and_at_most_one_at_all(
    null_pack: dict[str, Any],
) -> None:
    titles = _titles(null_pack)
    assert len(titles) <= 1, titles
    for word in ("seats_at_close", "haddad", "Hospitality", "intent_vendor"):
        assert not any(word in t for t in titles)


def test_the_pack_says_why_customers_left_and_which_premium_accounts_lose_money(
    demo_pack: dict[str, Any], demo_5000: dict[str, Any]
) -> None:
    section = demo_pack["reasons_cost"]
    reasons, cost = section["reasons"], section["cost"]
    planted = next(
        e for e in demo_5000["truth"]["effects"] if "top_reasons" in e.get("planted", {})
    )
    ranked = [r["reason"] for r in reasons["pareto"]["reasons"]]
    # a single year of losses: the two largest planted reasons lead, support is marginal
    assert set(planted["planted"]["top_reasons"][:2]) <= set(ranked[:3])
    support = next(r for r in reasons["pareto"]["reasons"] if r["reason"] == "support_quality")
    assert support["share"] < 0.05
    assert reasons["hypothesis"]["verdict"] == "not supported"
    premium = next(t for t in cost["tiers"] if t["tier"] == "premium")
    assert 0.2 < premium["unprofitable_share"] < 0.4
    assert {m["tier"] for m in cost["moves"]} == {"premium"}
    assert cost["moves_total"] == premium["unprofitable"]


def test_without_costs_the_section_says_so_and_the_pack_still_builds(
    small_workspace: tuple[Any, Any],
) -> None:
    backend, factory = small_workspace
    backend.raw_sql("DROP TABLE costs")
    with factory() as session:
        pack = build_pack(backend, session, resolve_quarter(backend, None))
    assert pack["reasons_cost"]["cost"] is None
    assert pack["reasons_cost"]["cost_unavailable"] == "no costs table is loaded"
    assert pack["reasons_cost"]["reasons"] is not None

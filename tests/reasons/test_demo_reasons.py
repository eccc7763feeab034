"""On the demo company the reasons recover what was planted; on the null company nothing separates
churned from retained accounts."""

from __future__ import annotations

from typing import Any

import pytest

from icploop.reasons.evidence import ReasonTables, loss_events
from icploop.reasons.hypothesis import check_hypothesis, compare_accounts, reason_separation
from icploop.reasons.objections import returning_objections
from icploop.reasons.pareto import UNEXPLAINED, churn_reasons
from icploop.reasons.report import reasons_section
from icploop.reasons.taxonomy import load_taxonomy

from .conftest import AS_OF


def _effect(truth: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in truth["effects"] if e["id"] == name)


def test_the_pareto_table_recovers_the_planted_top_reasons(
    demo_tables: ReasonTables, demo_company: dict[str, Any]
) -> None:
    assert demo_company["truth"]["as_of"] == AS_OF.isoformat()
    planted = _effect(demo_company["truth"], "support_not_cause")["planted"]["top_reasons"]
    result = churn_reasons(demo_tables, AS_OF, window_months=12)
    assert set(result.top(3)) == set(planted)
    table = result.table.set_index("reason")
    assert table.loc[result.top(3), "share"].sum() > 0.5
    support = table["share"].get("support_quality", 0.0)
    assert support < 0.05
    assert table["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    assert table["accounts"].sum() == result.n_accounts
    assert table.index[-1] == UNEXPLAINED


def test_each_pareto_row_carries_sample_evidence_with_a_link_to_the_account(
    demo_tables: ReasonTables,
) -> None:
    result = churn_reasons(demo_tables, AS_OF)
    top = result.table.iloc[0]
    assert top["samples"]
    sample = top["samples"][0]
    assert sample["link"] == f"/accounts/{sample['account_id']}"
    assigned = result.assignments.set_index("account_id")
    assert assigned.loc[sample["account_id"], "reason"] == top["reason"]


def test_tagged_reasons_are_taken_as_tagged(demo_tables: ReasonTables) -> None:
    result = churn_reasons(demo_tables, AS_OF)
    tagged = result.assignments[result.assignments["source"] == "tag"]
    assert len(tagged) > 0.5 * (result.assignments["event"] == "churn").sum()


def test_losses_in_the_window_are_churn_or_contraction_with_positive_mrr(
    demo_tables: ReasonTables,
) -> None:
    events = loss_events(demo_tables, AS_OF, 12)
    assert set(events["event"]) == {"churn", "contraction"}
    assert (events["lost_mrr"] > 0).all()
    assert events["account_id"].is_unique
    assert events["month"].min().isoformat() >= "2025-11-01"


def test_the_support_hypothesis_is_rejected_with_its_numbers(demo_tables: ReasonTables) -> None:
    result = check_hypothesis(demo_tables, AS_OF, "support")
    assert result.reason == "support_quality"
    assert result.verdict == "not supported"
    assert result.sentence.startswith('The evidence does not support "support causes churn"')
    assert result.reason_share < 0.05
    volume = result.measures["tickets_per_month"]
    assert volume.lo < 0.05  # churned accounts do not file materially more tickets
    assert not (volume.lo > 0 and volume.p_value < 0.01)
    slow = result.measures["slow_ticket"]
    assert slow.lo < 1 < slow.hi or slow.hi < 1
    assert result.churned > 100 and result.retained > result.churned
    assert f"{result.churned} churned accounts" in result.sentence


def test_the_planted_top_reason_is_supported(demo_tables: ReasonTables) -> None:
    result = check_hypothesis(demo_tables, AS_OF, "adoption")
    assert result.reason == "low_adoption"
    assert result.verdict == "supported"
    assert result.measures["reason_in_evidence"].lo > 1


def test_an_unknown_hypothesis_is_a_user_error(demo_tables: ReasonTables) -> None:
    from icploop.errors import IcploopError

    with pytest.raises(IcploopError, match="neither a reason"):
        check_hypothesis(demo_tables, AS_OF, "weather")


def test_on_the_demo_company_low_adoption_separates_churned_from_retained(
    demo_tables: ReasonTables,
) -> None:
    sep = reason_separation(compare_accounts(demo_tables, AS_OF), load_taxonomy())
    assert "low_adoption" in set(sep.loc[sep["separates"], "reason"])
    assert "support_quality" not in set(sep.loc[sep["separates"], "reason"])


def test_on_the_null_company_no_reason_separates_churned_from_retained(
    null_tables: ReasonTables,
) -> None:
    comp = compare_accounts(null_tables, AS_OF)
    sep = reason_separation(comp, load_taxonomy())
    assert comp.accounts["churned"].sum() > 100
    assert not sep["separates"].any(), sep
    assert check_hypothesis(null_tables, AS_OF, "support", comparison=comp).verdict != "supported"


def test_the_integration_objection_returns_as_a_churn_reason(demo_tables: ReasonTables) -> None:
    result = returning_objections(demo_tables, AS_OF)
    row = result.by_reason.set_index("reason").loc["missing_integration"]
    assert row["lost_deals"] > 0
    assert row["returned"] > 0
    assert row["return_rate"] > 3 * row["rate_without_objection"]
    owners = result.by_owner
    assert owners["returned"].sum() == row["returned"]
    assert {"segment", "ae"} <= set(owners.columns)


def test_the_review_section_is_plain_data_with_a_headline(demo_tables: ReasonTables) -> None:
    import json

    section = reasons_section(demo_tables, AS_OF)
    json.dumps(section, default=str)
    assert section["headline"].startswith("3 reasons explain")
    assert section["hypothesis"]["verdict"] == "not supported"
    assert "low_adoption" in section["separating_reasons"]

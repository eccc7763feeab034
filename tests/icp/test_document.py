"""The ICP document as data: binary calls, YAML round trip, diffs."""

from __future__ import annotations

import pytest

from icploop.errors import IcploopError
from icploop.icp.document import (
    IcpContent,
    IcpVersion,
    ScoringChange,
    account_kinds,
    check_content,
    diff,
    from_yaml,
    readable_content,
    to_yaml,
)
from icploop.rules import Rule, schema_kinds

SEAT_FLOOR = Rule(attribute="seats_at_close", op=">=", value=75, rationale="under 50 churn 3x")
INDUSTRIES = Rule(attribute="industry", op="in", value=["Software", "Fintech"])


def test_an_account_gets_a_binary_call_against_every_criterion() -> None:
    version = IcpVersion(number=1, content=IcpContent(criteria=(SEAT_FLOOR, INDUSTRIES)))
    assert version.matches({"seats_at_close": 80, "industry": "Fintech"})
    assert not version.matches({"seats_at_close": 74, "industry": "Fintech"})
    assert not version.matches({"industry": "Fintech"})  # unknown seats never meet a floor


def test_a_version_survives_a_yaml_round_trip() -> None:
    content = IcpContent(
        criteria=(SEAT_FLOOR, INDUSTRIES),
        do_not_close=(Rule(attribute="use_case", op="==", value="one-off migration"),),
        lead_scoring=(ScoringChange(rule=SEAT_FLOOR, points=15),),
        qualification=("Confirm the primary use case is live within 30 days",),
        changelog="Seat floor from the Q3 review",
    )
    assert from_yaml(to_yaml(content)) == content


def test_a_bad_document_names_the_source_and_the_field() -> None:
    with pytest.raises(IcploopError, match=r"icp\.yaml.*criteria\.0\.op"):
        from_yaml("criteria:\n  - {attribute: seats_at_close, op: '=>', value: 75}\n", "icp.yaml")
    with pytest.raises(IcploopError, match="non-empty list"):
        from_yaml("criteria:\n  - {attribute: industry, op: in, value: Software}\n", "icp.yaml")


def test_the_diff_lists_what_was_added_and_removed_per_part() -> None:
    old = IcpContent(criteria=(INDUSTRIES,), qualification=("Budget confirmed",))
    new = IcpContent(
        criteria=(INDUSTRIES, SEAT_FLOOR),
        do_not_close=(Rule(attribute="industry", op="==", value="Hospitality"),),
    )
    assert diff(old, new) == {
        "criteria": {"added": ["seats_at_close >= 75"], "removed": []},
        "do_not_close": {"added": ["industry == Hospitality"], "removed": []},
        "qualification": {"added": [], "removed": ["Budget confirmed"]},
    }
    assert diff(new, new) == {}


def test_rules_are_checked_against_the_kinds_of_the_accounts_columns() -> None:
    kinds = account_kinds(None)  # nothing loaded: the canonical accounts columns
    assert kinds["seats_at_close"] == "number" and kinds["created_date"] == "date"
    assert Rule(attribute="seats_at_close", op=">=", value="75").problem(kinds) is None
    assert Rule(attribute="created_date", op=">=", value="2024-01-01").problem(kinds) is None
    assert "is not one" in str(Rule(attribute="created_date", op=">", value="soon").problem(kinds))
    assert "is not one" in str(Rule(attribute="seats_at_close", op="<", value=True).problem(kinds))
    assert Rule(attribute="industry", op="==", value=12).problem(kinds) is None  # text compares
    content = IcpContent(
        criteria=(SEAT_FLOOR, Rule(attribute="seats_at_close", op="<", value="abc")),
        lead_scoring=(ScoringChange(rule=Rule(attribute="nope", op="==", value=1), points=5),),
    )
    with pytest.raises(IcploopError) as err:
        check_content(content, kinds, "icp.yaml")
    assert err.value.message == (
        "icp.yaml: the accounts cannot judge criteria 2: 'seats_at_close < abc': seats_at_close "
        "holds numbers, and 'abc' is not one; lead_scoring 1: 'nope == 1': there is no "
        "attribute 'nope'"
    )


def test_a_rule_with_numeric_text_judges_a_numeric_column_in_the_engine() -> None:
    import ibis

    table = ibis.memtable({"seats_at_close": [10, 80, None], "active": [True, False, True]})
    assert schema_kinds(table.schema()) == {"seats_at_close": "number", "active": "bool"}
    floor = Rule(attribute="seats_at_close", op=">=", value="75").to_expr(table)
    assert table.select(hit=floor).to_pandas()["hit"].tolist() == [False, True, False]
    flag = Rule(attribute="active", op="==", value="yes").to_expr(table)
    assert table.select(hit=flag).to_pandas()["hit"].tolist() == [True, False, True]
    with pytest.raises(IcploopError, match="active is yes/no, so only == and != apply"):
        Rule(attribute="active", op=">", value=True).to_expr(table)


def test_stored_content_reads_what_it_can_and_names_the_rest() -> None:
    good = {"attribute": "industry", "op": "==", "value": "Retail"}
    content, problems = readable_content(
        {"criteria": [{"attribute": "x", "op": "=>", "value": 1}, good],
         "lead_scoring": [{"rule": good, "points": "many"}], "changelog": "c", "colour": "red"}
    )  # fmt: skip
    assert content.criteria == (Rule.model_validate(good),) and content.changelog == "c"
    assert content.lead_scoring == ()
    assert problems[0] == "colour: not a part of an ICP document"
    assert problems[1].startswith("criteria 1: op: Input should be '=='")
    assert problems[2].startswith("lead_scoring 1: points: Input should be a valid integer")
    assert readable_content({"criteria": [good]}) == (IcpContent(criteria=(Rule(**good),)), [])
    assert readable_content(["a"])[1] == ["the stored content is not a mapping but list"]

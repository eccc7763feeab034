"""A rule that the data cannot judge is refused when recorded, and one that reached the store
anyway (recorded before the check, or written by hand) never breaks the pack or a command for
anyone: the experiment is named with its problem and the others are measured."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from icploop.cli.main import app
from icploop.errors import IcploopError
from icploop.icp.experiments import add_experiment, delete_experiment, stop_experiment
from icploop.review.alignment import alignment_section, experiment_attributes
from icploop.review.render import render_html, render_markdown
from icploop.segments.frames import account_frame
from icploop.store.database import utcnow
from icploop.store.models import AuditEvent, Experiment, Person
from tests.review.conftest import open_workspace

from .conftest import AS_OF

REVOPS = "revops.lead@example.test"
MARKETING = "marketing.lead@example.test"


def _stored_as_is(session, name: str, rule: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    """An experiment written straight into the store, skipping every check."""
    session.add(Experiment(name=name, segment=[rule], change_kind="campaign", change="c",
                           start_date=dt.date(2023, 1, 1), created_by=MARKETING,
                           created_at=utcnow()))  # fmt: skip


def test_rules_the_data_cannot_judge_are_refused_when_recorded(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    backend, factory = open_workspace(demo_warehouse, tmp_path / "ws")
    accounts = account_frame(backend, AS_OF)
    kinds = experiment_attributes(backend, accounts, AS_OF)
    backend.disconnect()
    assert kinds["seats_at_close"] == "number" and kinds["close_year"] == "text"
    with factory() as session, session.begin():
        for segment, problem in (
            ("seats_at_close < abc", "seats_at_close holds numbers, and 'abc' is not one"),
            ("nosuchcolumn == 1", "there is no attribute 'nosuchcolumn'"),
            ("seats_at_close in [10, ten]", "'ten' is not one"),
        ):
            with pytest.raises(IcploopError, match=problem):
                add_experiment(session, MARKETING, "x", [segment], "campaign", "c",
                               dt.date(2024, 1, 1), kinds=kinds)  # fmt: skip
        with pytest.raises(IcploopError, match=r"the control segment .* no attribute 'nope'"):
            add_experiment(session, MARKETING, "x", ["industry == Retail"], "campaign", "c",
                           dt.date(2024, 1, 1), kinds=kinds,
                           control={"kind": "segment", "rules": ["nope == 1"]})  # fmt: skip
        kept = add_experiment(session, MARKETING, "numeric-text", ["seats_at_close < '50'"],
                              "campaign", "c", dt.date(2024, 1, 1), kinds=kinds)  # fmt: skip
        assert kept.segment[0]["value"] == "50"
        assert session.scalars(select(Experiment.name)).all() == ["numeric-text"]


def test_a_stored_bad_experiment_leaves_the_pack_and_the_others_measured(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    backend, factory = open_workspace(demo_warehouse, tmp_path / "ws")
    with factory() as session, session.begin():
        add_experiment(session, REVOPS, "hospitality-2023", ["industry == Hospitality"],
                       "campaign", "push", dt.date(2023, 1, 1))  # fmt: skip
        _stored_as_is(session, "broken-type", {"attribute": "seats_at_close", "op": "<",
                                               "value": "abc"})  # fmt: skip
        _stored_as_is(session, "broken-column", {"attribute": "nosuchcolumn", "op": "==",
                                                 "value": 1})  # fmt: skip
        _stored_as_is(session, "broken-json", {"attribute": "industry", "op": "=>", "value": 1})
    accounts = account_frame(backend, AS_OF)
    with factory() as session:
        section = alignment_section(backend, session, accounts, AS_OF)
    backend.disconnect()
    by_name = {e["name"]: e for e in section["experiments"]}
    assert by_name["hospitality-2023"]["result"]["status"] == "measured"
    assert "holds numbers, and 'abc' is not one" in by_name["broken-type"]["error"]
    assert "no attribute 'nosuchcolumn'" in by_name["broken-column"]["error"]
    assert "does not read" in by_name["broken-json"]["error"]
    assert "unreadable rule" in by_name["broken-json"]["segment"]
    pack = {"quarter": "2026Q3", "as_of": AS_OF.isoformat(), "review_id": None,
            "sections": [{"id": "alignment", "title": "Alignment", "presenter": "VP Sales"}],
            "alignment": section}  # fmt: skip
    for text in (render_markdown(pack), render_html(pack, charts={})):
        assert "hospitality-2023" in text and "broken-type" in text


def test_experiment_show_names_a_bad_rule_in_one_line(demo_warehouse: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    backend, factory = open_workspace(demo_warehouse, ws)
    backend.disconnect()
    with factory() as session, session.begin():
        _stored_as_is(session, "broken-type", {"attribute": "seats_at_close", "op": "<",
                                               "value": "abc"})  # fmt: skip
    result = CliRunner().invoke(app, ["experiment", "show", "broken-type", "--as-of",
                                      AS_OF.isoformat(), "--workspace", str(ws)])  # fmt: skip
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "TypeError" not in result.output
    assert result.output.splitlines()[0].startswith("error: segment rule 'seats_at_close < abc'")


def test_the_cli_refuses_a_bad_segment_and_lets_owner_or_revops_delete(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    backend, factory = open_workspace(demo_warehouse, ws)
    backend.disconnect()
    with factory() as session, session.begin():
        session.add(Person(person_id="other.marketer@example.test", role="marketing",
                           created_at=utcnow()))  # fmt: skip
    w = ["--workspace", str(ws)]
    runner = CliRunner()
    add = ["experiment", "add", "--change-kind", "campaign", "--change", "c", "--start",
           "2024-01-01", "--as", MARKETING, *w]  # fmt: skip
    refused = runner.invoke(app, [*add, "bad", "--segment", "seats_at_close < abc"])
    assert refused.exit_code == 1 and "holds numbers" in refused.output
    # a rule as JSON nested 1,000 deep, or 900 deep (parsed, but not one value), is one line
    for depth, problem in ((1000, "nested too deeply"), (900, "holds single values")):
        deep = '{"attribute": "industry", "op": "in", "value": ' + "[" * depth + "]" * depth + "}"
        result = runner.invoke(app, [*add, "deep", "--segment", deep])
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) <= 2 and problem in result.output
    for name in ("mine", "theirs"):
        made = runner.invoke(app, [*add, name, "--segment", "industry == Retail"])
        assert made.exit_code == 0, made.output
    other = runner.invoke(app, ["experiment", "delete", "mine", "--as",
                                "other.marketer@example.test", *w])  # fmt: skip
    assert other.exit_code == 1 and f"only {MARKETING} (who recorded it) or revops" in other.output
    assert (
        runner.invoke(app, ["experiment", "delete", "mine", "--as", MARKETING, *w]).exit_code == 0
    )
    assert runner.invoke(app, ["experiment", "delete", "theirs", "--as", REVOPS, *w]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["experiment", "list", "--json", *w]).output)
    assert listed == []
    with factory() as session:
        deleted = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "experiment.delete")
        ).all()
    assert [(e.actor, e.details["name"]) for e in deleted] == [(MARKETING, "mine"),
                                                               (REVOPS, "theirs")]  # fmt: skip
    assert deleted[0].details["segment"] == [{"attribute": "industry", "op": "==",
                                              "value": "Retail"}]  # fmt: skip


def test_only_the_owner_or_revops_ends_an_experiment(demo_warehouse: Path, tmp_path: Path) -> None:
    _, factory = open_workspace(demo_warehouse, tmp_path / "ws")
    with factory() as session, session.begin():
        session.add(Person(person_id="mgr@example.test", role="sales_manager",
                           created_at=utcnow()))  # fmt: skip
        add_experiment(session, MARKETING, "e", ["industry == Retail"], "campaign", "c",
                       dt.date(2024, 1, 1))  # fmt: skip
        with pytest.raises(IcploopError, match="may not stop this experiment"):
            stop_experiment(session, "mgr@example.test", "e", dt.date(2024, 6, 30))
        with pytest.raises(IcploopError, match="may not delete this experiment"):
            delete_experiment(session, "mgr@example.test", "e")
        assert stop_experiment(session, REVOPS, "e", dt.date(2024, 6, 30)).end_date == dt.date(
            2024, 6, 30
        )

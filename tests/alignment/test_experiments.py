"""Experiments: the measurement on the planted Hospitality push, the lag rule, the store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from icploop.alignment.experiments import NOT_YET, measure_experiment, segment_mask
from icploop.errors import IcploopError
from icploop.icp import experiments as store
from icploop.rules import Rule
from icploop.store.models import AuditEvent
from tests.review.conftest import open_workspace

from .conftest import AS_OF

HOSPITALITY_2023 = [
    {"attribute": "industry", "op": "==", "value": "Hospitality"},
    {"attribute": "close_year", "op": "==", "value": 2023},
]
OTHERS_2023 = [
    {"attribute": "industry", "op": "!=", "value": "Hospitality"},
    {"attribute": "close_year", "op": "==", "value": 2023},
]
NO_TAGS = pd.Series(dtype=object)


def test_the_hospitality_push_churns_against_a_control_beyond_its_interval(
    demo_frames: dict[str, Any],
) -> None:
    result = measure_experiment(
        "hospitality-2023", HOSPITALITY_2023, dt.date(2023, 1, 1), demo_frames["accounts"],
        demo_frames["deals"], NO_TAGS, AS_OF, end=dt.date(2023, 12, 31),
        control={"kind": "segment", "rules": OTHERS_2023},
    )  # fmt: skip
    churn = result.metric("first_year_churn")
    assert churn["n_experiment"] >= 30 and churn["n_control"] >= 100
    # about half churned in year one; the interval of the push excludes the control's rate
    assert 0.3 < churn["experiment"] < 0.7
    assert churn["experiment_low"] > churn["control"]
    assert churn["ci_low"] > 0 and result.verdict("first_year_churn") == "worse"
    win = result.metric("win_rate")
    assert win["experiment_low"] > win["control"] and result.verdict("win_rate") == "better"
    assert result.status == "measured"
    assert result.to_dict()["metrics"][0]["metric"] == "win_rate"


def test_an_experiment_started_in_the_last_month_is_not_yet_measurable(
    demo_frames: dict[str, Any],
) -> None:
    result = measure_experiment(
        "new-messaging", [{"attribute": "industry", "op": "==", "value": "Software"}],
        AS_OF - dt.timedelta(days=20), demo_frames["accounts"], demo_frames["deals"], NO_TAGS,
        AS_OF,
    )  # fmt: skip
    assert result.status == NOT_YET and not result.measurable
    assert set(result.summary["verdict"]) == {NOT_YET}
    assert any("not yet measurable" in c for c in result.caveats)
    # the default control is the same segment in the 20 days before the start
    assert result.control.end == AS_OF - dt.timedelta(days=21)
    assert (result.control.end - result.control.start).days == 20


def test_segment_rules_compare_values_in_the_columns_terms() -> None:
    frame = pd.DataFrame(
        {"close_year": ["2023", "2024", None], "seats_at_close": [10.0, 80.0, None]}
    )
    year = Rule(attribute="close_year", op="==", value=2023)
    seats = Rule(attribute="seats_at_close", op="<", value="50")
    assert segment_mask(frame, [year]).tolist() == [True, False, False]
    assert segment_mask(frame, [seats]).tolist() == [True, False, False]
    not_in = Rule(attribute="close_year", op="not_in", value=[2023])
    assert segment_mask(frame, [not_in]).tolist() == [False, True, False]
    with pytest.raises(IcploopError, match="attribute"):
        segment_mask(frame, [Rule(attribute="region", op="==", value="EMEA")])


def test_rules_are_parsed_strictly() -> None:
    assert store.parse_rule("industry == Hospitality").model_dump(
        include={"attribute", "op", "value"}
    ) == {"attribute": "industry", "op": "==", "value": "Hospitality"}
    assert store.parse_rule("seats_at_close < 50").value == 50
    assert store.parse_rule("industry in [Retail, Travel]").value == ("Retail", "Travel")
    assert store.parse_rule("industry not in Retail").op == "not_in"
    assert store.parse_rule("close_year == '2023'").value == "2023"
    for bad in ("industry ~ Retail", "industry", "1x == 2", "industry in []"):
        with pytest.raises(IcploopError):
            store.parse_rule(bad)


def test_experiments_are_recorded_by_role_audited_and_stopped(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    backend, factory = open_workspace(demo_warehouse, tmp_path / "ws")
    backend.disconnect()
    with factory() as session, session.begin():
        with pytest.raises(IcploopError, match="may not record experiments"):
            store.add_experiment(session, "csm.one@example.test", "x", ["industry == Retail"],
                                 "campaign", "retail push", dt.date(2025, 1, 1))  # fmt: skip
        record = store.add_experiment(
            session, "marketing.lead@example.test", "hospitality-2023",
            ["industry == Hospitality", "close_year == 2023"], "campaign",
            "the 2023 hospitality push", dt.date(2023, 1, 1),
            control={"kind": "period", "start": "2022-01-01", "end": "2022-12-31"},
        )  # fmt: skip
        assert record.segment[1] == {"attribute": "close_year", "op": "==", "value": 2023}
        with pytest.raises(IcploopError, match="exists already"):
            store.add_experiment(session, "revops.lead@example.test", "hospitality-2023",
                                 ["industry == Retail"], "campaign", "again", dt.date(2025, 1, 1))  # fmt: skip
        with pytest.raises(IcploopError, match="change kind"):
            store.add_experiment(session, "revops.lead@example.test", "y", ["industry == Retail"],
                                 "discounting", "z", dt.date(2025, 1, 1))  # fmt: skip
        with pytest.raises(IcploopError, match="ends"):
            store.add_experiment(session, "revops.lead@example.test", "y", ["industry == Retail"],
                                 "other", "z", dt.date(2025, 1, 1),
                                 control={"kind": "period", "start": "2024-05-01",
                                          "end": "2024-01-01"})  # fmt: skip
    with factory() as session, session.begin():
        assert store.get_experiment(session, "hospitality-2023").id == record.id
        assert store.get_experiment(session, str(record.id)).name == "hospitality-2023"
        store.stop_experiment(session, "revops.lead@example.test", record.id, dt.date(2023, 12, 31))
    with factory() as session:
        assert store.get_experiment(session, "hospitality-2023").end_date == dt.date(2023, 12, 31)
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_type == "experiment")
        ).all()
        assert actions == ["experiment.add", "experiment.stop"]
        with pytest.raises(IcploopError, match="no experiment"):
            store.get_experiment(session, "missing")

"""Fit tags in the store: idempotent runs, overrides with history, the quick check, the watch list."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from icploop.errors import IcploopError
from icploop.flags.overrides import override_signal
from icploop.store import fit_tags
from icploop.store.database import migrate
from icploop.store.models import AuditEvent, FitTag

AS_OF = dt.date(2026, 10, 31)


def _fit_frame() -> pd.DataFrame:
    base = {
        "close_date": pd.Timestamp("2026-05-01"),
        "use_case": "reporting",
        "core_active_weeks_recent": 4.0,
        "recent_window_days": 30,
        "champions": 1.0,
        "stayed_same_role": 1.0,
        "stayed_other_role": 0.0,
        "departed": 0.0,
        "criteria": 1,
        "criteria_met": 1,
        "criteria_missed": "",
        "events_0_30": 10.0,
        "events_30_60": 20.0,
        "events_60_90": 30.0,
        "adoption_ratio": 1.1,
        "committed": 2,
        "committed_active": 2,
        "committed_inactive": None,
        "account_type": None,
    }
    signals = [
        "core_use_case_active",
        "champion_stability",
        "icp_segment_match",
        "adoption_trajectory",
        "ae_committed_use_cases_active",
    ]
    rows = [
        {**base, "account_id": "A", **dict.fromkeys(signals, "strong"), "tag": "strong_fit"},
        {**base, "account_id": "B", **dict.fromkeys(signals, "near"), "tag": "near_fit"},
        {
            **base,
            "account_id": "C",
            **dict.fromkeys(signals, "bad"),
            "tag": "bad_fit",
            "account_type": "bad_fit_by_design",
        },
    ]
    return pd.DataFrame(rows)


@pytest.fixture
def session(store_engine: Engine):  # type: ignore[no-untyped-def]
    migrate(store_engine)
    with Session(store_engine) as s:
        yield s


def test_a_run_tags_every_account_once_and_a_rerun_changes_nothing(session: Session) -> None:
    first = fit_tags.record_run(session, _fit_frame(), AS_OF, {"rule": "default"}, 180)
    session.commit()
    assert first.tagged == {"strong_fit": 1, "near_fit": 1, "bad_fit": 1}
    again = fit_tags.record_run(session, _fit_frame(), AS_OF, {"rule": "default"}, 180)
    session.commit()
    assert again.tagged == {} and again.already_tagged == 3
    assert len(session.scalars(select(FitTag)).all()) == 3


def test_signals_keep_the_numbers_behind_them(session: Session) -> None:
    fit_tags.record_run(session, _fit_frame(), AS_OF, {}, 180)
    tag = fit_tags.current_tag(session, "A")
    core = next(s for s in tag.signals if s.name == "core_use_case_active")
    assert core.evidence["core_active_weeks_recent"] == 4.0
    assert core.evidence["use_case"] == "reporting"


def test_near_fit_accounts_go_on_the_watch_list_due_at_day_180(session: Session) -> None:
    fit_tags.record_run(session, _fit_frame(), AS_OF, {}, 180)
    session.commit()
    due = fit_tags.watch_list(session, AS_OF)
    assert [w.account_id for w in due] == ["B"]
    assert due[0].due_date == dt.date(2026, 5, 1) + dt.timedelta(days=180)
    assert fit_tags.watch_list(session, dt.date(2026, 10, 1)) == []


def test_an_override_supersedes_the_tag_and_keeps_the_computed_value(session: Session) -> None:
    """C is bad on all five; overriding four to strong leaves one bad: the rule gives near_fit."""
    fit_tags.record_run(session, _fit_frame(), AS_OF, {}, 180)
    for signal in (
        "core_use_case_active",
        "champion_stability",
        "icp_segment_match",
        "adoption_trajectory",
    ):
        override_signal(
            session, "C", signal, "strong", "usage is in a second workspace", actor="csm.kim"
        )
    session.commit()
    current = fit_tags.current_tag(session, "C")
    assert current.tag == "near_fit" and current.computed_tag == "bad_fit"
    core = next(s for s in current.signals if s.name == "core_use_case_active")
    assert (core.computed_value, core.value, core.overridden_by) == ("bad", "strong", "csm.kim")
    history = fit_tags.history(session, "C")
    assert [t.tag for t in history] == ["bad_fit", "bad_fit", "bad_fit", "bad_fit", "near_fit"]
    assert [t.current for t in history].count(True) == 1
    actions = session.scalars(select(AuditEvent.action)).all()
    assert actions.count("fit.override") == 4


def test_an_override_without_a_reason_is_refused(session: Session) -> None:
    fit_tags.record_run(session, _fit_frame(), AS_OF, {}, 180)
    with pytest.raises(IcploopError, match="needs a reason"):
        override_signal(session, "A", "champion_stability", "bad", "  ", actor="csm.kim")


def test_the_quick_check_answers_map_to_a_tag(session: Session) -> None:
    fit_tags.record_run(session, _fit_frame(), AS_OF, {}, 180)
    assert fit_tags.quick_check(session, "A", True, True, True, "csm.kim").tag == "bad_fit"
    assert fit_tags.quick_check(session, "B", True, True, False, "csm.kim").tag == "strong_fit"
    assert fit_tags.quick_check(session, "C", True, False, False, "csm.kim").tag == "near_fit"
    assert fit_tags.current_tag(session, "A").method == "quick_check"


def test_listing_filters_by_tag_and_refuses_unknown_tags(session: Session) -> None:
    fit_tags.record_run(session, _fit_frame(), AS_OF, {}, 180)
    assert [t.account_id for t in fit_tags.list_current(session, "bad_fit")] == ["C"]
    with pytest.raises(IcploopError, match="unknown fit tag"):
        fit_tags.list_current(session, "terrible_fit")


NOON = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)


def test_a_watch_entry_is_reviewed_or_snoozed_with_its_history(session: Session) -> None:
    fit_tags.record_run(session, _fit_frame(), AS_OF, {}, 180)
    due_day = dt.date(2026, 11, 2)
    assert [w.account_id for w in fit_tags.watch_list(session, due_day)] == ["B"]
    fit_tags.snooze_watch(session, "B", dt.date(2026, 12, 1), "renewal call first", "csm.kim", NOON)
    session.commit()
    # off the due list until the snooze ends, on it again from that day; still listed with --all
    assert fit_tags.watch_list(session, due_day) == []
    assert fit_tags.watch_count(session, dt.date(2026, 11, 30)) == 0
    assert [w.account_id for w in fit_tags.watch_list(session, dt.date(2026, 12, 1))] == ["B"]
    assert fit_tags.watch_count(session, due_day, due_only=False) == 1
    fit_tags.review_watch(session, "B", "stays near: second team onboarding", "cs.lead", NOON)
    session.commit()
    assert fit_tags.watch_list(session, dt.date(2027, 1, 1)) == []
    history = fit_tags.watch_history(session, "B")
    assert [(e.action, e.actor) for e in history] == [
        ("watch.snoozed", "csm.kim"),
        ("watch.reviewed", "cs.lead"),
    ]
    assert history[0].details["until"] == "2026-12-01"
    with pytest.raises(IcploopError, match="no watch-list entry awaiting review"):
        fit_tags.review_watch(session, "B", "again", "cs.lead", NOON)


def test_a_snooze_needs_a_later_day_and_a_reason(session: Session) -> None:
    fit_tags.record_run(session, _fit_frame(), AS_OF, {}, 180)
    with pytest.raises(IcploopError, match="not after today"):
        fit_tags.snooze_watch(session, "B", NOON.date(), "later", "csm.kim", NOON)
    with pytest.raises(IcploopError, match="needs its reason"):
        fit_tags.snooze_watch(session, "B", dt.date(2027, 1, 1), " ", "csm.kim", NOON)
    with pytest.raises(IcploopError, match="needs its outcome"):
        fit_tags.review_watch(session, "B", "", "csm.kim", NOON)
    assert fit_tags.watch_history(session, "B") == []


def test_the_store_keeps_the_evidence_of_every_signal_the_fit_rubric_names() -> None:
    from icploop.fit.config import SIGNALS

    assert tuple(fit_tags.EVIDENCE_COLUMNS) == SIGNALS


def test_an_unknown_signal_is_refused_before_anything_is_recorded(session: Session) -> None:
    fit_tags.record_run(session, _fit_frame(), AS_OF, {}, 180)
    with pytest.raises(IcploopError, match="unknown signal 'usage'"):
        override_signal(session, "A", "usage", "bad", "a reason", actor="csm.kim")
    assert len(fit_tags.history(session, "A")) == 1

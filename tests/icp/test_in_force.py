"""The ICP rules in force on a date: the latest version published on or before it, else the fit
configuration's default criteria; the same timeline judges every account at its close."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from icploop.fit.signals import CriteriaPeriod, criteria_timeline, periods_in_force
from icploop.flags.people import sync_people
from icploop.icp import versions
from icploop.icp.document import IcpContent
from icploop.icp.in_force import FALLBACK_SOURCE, rules_in_force
from icploop.rules import Rule
from icploop.store.database import migrate
from tests.conftest import approve_by_every_team

FLOOR = Rule(attribute="seats_at_close", op=">=", value=75)
SOFTWARE = Rule(attribute="industry", op="==", value="Software")
HOSPITALITY = Rule(attribute="industry", op="==", value="Hospitality")


@pytest.fixture
def session(store_engine: Engine):  # type: ignore[no-untyped-def]
    migrate(store_engine)
    with Session(store_engine) as s:
        sync_people(s, [{"person_id": "ops", "role": "revops"}])
        yield s


def _publish(session: Session, content: IcpContent, day: dt.date) -> int:
    when = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    draft = versions.create_draft(session, content, "ops", when)
    approve_by_every_team(session, draft.number, when)
    versions.publish(session, draft.number, "ops", when)
    return draft.number


def test_before_any_publication_the_documented_fallback_is_in_force(session: Session) -> None:
    found = rules_in_force(session, dt.date(2026, 1, 1))
    assert (found.version, found.criteria, found.do_not_close) == (None, (), ())
    assert found.source == FALLBACK_SOURCE
    configured = rules_in_force(session, dt.date(2026, 1, 1), fallback=[FLOOR])
    assert configured.criteria == (FLOOR,) and configured.do_not_close == ()


def test_each_day_gets_the_version_published_on_or_before_it(session: Session) -> None:
    first = _publish(
        session, IcpContent(criteria=(FLOOR,), do_not_close=(HOSPITALITY,)), dt.date(2026, 3, 2)
    )
    second = _publish(session, IcpContent(criteria=(SOFTWARE,)), dt.date(2026, 6, 1))
    assert rules_in_force(session, dt.date(2026, 3, 1)).version is None
    on_first = rules_in_force(session, dt.date(2026, 3, 2))
    assert on_first.version == first
    assert (on_first.criteria, on_first.do_not_close) == ((FLOOR,), (HOSPITALITY,))
    assert rules_in_force(session, dt.date(2026, 5, 31)).version == first
    latest = rules_in_force(session, dt.date(2026, 6, 1))
    assert (latest.version, latest.criteria, latest.do_not_close) == (second, (SOFTWARE,), ())
    assert latest.to_dict() == {
        "as_of": "2026-06-01",
        "version": second,
        "source": f"ICP version {second} (since 2026-06-01)",
        "criteria": ["industry == Software"],
        "do_not_close": [],
    }


def test_the_timeline_judges_each_close_date_like_a_single_day() -> None:
    """Periods given out of order are sorted by start; a close date is placed exactly as the
    one-day question places it (the fallback before the first version, unknown dates nowhere)."""
    later = CriteriaPeriod(dt.date(2025, 7, 1), (SOFTWARE,), "v2")
    earlier = CriteriaPeriod(dt.date(2025, 1, 10), (FLOOR,), "v1")
    timeline = criteria_timeline([HOSPITALITY], [later, earlier])
    assert [p.label for p in timeline] == ["", "v1", "v2"]
    closes = pd.Series(["2024-12-31", "2025-01-10", "2025-06-30", "2025-07-01", None])
    assert periods_in_force(timeline, closes).tolist() == [0, 1, 1, 2, -1]

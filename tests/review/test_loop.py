"""The whole loop on the demo company: review, decisions, publication, implementation, outcomes.

The review is held for 2024Q2 so that the demo's history (to October 2026) holds the cohorts
closed after the change and their first year. The demo company does not react to the ICP, so
the honest reading of its own later cohorts is "no improvement"; the same cohorts with the
deals the new criteria forbid taken out (what Sales following the floor would have closed) must
read as improved.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from icploop.icp.document import IcpContent
from icploop.icp.notify import NotifyResult, notify_overdue
from icploop.icp.outcomes import measure_versions
from icploop.icp.versions import STEPS, overdue_steps, publish, record_step
from icploop.metrics.tables import CanonicalTables
from icploop.review.decide import decide, draft_version, get_review, store_review
from icploop.review.pack import build_pack
from icploop.review.quarters import Quarter
from icploop.segments.outcomes import account_outcomes
from tests.conftest import approve_by_every_team

from .conftest import open_workspace

REVOPS, MARKETING, CSM = (
    "revops.lead@example.test",
    "marketing.lead@example.test",
    "csm.one@example.test",
)
EFFECTIVE = dt.date(2024, 7, 1)
DATA_END = dt.date(2026, 10, 31)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def _verdicts(results: list[Any]) -> dict[str, str]:
    (only,) = results
    return dict(zip(only.summary.metric, only.summary.verdict, strict=True))


class RecordingChannel:
    """A notifier that keeps what it was asked to send."""

    name = "webhook"

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, recipient: str, payload: dict[str, Any]) -> None:
        self.sent.append((recipient, payload))


def _decided_review(demo_5000: dict[str, Any], tmp_path: Any) -> tuple[Any, Any, int, int]:
    """Build the 2024Q2 pack, accept the seat floor and the do-not-close rule, draft twice."""
    backend, factory = open_workspace(demo_5000["warehouse"], tmp_path / "ws")
    with factory() as session, session.begin():
        pack = build_pack(backend, session, Quarter.parse("2024Q2"))
        review = store_review(session, pack, REVOPS, at(dt.date(2024, 6, 28)))
        proposals = list(review.proposals)
        floor = next(
            p for p in proposals if p.payload.get("rule", {}).get("attribute") == "seats_at_close"
        )
        dnc = next(p for p in proposals if p.kind == "do_not_close")
        others = [p.id for p in proposals if p.id not in (floor.id, dnc.id)]
        decide(session, review.id, REVOPS, at(dt.date(2024, 6, 28)), accept=(floor.id,))
        first = draft_version(session, review.id, REVOPS, at(dt.date(2024, 6, 28)))
        # the rest is decided the next day; the same draft takes the new acceptance
        decide(session, review.id, REVOPS, at(dt.date(2024, 6, 29)), accept=(dnc.id,),
               reject=tuple(others))  # fmt: skip
        second = draft_version(session, review.id, REVOPS, at(dt.date(2024, 6, 29)))
        assert second.number == first.number
        content = IcpContent.model_validate(second.content)
        assert [r.attribute for r in content.criteria] == ["seats_at_close"]
        assert len(content.do_not_close) == 1
        assert get_review(session, review.id).status == "decided"
        return backend, factory, review.id, second.number


@pytest.mark.slow
def test_the_loop_closes_from_review_to_measured_outcome(
    demo_5000: dict[str, Any], tmp_path: Any
) -> None:
    backend, factory, review_id, number = _decided_review(demo_5000, tmp_path)
    with factory() as session, session.begin():
        approve_by_every_team(session, number)
        record = publish(session, number, REVOPS, at(EFFECTIVE), EFFECTIVE)
        assert {s.step for s in record.steps} == {s.step for s in STEPS}
        record_step(session, number, "circulate", REVOPS, at(dt.date(2024, 7, 3)), "all-hands")
        record_step(session, number, "marketing_timeline", MARKETING, at(dt.date(2024, 7, 9)),
                    "scoring live 2024-08-01")  # fmt: skip
        record_step(session, number, "cs_acknowledge", CSM, at(dt.date(2024, 7, 10)))
        assert overdue_steps(session, dt.date(2024, 9, 1)) == []
        floor = IcpContent.model_validate(record.content).criteria[0]

    # the next quarter's pack opens with these decisions and their implementation
    with factory() as session:
        following = build_pack(backend, session, Quarter.parse("2024Q3"))
    previous = following["previous_review"]
    assert previous["review_id"] == review_id
    assert {d["decision"] for d in previous["decisions"]} == {"accepted", "rejected"}
    implementation = previous["implementation"]
    assert implementation["version"] == number and implementation["status"] == "published"
    assert [s["state"] for s in implementation["steps"]] == ["done"] * len(STEPS)

    tables = CanonicalTables.from_backend(backend)
    with factory() as session:
        # one quarter on: too early to read anything
        early_as_of = dt.date(2024, 9, 30)
        early = measure_versions(session, account_outcomes(tables, early_as_of), early_as_of)
        assert set(_verdicts(early).values()) == {"not yet measurable"}

        # two years on, the company as it happened: it kept closing small accounts
        outcomes = account_outcomes(tables, DATA_END)
        as_it_was = _verdicts(measure_versions(session, outcomes, DATA_END))
        # and as it would have been had Sales kept to the new floor after publication
        closes = pd.to_datetime(outcomes.close_date).dt.date
        kept = outcomes[(closes < EFFECTIVE) | outcomes.seats_at_close.map(floor.holds)]
        followed = _verdicts(measure_versions(session, kept, DATA_END))
    assert as_it_was["first_year_churn"] != "improved"
    assert followed["first_year_churn"] == "improved"
    assert len(kept) < len(outcomes)


@pytest.mark.slow
def test_steps_nobody_records_turn_overdue_and_are_notified_once(
    demo_5000: dict[str, Any], tmp_path: Any
) -> None:
    _, factory, _, number = _decided_review(demo_5000, tmp_path)
    channel = RecordingChannel()
    with factory() as session, session.begin():
        approve_by_every_team(session, number)
        publish(session, number, REVOPS, at(EFFECTIVE), EFFECTIVE)
        record_step(session, number, "circulate", REVOPS, at(dt.date(2024, 7, 2)))
        # circulation is due in 5 business days, the other two in 14 calendar days
        assert overdue_steps(session, dt.date(2024, 7, 15)) == []
        late = overdue_steps(session, dt.date(2024, 7, 16))
        assert sorted(s.step for s in late) == ["cs_acknowledge", "marketing_timeline"]
        result: NotifyResult = notify_overdue(
            session, channel, dt.date(2024, 7, 16), at(dt.date(2024, 7, 16))
        )
        assert sorted(result.notified) == [
            f"v{number}:cs_acknowledge",
            f"v{number}:marketing_timeline",
        ]
        again = notify_overdue(session, channel, dt.date(2024, 7, 17), at(dt.date(2024, 7, 17)))
        assert again.notified == () and len(channel.sent) == 2
        record_step(session, number, "marketing_timeline", MARKETING, at(dt.date(2024, 7, 18)))
        assert [s.step for s in overdue_steps(session, dt.date(2024, 7, 20))] == ["cs_acknowledge"]

"""Overdue implementation steps reach people once, through a real webhook and SMTP server."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from icploop.flags.channels.email import EmailChannel
from icploop.flags.channels.webhook import WebhookChannel
from icploop.flags.people import sync_people
from icploop.icp import versions
from icploop.icp.document import IcpContent
from icploop.icp.notify import notify_overdue
from icploop.store.database import migrate
from icploop.store.models import AuditEvent
from tests.conftest import approve_by_every_team
from tests.flags.receivers import smtp_server, webhook_receiver

# Friday 2026-10-02: circulation due 2026-10-09, Marketing and CS due 2026-10-16
PUBLISHED = dt.datetime(2026, 10, 2, 15, 0, tzinfo=dt.UTC)
LATER = dt.date(2026, 10, 20)
NOW = dt.datetime(2026, 10, 20, 8, 0, tzinfo=dt.UTC)
PEOPLE = [
    {"person_id": "ops", "role": "revops", "email": "ops@example.com"},
    {"person_id": "mkt", "role": "marketing", "email": "mkt@example.com"},
    {"person_id": "csm", "role": "csm", "manager_id": "csl", "email": "csm@example.com"},
    {"person_id": "csl", "role": "cs_manager", "email": "csl@example.com"},
]


@pytest.fixture
def session(store_engine: Engine):  # type: ignore[no-untyped-def]
    migrate(store_engine)
    with Session(store_engine) as s:
        sync_people(s, PEOPLE)
        draft = versions.create_draft(s, IcpContent(), "ops", PUBLISHED)
        approve_by_every_team(s, draft.number)
        versions.publish(s, draft.number, "ops", PUBLISHED)
        # circulation was done on time: only Marketing's and CS's steps become overdue
        versions.record_step(s, draft.number, "circulate", "ops", PUBLISHED)
        yield s


def test_each_overdue_step_is_posted_once_to_the_webhook(session: Session) -> None:
    with webhook_receiver() as receiver:
        channel = WebhookChannel(receiver.url)
        first = notify_overdue(session, channel, LATER, NOW)
        again = notify_overdue(session, channel, LATER, NOW + dt.timedelta(days=1))
    assert first.notified == ("v1:marketing_timeline", "v1:cs_acknowledge")
    assert again.notified == ()
    assert len(receiver.bodies) == 2
    assert "marketing confirms an implementation timeline is overdue" in receiver.bodies[0]["text"]
    assert "4 days late" in receiver.bodies[0]["text"]
    steps = versions.get_version(session, 1).steps
    assert {s.step: s.notified_at is not None for s in steps} == {
        "circulate": False,
        "marketing_timeline": True,
        "cs_acknowledge": True,
    }
    actions = session.scalars(select(AuditEvent.action)).all()
    assert actions.count("icp.step_overdue_notified") == 2


def test_nothing_is_sent_before_a_step_is_due(session: Session) -> None:
    with webhook_receiver() as receiver:
        result = notify_overdue(session, WebhookChannel(receiver.url), dt.date(2026, 10, 16), NOW)
    assert result.notified == () and receiver.bodies == []


def test_a_failed_post_is_retried_on_the_next_run(session: Session) -> None:
    with webhook_receiver(statuses=[500]) as receiver:
        channel = WebhookChannel(receiver.url)
        first = notify_overdue(session, channel, LATER, NOW)
        second = notify_overdue(session, channel, LATER, NOW)
    assert [key for key, _ in first.failed] == ["v1:marketing_timeline"]
    assert "HTTP 500" in first.failed[0][1]
    assert first.notified == ("v1:cs_acknowledge",)
    assert second.notified == ("v1:marketing_timeline",)
    assert receiver.answered == [500, 200, 200]


def test_email_goes_to_every_owner_of_the_step(session: Session) -> None:
    with smtp_server() as (sink, port):
        channel = EmailChannel("127.0.0.1", port, "icploop@example.com")
        result = notify_overdue(session, channel, LATER, NOW)
    assert result.notified == ("v1:marketing_timeline", "v1:cs_acknowledge")
    to = sorted(rcpt for _, rcpts, _ in sink.messages for rcpt in rcpts)
    assert to == ["csl@example.com", "csm@example.com", "mkt@example.com"]
    subjects = {message_from_bytes(raw)["Subject"] for _, _, raw in sink.messages}
    assert subjects == {"Overdue: ICP v1 marketing_timeline", "Overdue: ICP v1 cs_acknowledge"}

"""The outbox delivers to real local receivers, retries with back-off and never sends twice."""

from __future__ import annotations

import csv
import datetime as dt
import email
from email import policy
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from icploop.flags.channels.crm_csv import COLUMNS, CrmCsvChannel
from icploop.flags.channels.email import EmailChannel
from icploop.flags.channels.webhook import WebhookChannel
from icploop.flags.outbox import (
    backoff,
    claim,
    deliver_due,
    reclaim_expired,
    requeue,
    stuck_deliveries,
)
from icploop.flags.records import format_flag, send_flag
from icploop.flags.routing import RoutingRules
from icploop.store.models import Delivery, Flag

from .conftest import NOW
from .receivers import smtp_server, webhook_receiver
from .test_records import make_flag

WEBHOOK_ONLY = RoutingRules(channels={})
CRM_ONLY = RoutingRules(webhook_channel=None, channels={"ae": ["crm_csv"]})
EMAIL_ONLY = RoutingRules(webhook_channel=None, channels={"ae": ["email"], "cs_manager": ["email"]})


def sent_flag(session: Session, rules: RoutingRules, account_id: str = "ACC-7") -> Flag:
    flag = make_flag(session, account_id=account_id)
    send_flag(session, flag.id, "csm.one", rules, NOW)
    session.commit()
    return flag


def only_delivery(session: Session) -> Delivery:
    return session.scalars(select(Delivery).execution_options(populate_existing=True)).one()


def only_key(flag: Flag) -> str:
    [delivery] = flag.deliveries
    return str(delivery.payload["idempotency_key"])


def test_back_off_doubles_from_one_minute_and_stops_at_six_hours() -> None:
    assert [backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert backoff(10) == dt.timedelta(hours=6)
    assert backoff(1000) == dt.timedelta(hours=6)


def test_a_flag_reaches_a_real_webhook_receiver_as_slack_text_and_blocks(session: Session) -> None:
    flag = sent_flag(session, WEBHOOK_ONLY)
    with webhook_receiver() as receiver:
        run = deliver_due(session, {"webhook": WebhookChannel(receiver.url)}, NOW)
    assert len(run.delivered) == 1
    [body] = receiver.bodies
    assert set(body) == {"text", "blocks"}
    assert body["text"] == format_flag(flag)
    assert body["blocks"][0] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": f"*{format_flag(flag).splitlines()[0]}*"},
    }
    assert all(block["type"] in ("section", "context") for block in body["blocks"])
    delivery = only_delivery(session)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 1, None)
    assert delivery.delivered_at is not None


def test_a_failing_receiver_gets_the_delivery_retried_after_back_off_and_exactly_once(
    session: Session,
) -> None:
    sent_flag(session, WEBHOOK_ONLY)
    with webhook_receiver(statuses=[500, 500]) as receiver:
        channels = {"webhook": WebhookChannel(receiver.url, timeout=5)}
        assert deliver_due(session, channels, NOW).retrying
        delivery = only_delivery(session)
        assert delivery.status == "pending" and delivery.attempts == 1
        assert "HTTP 500" in (delivery.last_error or "")
        # not due again until the back-off has passed
        assert deliver_due(session, channels, NOW + dt.timedelta(seconds=59)).retrying == []
        assert deliver_due(session, channels, NOW + dt.timedelta(minutes=1)).retrying
        assert only_delivery(session).attempts == 2
        assert (
            deliver_due(session, channels, NOW + dt.timedelta(minutes=2, seconds=59)).delivered
            == []
        )
        assert len(deliver_due(session, channels, NOW + dt.timedelta(minutes=3)).delivered) == 1
        later = deliver_due(session, channels, NOW + dt.timedelta(days=1))
    assert receiver.answered == [500, 500, 200]
    assert later.delivered == later.retrying == later.failed == []
    delivery = only_delivery(session)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 3, None)


def test_a_second_run_sends_nothing_more(session: Session) -> None:
    sent_flag(session, WEBHOOK_ONLY)
    sent_flag(session, WEBHOOK_ONLY, account_id="ACC-8")
    with webhook_receiver() as receiver:
        channels = {"webhook": WebhookChannel(receiver.url)}
        assert len(deliver_due(session, channels, NOW).delivered) == 2
        assert deliver_due(session, channels, NOW + dt.timedelta(hours=1)).delivered == []
    assert len(receiver.bodies) == 2


def test_a_delivery_claimed_by_one_run_is_not_sent_by_another(
    session: Session, store_engine: Engine
) -> None:
    sent_flag(session, WEBHOOK_ONLY)
    delivery_id = only_delivery(session).id
    with Session(store_engine) as other:
        assert claim(other, delivery_id, NOW) is True
    assert claim(session, delivery_id, NOW) is False
    with webhook_receiver() as receiver:
        run = deliver_due(session, {"webhook": WebhookChannel(receiver.url)}, NOW)
    assert run.delivered == [] and receiver.bodies == []
    # a claim with no outcome is in doubt once it expires: listed, and only then reclaimed
    assert stuck_deliveries(session, now=NOW) == []
    assert reclaim_expired(session, NOW + dt.timedelta(minutes=14)) == []
    [in_doubt] = stuck_deliveries(session, now=NOW + dt.timedelta(minutes=15))
    assert in_doubt.id == delivery_id and in_doubt.status == "sending"


def test_a_delivery_failing_max_attempts_times_shows_as_stuck(session: Session) -> None:
    sent_flag(session, WEBHOOK_ONLY)
    with webhook_receiver(statuses=[503] * 3) as receiver:
        channels = {"webhook": WebhookChannel(receiver.url)}
        now = NOW
        for _ in range(3):
            deliver_due(session, channels, now, max_attempts=3)
            now += dt.timedelta(hours=6)
        assert deliver_due(session, channels, now, max_attempts=3).delivered == []
    assert receiver.answered == [503, 503, 503]
    [stuck] = stuck_deliveries(session, now)
    assert (stuck.status, stuck.attempts) == ("failed", 3)
    assert "HTTP 503" in (stuck.last_error or "")
    requeue(session, stuck.id, "revops.lead", now)
    session.commit()
    assert stuck_deliveries(session, now) == []


def test_an_unreachable_receiver_is_a_failed_attempt_with_the_reason(session: Session) -> None:
    sent_flag(session, WEBHOOK_ONLY)
    with webhook_receiver() as receiver:
        url = receiver.url  # closed when the block ends: nothing listens there any more
    deliver_due(session, {"webhook": WebhookChannel(url, timeout=2)}, NOW)
    delivery = only_delivery(session)
    assert delivery.status == "pending" and "unreachable" in (delivery.last_error or "")


def test_deliveries_for_a_channel_not_configured_wait_for_a_run_that_has_it(
    session: Session, tmp_path: Path
) -> None:
    sent_flag(session, RoutingRules())
    run = deliver_due(session, {"crm_csv": CrmCsvChannel(tmp_path / "notes.csv")}, NOW)
    assert len(run.delivered) == 1 and len(run.skipped) == 4
    pending = session.scalars(select(Delivery).where(Delivery.status == "pending")).all()
    assert {d.channel for d in pending} == {"webhook", "email"}


def test_email_reaches_a_real_smtp_server_with_the_subject_and_the_flag_as_body(
    session: Session,
) -> None:
    flag = sent_flag(session, EMAIL_ONLY)
    with smtp_server() as (sink, port):
        channel = EmailChannel("127.0.0.1", port, "icploop@example.org", timeout=5)
        run = deliver_due(session, {"email": channel}, NOW)
    assert len(run.delivered) == 2
    assert sorted(rcpt for _, rcpts, _ in sink.messages for rcpt in rcpts) == [
        "ae.one@example.org",
        "cs.lead@example.org",
    ]
    message = email.message_from_bytes(sink.messages[0][2], policy=policy.default)
    assert message["Subject"] == "[icploop] bad-fit flag: ACC-7"
    assert message["From"] == "icploop@example.org"
    body = message.get_content()
    assert body.replace("\r\n", "\n").strip() == format_flag(flag)


def test_the_crm_csv_has_its_header_once_and_one_note_per_delivery(
    session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "exports" / "crm_notes.csv"
    channels = {"crm_csv": CrmCsvChannel(path)}
    first = sent_flag(session, CRM_ONLY)
    deliver_due(session, channels, NOW)
    sent_flag(session, CRM_ONLY, account_id="ACC-8")
    deliver_due(session, channels, NOW)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines.count(",".join(COLUMNS)) == 1 and lines[0] == ",".join(COLUMNS)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["account_id"] for r in rows] == ["ACC-7", "ACC-8"]
    assert rows[0] == {
        "account_id": "ACC-7",
        "note_date": "2026-11-02",
        "author": "csm.one",
        "subject": "[icploop] bad-fit flag: ACC-7",
        "body": format_flag(first),
        "note_id": only_key(first),
    }


class Killed(BaseException):
    """The process dying: not an Exception, so the outbox cannot record an outcome."""


class DiesAfterSending:
    """Sends for real through ``channel``, then dies before the outcome is recorded."""

    def __init__(self, channel: object) -> None:
        self.channel = channel
        self.name = channel.name  # type: ignore[attr-defined]

    def send(self, recipient: str, payload: dict[str, object]) -> None:
        self.channel.send(recipient, payload)  # type: ignore[attr-defined]
        raise Killed


def test_a_send_interrupted_after_it_reached_the_receiver_is_resent_and_dropped_as_a_repeat(
    session: Session, tmp_path: Path
) -> None:
    """The run dies after the webhook got the message: the row stays ``sending``; once its
    claim expires it is listed as stuck (with the time given), reclaimed, and sent again with
    the same idempotency key, which the receiver uses to keep the message once."""
    flag = sent_flag(session, WEBHOOK_ONLY)
    key = only_key(flag)
    with webhook_receiver() as receiver:
        channel = WebhookChannel(receiver.url)
        try:
            deliver_due(session, {"webhook": DiesAfterSending(channel)}, NOW)
        except Killed:
            session.rollback()
        assert only_delivery(session).status == "sending"
        later = NOW + dt.timedelta(minutes=16)
        assert [d.status for d in stuck_deliveries(session, later)] == ["sending"]
        assert reclaim_expired(session, later) == [only_delivery(session).id]
        assert stuck_deliveries(session, later) == []
        assert len(deliver_due(session, {"webhook": channel}, later).delivered) == 1
    assert receiver.keys == [key, key]  # the repeat carries the same key...
    assert list(receiver.kept) == [key]  # ...so the receiver keeps the message once
    assert only_delivery(session).status == "delivered"


def test_email_and_crm_notes_carry_the_key_and_a_crm_note_is_written_once(
    session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "crm_notes.csv"
    flag = sent_flag(session, CRM_ONLY)
    key = only_key(flag)
    try:
        deliver_due(session, {"crm_csv": DiesAfterSending(CrmCsvChannel(path))}, NOW)
    except Killed:
        session.rollback()
    later = NOW + dt.timedelta(minutes=16)
    reclaim_expired(session, later)
    deliver_due(session, {"crm_csv": CrmCsvChannel(path)}, later)
    with path.open(newline="", encoding="utf-8") as handle:
        assert [r["note_id"] for r in csv.DictReader(handle)] == [key]
    session.execute(Delivery.__table__.delete())
    session.commit()
    flag = sent_flag(session, EMAIL_ONLY, account_id="ACC-9")
    with smtp_server() as (sink, port):
        deliver_due(session, {"email": EmailChannel("127.0.0.1", port, "icploop@example.org",
                                                    timeout=5)}, NOW)  # fmt: skip
    ids = {email.message_from_bytes(m[2], policy=policy.default)["Message-ID"]
           for m in sink.messages}  # fmt: skip
    assert ids == {f"<{d.payload['idempotency_key']}@icploop>" for d in flag.deliveries}
    assert len(ids) == 2  # one key per delivery, not per flag


def test_flags_stuck_lists_and_reclaims_what_a_killed_deliver_left_sending(tmp_path: Path) -> None:
    """What ``icploop flags deliver`` killed mid-send leaves behind: ``flags stuck`` lists it
    once its claim has expired (it used to print 0) and ``--reclaim`` puts it back."""
    import json

    from typer.testing import CliRunner

    from icploop.cli.main import app
    from icploop.config import Settings
    from icploop.flags.people import sync_people
    from icploop.store.database import open_store, utcnow

    from .conftest import ORG

    factory = open_store(Settings(workspace=tmp_path))
    with factory() as session:
        sync_people(session, ORG, now=NOW)
        session.commit()
        sent_flag(session, WEBHOOK_ONLY)
        delivery = only_delivery(session)
        claim(session, delivery.id, utcnow() - dt.timedelta(minutes=20))  # a lease long gone
    runner = CliRunner()
    ws = ["--workspace", str(tmp_path)]
    listed = runner.invoke(app, ["flags", "stuck", "--json", *ws])
    assert listed.exit_code == 0, listed.output
    assert [(r["id"], r["status"]) for r in json.loads(listed.output)] == [(delivery.id, "sending")]
    again = runner.invoke(app, ["flags", "stuck", "--reclaim", *ws])
    assert again.exit_code == 0 and "1 interrupted deliver(ies) back in the queue" in again.output
    assert "0 stuck deliver(ies)" in again.output
    with factory() as session:
        assert only_delivery(session).status == "pending"

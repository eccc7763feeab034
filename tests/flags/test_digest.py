"""Digest mode and absolute links: one message per recipient and run, every delivery recorded;
a channel that cannot deliver is reported, never skipped silently."""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from icploop.flags.channels.email import EmailChannel
from icploop.flags.channels.webhook import WebhookChannel
from icploop.flags.outbox import absolute_links, blocked_channels, deliver_due
from icploop.flags.records import send_flag
from icploop.flags.routing import RoutingRules
from icploop.store.models import Delivery, Flag

from .conftest import NOW
from .receivers import smtp_server, webhook_receiver
from .test_records import make_flag

BASE = "https://icp.example.com/app"
ROUTING = RoutingRules(channels={"ae": ["email"], "revops": ["email"]})


def seven_flags(session: Session) -> list[Flag]:
    flags = []
    for n in range(7):
        flag = make_flag(session, account_id=f"ACC-{n}")
        flag.links = {"account": f"/accounts/ACC-{n}"}
        flag.data_date = dt.date(2026, 10, 1) + dt.timedelta(days=n)
        send_flag(session, flag.id, "csm.one", ROUTING, NOW)
        flags.append(flag)
    session.commit()
    return flags


def statuses(session: Session) -> dict[str, set[str]]:
    rows = session.execute(select(Delivery.channel, Delivery.status)).all()
    found: dict[str, set[str]] = {}
    for channel, status in rows:
        found.setdefault(channel, set()).add(status)
    return found


def test_a_digest_channel_gets_one_message_per_recipient_with_counts_top_flags_and_inbox(
    session: Session,
) -> None:
    seven_flags(session)
    with webhook_receiver(statuses=[500]) as receiver, smtp_server() as (mail, port):
        channels = {
            "webhook": WebhookChannel(receiver.url),
            "email": EmailChannel("127.0.0.1", port, "icploop@example.org"),
        }
        failed = deliver_due(session, channels, NOW, digest={"webhook", "email"}, base_url=BASE)
        later = NOW + dt.timedelta(minutes=5)
        retried = deliver_due(session, channels, later, digest={"webhook", "email"}, base_url=BASE)
        again = deliver_due(session, channels, later, digest={"webhook", "email"}, base_url=BASE)

    # the webhook answered 500 once: all 7 chat deliveries wait, then go out in one retry
    assert len(failed.retrying) == 7 and len(retried.delivered) == 7
    assert again.delivered == again.retrying == []
    assert len(receiver.bodies) == 2
    assert receiver.keys[0] == receiver.keys[1]  # the retry of the same digest, same key
    text = receiver.bodies[1]["text"]
    assert text.splitlines()[0] == "icploop: 7 new bad-fit flag(s): ICP mismatch 7"
    top = [line for line in text.splitlines() if line.startswith("- ")]
    assert [line.split(" | ")[0] for line in top] == [f"- ACC-{n}" for n in (6, 5, 4, 3, 2)]
    assert f"({BASE}/accounts/ACC-6)" in top[0]
    assert "and 2 more" in text and f"Inbox: {BASE}/flags" in text

    # email: the AE and RevOps each get one message (not 7), all 14 deliveries recorded
    assert sorted(rcpt for _, [rcpt], _ in mail.messages) == [
        "ae.one@example.org",
        "revops.lead@example.org",
    ]
    body = email.message_from_bytes(mail.messages[0][2], policy=policy.default)
    assert body["Subject"] == "[icploop] 7 new bad-fit flag(s)"
    assert statuses(session) == {"webhook": {"delivered"}, "email": {"delivered"}}


def test_without_digest_each_flag_is_one_message_with_absolute_links(session: Session) -> None:
    first = seven_flags(session)[0]
    with webhook_receiver() as receiver:
        run = deliver_due(session, {"webhook": WebhookChannel(receiver.url)}, NOW, base_url=BASE)
    assert len(run.delivered) == len(receiver.bodies) == 7
    texts = {body["text"].split(" |")[0] for body in receiver.bodies}
    assert texts == {f"Flag: ACC-{n}" for n in range(7)}
    link_lines = [
        line for b in receiver.bodies for line in b["text"].splitlines() if "Links" in line
    ]
    assert link_lines[0].startswith(f"Links: account: {BASE}/accounts/ACC-")
    assert first.links == {"account": "/accounts/ACC-0"}  # stored relative, absolute when sent


def test_links_stay_as_they_are_without_a_base_and_absolute_ones_are_kept() -> None:
    payload = {"text": "Flag: A\nLinks: account: /accounts/A", "links": {"account": "/accounts/A"}}
    assert absolute_links(payload, None) == payload
    full = absolute_links(payload, "https://icp.example.com/")
    assert full["links"] == {"account": "https://icp.example.com/accounts/A"}
    assert full["text"].endswith("Links: account: https://icp.example.com/accounts/A")
    kept = {"text": "x", "links": {"crm": "https://crm.example.com/A"}}
    assert absolute_links(kept, BASE)["links"] == kept["links"]


def test_a_channel_that_cannot_deliver_is_reported_with_what_waits_for_it(
    session: Session,
) -> None:
    seven_flags(session)
    run = deliver_due(session, {"crm_csv": object()}, NOW)  # type: ignore[dict-item]
    assert len(run.skipped) == 21 and run.delivered == []
    assert blocked_channels(session, {"crm_csv"}) == [
        "channel email: cannot deliver: no SMTP server (set ICPLOOP_SMTP_HOST); 14 deliveries waiting",
        "channel webhook: cannot deliver: no webhook URL (set ICPLOOP_WEBHOOK_URL); 7 deliveries "
        "waiting",
    ]
    assert blocked_channels(session, {"crm_csv", "email", "webhook"}) == []


def test_status_says_the_channels_are_unknown_when_the_app_store_cannot_be_opened(
    tmp_path: Path,
) -> None:
    from icploop.config import Settings
    from icploop.daily.status import channel_report

    settings = Settings(workspace=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none")
    [unknown] = channel_report(settings)
    assert unknown["configured"] is None and unknown["waiting"] is None
    assert unknown["line"].startswith("delivery channels: unknown, the app store cannot be opened")

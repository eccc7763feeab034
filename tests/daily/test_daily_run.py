"""``icploop run``: the daily loop is idempotent (a second run with nothing new does nothing) and
a month of new data brings its tags, flags, watch-list entries and notices exactly once."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from icploop.cli.main import app
from icploop.config import Settings
from icploop.daily.run import DailyOptions, DailySummary, run_daily
from icploop.flags.people import sync_people
from icploop.icp import versions
from icploop.icp.document import IcpContent
from icploop.store.database import open_store
from icploop.store.models import Delivery, FitTag, Flag, WatchItem
from icploop.web.schedule import daily_job, start_schedule
from icploop.writer_lock import writer_lock
from tests.conftest import approve_by_every_team
from tests.flags.receivers import smtp_server, webhook_receiver
from tests.months import cut_company

SEPTEMBER = dt.date(2026, 9, 30)
# an ICP version published on Friday 2026-10-02: Marketing and CS are due by 2026-10-16
PUBLISHED = dt.datetime(2026, 10, 2, 15, 0, tzinfo=dt.UTC)
BEFORE_DUE = dt.date(2026, 10, 5)
AFTER_DUE = dt.date(2026, 11, 2)


def counts(settings: Settings) -> dict[str, int]:
    with open_store(settings)() as session:
        return {
            "tags": session.scalar(select(func.count()).select_from(FitTag)) or 0,
            "flags": session.scalar(select(func.count()).select_from(Flag)) or 0,
            "watch": session.scalar(select(func.count()).select_from(WatchItem)) or 0,
            "delivered": session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status == "delivered")
            )
            or 0,
            "posted": session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.status == "delivered", Delivery.channel == "webhook")
            )
            or 0,
        }


def run(settings: Settings, inbox: Path, today: dt.date) -> DailySummary:
    # deadlines are checked on ``today``; what the run records is stamped with the real time
    return run_daily(settings, DailyOptions(inbox=inbox, notice_channel="webhook"), today=today)


def publish_icp(settings: Settings) -> None:
    with open_store(settings)() as session, session.begin():
        sync_people(session, [{"person_id": "ops", "role": "revops", "email": "ops@example.com"}])
        draft = versions.create_draft(session, IcpContent(), "ops", PUBLISHED)
        approve_by_every_team(session, draft.number)
        versions.publish(session, draft.number, "ops", PUBLISHED)
        versions.record_step(session, draft.number, "circulate", "ops", PUBLISHED)


@pytest.mark.slow
def test_a_month_of_new_data_brings_its_tags_flags_watch_entries_and_notices_once(
    demo_company: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    october = Path(str(demo_company["folder"]))
    inbox = tmp_path / "inbox"
    cut_company(october, inbox, SEPTEMBER)
    settings = Settings(workspace=tmp_path / "ws", base_url="https://icp.example.com")
    settings.workspace.mkdir()  # a store is never opened in a folder that does not exist
    publish_icp(settings)
    with webhook_receiver() as receiver, smtp_server() as (mail, port):
        monkeypatch.setenv("ICPLOOP_WEBHOOK_URL", receiver.url)
        monkeypatch.setenv("ICPLOOP_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("ICPLOOP_SMTP_PORT", str(port))
        first = run(settings, inbox, BEFORE_DUE)
        after_first = counts(settings)
        first_posts, first_mails = list(receiver.bodies), list(mail.messages)
        again = run(settings, inbox, BEFORE_DUE)
        after_again = counts(settings)
        posted_before_october = len(receiver.bodies)

        september_files = {f.name: f.read_bytes() for f in inbox.glob("*.csv")}
        for file in october.glob("*.csv"):  # the October export replaces September's
            shutil.copy(file, inbox / file.name)
        october_run = run(settings, inbox, AFTER_DUE)
        after_october = counts(settings)
        last = run(settings, inbox, AFTER_DUE)
        after_last = counts(settings)
        posted = len(receiver.bodies)
        october_mails = mail.messages[len(first_mails) :]

    assert first.changed and first.load_id == 1 and first.as_of == SEPTEMBER
    assert after_first["tags"] > 0 and after_first["flags"] > 0 and after_first["watch"] > 0
    assert first.notices == []  # nothing overdue on 2026-10-05

    # the first run does not flood: years of history recorded, not sent; one digest per channel
    # (and per person by email), with only flags about the last 30 days of data
    window = SEPTEMBER - dt.timedelta(days=30)
    with open_store(settings)() as session:
        held = session.scalars(select(Flag).where(Flag.id.in_(first.flags_held))).all()
        sent = session.scalars(select(Flag).where(Flag.id.in_(first.flags))).all()
        assert len(held) > len(sent) > 0
        assert all(f.status == "recorded" and f.data_date < window for f in held)
        assert not any(f.deliveries for f in held)
        assert all(f.status == "sent" and f.data_date >= window for f in sent)
    # one digest (the only post with an idempotency key), and the micro-review's notice: the
    # demo's cohort NRR fell more than 2 points in 2026Q3, so the reduced pack was built
    assert first.micro_review == "2026Q3" and first.micro_review_pack
    assert all(Path(p).exists() for p in first.micro_review_pack)
    keyed = [body for body, key in zip(first_posts, receiver.keys, strict=False) if key]
    assert len(keyed) == 1 and len(first_posts) == 2
    [digest] = keyed
    assert "Micro-review: cohort NRR fell" in first_posts[1 - first_posts.index(digest)]["text"]
    assert digest["text"].startswith(f"icploop: {len(sent)} new bad-fit flag(s): ")
    assert f"{len(held)} older flag(s) recorded, not sent" in digest["text"]
    assert "Inbox: https://icp.example.com/flags" in digest["text"]
    recipients = [rcpt for _, rcpts, _ in first_mails for rcpt in rcpts]
    assert recipients and len(recipients) == len(set(recipients))

    # the same inbox again: nothing loaded, tagged, flagged, delivered or sent
    assert not again.changed, again.to_dict()
    assert again.new_files == [] and again.load_id is None
    assert after_again == after_first
    assert first.deliveries["delivered"] == after_first["delivered"] > 0
    assert posted_before_october == 2  # the second run posted nothing

    # a month later: October's tags, flags and watch entries, and the two overdue notices
    assert october_run.as_of == dt.date(2026, 10, 31) and october_run.load_id == 2
    changed_files = {
        f.name for f in october.glob("*.csv") if f.read_bytes() != september_files.get(f.name)
    }
    assert {Path(p).name for p in october_run.new_files} == changed_files
    assert "org.csv" not in changed_files  # the same file is not loaded twice
    new_tags = after_october["tags"] - after_first["tags"]
    assert new_tags == sum(october_run.tagged.values()) > 0
    assert after_october["flags"] - after_first["flags"] == len(october_run.flags) > 0
    assert after_october["watch"] - after_first["watch"] == october_run.watch_added > 0
    assert october_run.notices == ["v1:marketing_timeline", "v1:cs_acknowledge"]

    # and again: exactly once
    assert not last.changed, last.to_dict()
    assert after_last == after_october
    assert (
        october_run.deliveries["delivered"] == after_october["delivered"] - after_first["delivered"]
    )
    # the two digests, the micro-review's notice (once), October's notices, nothing from the last
    assert october_run.micro_review is None
    assert posted == 2 + 1 + len(october_run.notices)
    digest_keys = [key for key in receiver.keys if key]  # notices carry none
    assert len(set(digest_keys)) == len(digest_keys) == 2  # no digest sent twice
    october_recipients = [rcpt for _, rcpts, _ in october_mails for rcpt in rcpts]
    assert len(october_recipients) == len(set(october_recipients))

    # recorded flags are visible; a channel that cannot deliver is named, never skipped silently
    monkeypatch.delenv("ICPLOOP_SMTP_HOST")
    ws = ["--workspace", str(settings.workspace)]
    listed = CliRunner().invoke(app, ["flags", "list", "--status", "recorded", "--json", *ws])
    assert {f["id"] for f in json.loads(listed.output)} >= set(first.flags_held)
    no_smtp = "email: cannot deliver: no SMTP server (set ICPLOOP_SMTP_HOST)"
    assert no_smtp in CliRunner().invoke(app, ["flags", "list", *ws]).output
    assert no_smtp in CliRunner().invoke(app, ["status", *ws]).output


def test_without_usage_the_daily_run_says_which_signals_it_could_not_judge(
    demo_company: dict[str, object], tmp_path: Path
) -> None:
    """As icploop fit run does: a company without a usage export is not silently near fit."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for file in Path(str(demo_company["folder"])).iterdir():
        if file.is_file() and not file.name.startswith("usage"):
            shutil.copy(file, inbox / file.name)
    settings = Settings(workspace=tmp_path / "ws")
    settings.workspace.mkdir()
    summary = run_daily(settings, DailyOptions(inbox=inbox), today=AFTER_DUE)
    assert summary.tagged, "accounts past day 90 are tagged"
    unknown = [w for w in summary.warnings if " is unknown" in w]
    assert [w.split(" is unknown")[0] for w in unknown] == [
        "core_use_case_active",
        "adoption_trajectory",
        "ae_committed_use_cases_active",
    ]
    assert all("it needs the usage table" in w for w in unknown[:1])
    assert any(w.startswith("with 1 of 5 signals known") for w in summary.warnings)


def test_two_runs_never_overlap(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    with writer_lock(workspace, "icploop run"):
        result = CliRunner().invoke(app, ["run", "--workspace", str(workspace)])
    assert result.exit_code == 1
    assert "is being written by icploop run (process" in result.output
    assert "Traceback" not in result.output


def test_the_web_app_schedules_the_same_run_one_at_a_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(workspace=tmp_path / "ws", schedule="0 6 * * *")
    scheduler = start_schedule(settings, "0 6 * * *")
    try:
        job = scheduler.get_job("daily-run")
        assert job.func is daily_job and job.max_instances == 1 and job.coalesce
        assert (job.next_run_time.hour, job.next_run_time.minute) == (6, 0)
    finally:
        scheduler.shutdown(wait=False)
    # a scheduled run that finds another writer at work is skipped with a line in the log
    with writer_lock(settings.workspace, "icploop run"), caplog.at_level("WARNING"):
        assert daily_job(settings) is None
    assert "daily run not done: the workspace" in caplog.text


def test_a_schedule_that_is_not_a_cron_expression_is_refused_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["serve", "--schedule", "every day", "--workspace", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "error: the schedule 'every day' is not a cron expression" in result.output


def test_a_digest_a_killed_run_left_sending_is_resent_as_it_was_with_its_key(
    demo_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run dies after the webhook got its digest: the next run reclaims the batch and sends
    it again with the same key (a receiver drops the repeat), while a flag queued since goes in
    a digest of its own instead of changing the old one's key."""
    from icploop.flags.outbox import DIGEST_KEY
    from icploop.store.database import utcnow
    from tests.flags.conftest import ORG
    from tests.flags.test_outbox import WEBHOOK_ONLY, sent_flag

    settings = Settings(workspace=tmp_path)
    shutil.copy(demo_warehouse, tmp_path / "analytics.duckdb")
    today = dt.date(2026, 11, 2)
    with webhook_receiver() as receiver:
        monkeypatch.setenv("ICPLOOP_WEBHOOK_URL", receiver.url)
        first = run_daily(settings, DailyOptions(), today=today)
        digests = {key for key in receiver.keys if key}
        assert first.deliveries["delivered"] > 0 and len(digests) == 1
        with open_store(settings)() as session:
            sent = session.scalars(
                select(Delivery).where(
                    Delivery.channel == "webhook", Delivery.status == "delivered"
                )
            ).all()
            assert {d.payload[DIGEST_KEY] for d in sent} == digests
            for delivery in sent:  # as if the run died before recording the outcome
                delivery.status = "sending"
                delivery.next_attempt_at = utcnow() - dt.timedelta(minutes=20)
            sync_people(session, ORG)
            session.commit()
            sent_flag(session, WEBHOOK_ONLY)  # queued since, with no batch of its own yet
        second = run_daily(settings, DailyOptions(), today=today)
    assert second.deliveries["reclaimed"] == len(sent)
    assert receiver.keys.count(next(iter(digests))) == 2  # the same batch, with the same key
    new = {key for key in receiver.keys if key} - digests
    assert len(new) == 1  # the new flag's own digest
    with open_store(settings)() as session:
        statuses = session.scalars(select(Delivery.status).where(Delivery.channel == "webhook"))
        assert set(statuses) == {"delivered"}

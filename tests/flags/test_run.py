"""A tagging run end to end on a small demo company: tags, idempotence, flags on the webhook."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from icploop.engine import connect
from icploop.fit.config import FitConfig
from icploop.flags.channels.webhook import WebhookChannel
from icploop.flags.outbox import deliver_due
from icploop.flags.routing import RoutingRules
from icploop.flags.run import NO_CLOSE_DATES, run_tagging
from icploop.store.database import make_engine, migrate, utcnow
from icploop.store.models import Delivery, FitTag, Flag

from .receivers import webhook_receiver

AS_OF = dt.date(2026, 10, 31)


def _workspace(demo_warehouse: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    copy = tmp_path / "analytics.duckdb"
    shutil.copy(demo_warehouse, copy)
    engine = make_engine(f"sqlite:///{tmp_path}/app.db")
    migrate(engine)
    return connect(f"duckdb://{copy}"), sessionmaker(engine, expire_on_commit=False)


def test_every_account_past_day_90_is_tagged_once_and_a_rerun_adds_nothing(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    backend, store = _workspace(demo_warehouse, tmp_path)
    first = run_tagging(backend, store, AS_OF, FitConfig(), RoutingRules())
    won = backend.table("deals").filter(lambda d: d.outcome == "won")
    closes = won.group_by("account_id").agg(close=won.close_date.min()).to_pandas()
    eligible = (
        pd.to_datetime(closes["close"]) <= pd.Timestamp(AS_OF - dt.timedelta(days=90))
    ).sum()
    assert first.due_accounts == eligible
    assert sum(first.tagged.values()) == eligible
    assert set(first.tagged) == {"strong_fit", "near_fit", "bad_fit"}
    again = run_tagging(backend, store, AS_OF, FitConfig(), RoutingRules())
    assert again.tagged == {} and again.already_tagged == eligible and again.flags_sent == []
    with store() as session:
        assert session.scalar(select(func.count()).select_from(FitTag)) == eligible
        flags = len(first.flags_sent) + len(first.departure_flags)
        assert session.scalar(select(func.count()).select_from(Flag)) == flags


def test_without_usage_the_run_says_which_signals_it_could_not_judge_and_why(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    """No usage rows: three signals are unknown for every account (never bad), the run names
    them with the table that would decide them, and says no account can be a strong fit."""
    (tmp_path / "full").mkdir()
    backend, store = _workspace(demo_warehouse, tmp_path / "full")
    full = run_tagging(backend, store, AS_OF, FitConfig(), RoutingRules(), send=False)
    # the demo company has every table (no ICP is published: the draft-ICP line says that)
    assert full.caveats == [] and full.unknown_signals["icp_segment_match"] == full.due_accounts
    backend, store = _workspace(demo_warehouse, tmp_path)
    backend.raw_sql("DELETE FROM usage")
    report = run_tagging(backend, store, AS_OF, FitConfig(), RoutingRules(), send=False)
    due = report.due_accounts
    assert due > 0 and set(report.tagged) <= {"near_fit", "bad_fit"}
    usage_signals = ("core_use_case_active", "adoption_trajectory", "ae_committed_use_cases_active")
    assert all(report.unknown_signals[s] == due for s in usage_signals)
    assert report.unknown_signals["champion_stability"] < due
    assert [c.split(" is unknown")[0] for c in report.caveats[:3]] == list(usage_signals)
    assert "it needs the usage table" in report.caveats[0]
    assert report.caveats[3].startswith("with 1 of 5 signals known, no account can be a strong")
    assert len(report.caveats) == 4


def test_without_won_deals_the_run_says_why_nobody_is_past_day_90(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    """No close dates (a billing-only export): nobody is tagged, and the run says what is missing
    rather than reporting 0 accounts past day 90 as if that were the company's state."""
    backend, store = _workspace(demo_warehouse, tmp_path)
    backend.raw_sql("DELETE FROM deals")
    report = run_tagging(backend, store, AS_OF, FitConfig(), RoutingRules(), send=False)
    assert report.due_accounts == 0 and not report.tagged
    assert report.caveats == [NO_CLOSE_DATES]
    assert "load the CRM's deals" in NO_CLOSE_DATES


def test_each_new_bad_fit_is_flagged_to_the_ae_revops_and_the_csm_manager(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    backend, store = _workspace(demo_warehouse, tmp_path)
    report = run_tagging(backend, store, AS_OF, FitConfig(), RoutingRules())
    assert report.flags_sent and len(report.flags_sent) == report.tagged["bad_fit"]
    with store() as session:
        flag = session.get(Flag, report.flags_sent[0])
        assert flag is not None and flag.status == "sent" and flag.ae and flag.csm
        roles = {d.recipient_role for d in flag.deliveries}
        assert {"ae", "revops", "cs_manager"} <= roles


def test_flags_reach_a_local_webhook_in_the_channel_format(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    backend, store = _workspace(demo_warehouse, tmp_path)
    report = run_tagging(backend, store, AS_OF, FitConfig(), RoutingRules())
    with webhook_receiver() as receiver, store() as session:
        run = deliver_due(session, {"webhook": WebhookChannel(receiver.url)}, utcnow())
        webhooks = session.scalars(select(Delivery).where(Delivery.channel == "webhook")).all()
    flags = len(report.flags_sent) + len(report.departure_flags)
    assert len(receiver.bodies) == flags == len(webhooks)
    assert sorted(run.delivered) == sorted(d.id for d in webhooks)
    first = receiver.bodies[0]["text"]
    assert first.startswith("Flag: ") and "| fit issue: " in first and "| evidence: " in first


def test_champion_departures_since_close_are_flagged_once(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    backend, store = _workspace(demo_warehouse, tmp_path)
    first = run_tagging(backend, store, AS_OF, FitConfig(), RoutingRules())
    assert first.departure_flags
    contacts = backend.table("contacts").to_pandas()
    champions = contacts[contacts["is_champion"] & contacts["valid_to"].notna()]
    with store() as session:
        flags = session.scalars(
            select(Flag).where(Flag.fit_issue == "champion_vulnerability")
        ).all()
        for flag in flags:
            theirs = champions[champions["account_id"] == flag.account_id]
            assert not theirs.empty and flag.status == "sent"
    again = run_tagging(backend, store, AS_OF, FitConfig(), RoutingRules())
    assert again.departure_flags == []

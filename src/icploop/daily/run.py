"""One daily run of the loop, under the workspace's writer lock, safe to repeat:

1. **load** the inbox's new files: a file whose content (SHA-256) a load already recorded is
   skipped, the rest load together, all or nothing, as ``icploop load`` does;
2. **tag** every account past day 90 that has no tag and flag the new bad fits (each once);
   a flag about data older than the backfill window (``backfill_days`` before the data's end)
   is recorded and visible but not delivered, so a first run does not post years of history;
3. **deliver** what the outbox holds (deliveries interrupted mid-send first, same key), as
   one digest per recipient on the channels in digest mode, links absolute from ``base_url``;
   a channel that cannot deliver (no SMTP server) is named in the summary;
4. **watch list**: the near fits the tagging added, and how many are due for their review;
5. **micro-review**: the trigger (cohort NRR down more than 2 points in the latest quarter),
   acted on once per quarter: the reduced review pack for the affected cohorts is built and
   RevOps told (:mod:`icploop.daily.micro`);
6. **notices**: one for each implementation step past its deadline, once.

A second run with nothing new finds nothing to do and changes nothing. Tags and the
micro-review judge the data at its end (the workspace's as-of rule); deadlines run on the
calendar (``today``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from icploop.config import Settings, existing_workspace
from icploop.daily.micro import act_on_drop
from icploop.errors import IcploopError
from icploop.fit.config import FitConfig
from icploop.flags.channels import Channel, ChannelSettings, configured_channels
from icploop.flags.outbox import channel_status, deliver_due, reclaim_expired
from icploop.flags.routing import RoutingRules
from icploop.flags.run import run_tagging
from icploop.generations import duckdb_file, open_reader, write_generation
from icploop.icp.in_force import published_periods
from icploop.icp.micro_review import nrr_drops
from icploop.icp.notify import notify_overdue
from icploop.ingest.load import LOADS_TABLE, load_paths
from icploop.ingest.mapping import Mapping
from icploop.ingest.read import discover, sha256_of
from icploop.review.first_draft import DraftOffer, offer
from icploop.store.audit import audit
from icploop.store.database import open_store, utcnow
from icploop.store.fit_tags import watch_count
from icploop.store.models import AuditEvent
from icploop.warehouse import Warehouse
from icploop.writer_lock import writer_lock

ACTOR = "daily-run"
STEPS = ("load", "tag", "deliver", "watch list", "micro-review", "notices")
Progress = Callable[[str, int, int], None]
"""Called as ``progress(step, done, total)`` as each of :data:`STEPS` starts."""
MICRO_REVIEW_ACTION = "icp.micro_review_due"
RELATIVE_LINKS = (
    "links in messages are relative: set base_url in icploop.toml or ICPLOOP_BASE_URL to the "
    "web app's address"
)


@dataclass
class DailyOptions:
    """What a run reads besides the workspace: where new files arrive and how to read them,
    the fit configuration and routing rules, and the channel notices go through (None: email
    when configured, else the webhook, else none)."""

    inbox: Path | None = None
    mapping: Mapping | None = None
    fit_config: FitConfig = field(default_factory=FitConfig)
    routing: RoutingRules = field(default_factory=RoutingRules)
    notice_channel: str | None = None


@dataclass
class DailySummary:
    """What one run did; ``changed`` is False when it found nothing to do."""

    today: dt.date
    as_of: dt.date | None = None
    new_files: list[str] = field(default_factory=list)
    load_id: int | None = None
    tagged: dict[str, int] = field(default_factory=dict)
    flags: list[int] = field(default_factory=list)
    flags_held: list[int] = field(default_factory=list)
    """Flags recorded, not delivered: their data is older than the backfill window."""
    deliveries: dict[str, int] = field(default_factory=dict)
    watch_added: int = 0
    watch_due: int = 0
    micro_review: str | None = None
    """The quarter whose NRR drop this run acted on (None: no drop, or acted on before)."""
    micro_review_due: bool = False
    micro_review_pack: list[str] = field(default_factory=list)
    """The reduced review pack's files, written when this run acted on a drop."""
    notices: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    icp_draft: DraftOffer | None = None
    """With no ICP published: the draft offered from the evidence (see
    :mod:`icploop.review.first_draft`)."""

    @property
    def changed(self) -> bool:
        sent = sum(v for k, v in self.deliveries.items() if k in ("delivered", "reclaimed"))
        return bool(
            self.new_files
            or sum(self.tagged.values())
            or self.flags
            or self.flags_held
            or sent
            or self.watch_added
            or self.micro_review
            or self.notices
            or (self.icp_draft is not None and self.icp_draft.created)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "changed": self.changed,
            "new_files": self.new_files,
            "load_id": self.load_id,
            "tagged": self.tagged,
            "flags": self.flags,
            "flags_held": self.flags_held,
            "deliveries": self.deliveries,
            "watch_added": self.watch_added,
            "watch_due": self.watch_due,
            "micro_review": self.micro_review,
            "micro_review_due": self.micro_review_due,
            "micro_review_pack": self.micro_review_pack,
            "notices": self.notices,
            "warnings": self.warnings,
            "icp_draft": self.icp_draft.to_dict() if self.icp_draft else None,
        }


def loaded_hashes(settings: Settings) -> set[str]:
    """The SHA-256 of every file a load of the workspace recorded."""
    link = duckdb_file(settings)
    if link is None:
        from icploop.generations import open_analytics

        backend = open_analytics(settings)
    else:
        backend, _ = open_reader(link)
    try:
        if LOADS_TABLE not in backend.list_tables():
            return set()
        rows = backend.table(LOADS_TABLE).select("files").to_pyarrow().column(0).to_pylist()
    finally:
        backend.disconnect()
    return {f["sha256"] for files in rows if files for f in json.loads(files)}


def new_inbox_files(settings: Settings, inbox: Path, mapping: Mapping | None) -> list[Path]:
    """The inbox's loadable files whose content no load has recorded yet, in name order."""
    if not inbox.is_dir():
        raise IcploopError(f"the inbox {inbox} is not a folder", "create it or fix --inbox")
    sources, _ = discover([inbox], mapping)
    seen = loaded_hashes(settings)
    return sorted({s.path for s in sources if sha256_of(s.path) not in seen})


def run_daily(
    settings: Settings,
    options: DailyOptions,
    *,
    today: dt.date,
    clock: Callable[[], dt.datetime] = utcnow,
    wait: float = 0.0,
    progress: Progress | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> DailySummary:
    """One run of the loop (see the module's docstring), holding the writer lock throughout.

    ``today`` is the calendar day deadlines are checked on and ``clock`` gives the time
    recorded on what the run writes (read at each step: deliveries the tagging has just queued
    are due when the outbox is read); the data is judged at its own end. Raises ``WorkspaceBusy`` when
    another writer holds the workspace past ``wait`` seconds, ``IcploopError`` when the new
    files do not load (nothing else is done then) or the workspace holds no data."""
    summary = DailySummary(today=today)
    say = progress or (lambda _step, _done, _total: None)
    if options.inbox is None:
        existing_workspace(settings.workspace)  # nothing to load: there must be a workspace
    with writer_lock(settings.workspace, "icploop run", wait, on_wait):
        say(STEPS[0], 0, len(STEPS))
        if options.inbox is not None:
            summary.new_files = [
                str(p) for p in new_inbox_files(settings, options.inbox, options.mapping)
            ]
            if summary.new_files:
                with write_generation(settings) as backend:
                    result = load_paths(
                        backend,
                        [Path(p) for p in summary.new_files],
                        options.mapping,
                        reporting_currency=settings.figures_currency,
                        memory_limit=settings.load_memory_limit,
                    )
                summary.load_id = result.load_id
        store = open_store(settings)
        channels = configured_channels(ChannelSettings(), settings.workspace)
        link = duckdb_file(settings)
        if link is None:
            from icploop.generations import open_analytics

            backend = open_analytics(settings)
        else:
            backend, _ = open_reader(link)
        try:
            _loop(backend, store, channels, settings, options, summary, clock, say)
        finally:
            backend.disconnect()
    return summary


def _loop(
    backend: Any,
    store: sessionmaker[Session],
    channels: dict[str, Channel],
    settings: Settings,
    options: DailyOptions,
    summary: DailySummary,
    clock: Callable[[], dt.datetime],
    say: Progress,
) -> None:
    warehouse = Warehouse(backend)
    summary.as_of = as_of = warehouse.data_end.as_of
    say(STEPS[1], 1, len(STEPS))
    with store() as session:
        periods = published_periods(session)
    tagging = run_tagging(
        backend, store, as_of, options.fit_config, options.routing, actor=ACTOR,
        icp_periods=periods, hold_before=as_of - dt.timedelta(days=settings.backfill_days),
    )  # fmt: skip
    summary.tagged = {k: v for k, v in tagging.tagged.items() if v}
    summary.flags = tagging.flags_sent + tagging.departure_flags
    summary.flags_held = tagging.flags_held
    summary.watch_added = tagging.watch_added
    summary.warnings += sorted(set(tagging.warnings))
    summary.warnings += tagging.caveats  # signals no account could be judged on, and why
    with store() as session, session.begin():
        summary.icp_draft = offer(backend, session, as_of, clock())
    say(STEPS[2], 2, len(STEPS))
    held = (
        f"{len(summary.flags_held)} older flag(s) recorded, not sent: their data is more than "
        f"{settings.backfill_days} days old"
        if summary.flags_held
        else None
    )
    with store() as session:
        now = clock()
        reclaimed = reclaim_expired(session, now, ACTOR)
        run = deliver_due(session, channels, now, digest=settings.digest_channels,
                          base_url=settings.base_url, note=held)  # fmt: skip
        summary.warnings += [
            s.line() for s in channel_status(session, channels) if not s.configured and s.waiting
        ]
    summary.deliveries = {
        "reclaimed": len(reclaimed),
        **{k: len(v) for k, v in vars(run).items()},
    }
    if held:
        summary.warnings.append(held)
    if settings.base_url is None and run.delivered:
        summary.warnings.append(RELATIVE_LINKS)
    say(STEPS[3], 3, len(STEPS))
    with store() as session:
        summary.watch_due = watch_count(session, summary.today)
    say(STEPS[4], 4, len(STEPS))
    sender = _notice_channel(channels, options.notice_channel)
    drops = nrr_drops(warehouse.tables, as_of)
    summary.micro_review_due = drops.due
    if drops.due and drops.last_period is not None:
        with store() as session, session.begin():
            if not _acted_on(session, drops.last_period):
                acted = act_on_drop(backend, session, warehouse.tables, drops,
                                    settings.workspace, sender, settings.base_url,
                                    options.fit_config)  # fmt: skip
                audit(
                    session, actor=ACTOR, action=MICRO_REVIEW_ACTION, object_type="quarter",
                    object_id=drops.last_period, at=clock(),
                    details={"drops": list(drops.drops), "as_of": as_of.isoformat(),
                             "cohorts": [c["cohort"] for c in acted.cohorts],
                             "pack": [str(p) for p in acted.paths],
                             "notified": acted.notified},
                )  # fmt: skip
                summary.micro_review = drops.last_period
                summary.micro_review_pack = [str(p) for p in acted.paths]
                summary.warnings += acted.warnings
    say(STEPS[5], 5, len(STEPS))
    if sender is None:
        summary.warnings.append(
            "no channel for notices of overdue steps (set ICPLOOP_SMTP_HOST or "
            "ICPLOOP_WEBHOOK_URL): none sent"
        )
        return
    with store() as session, session.begin():
        result = notify_overdue(session, sender, summary.today, clock())
    summary.notices = list(result.notified)
    summary.warnings += [f"notice {key} not sent: {why}" for key, why in result.failed]


def _acted_on(session: Session, quarter: str) -> bool:
    query = select(AuditEvent.id).where(
        AuditEvent.action == MICRO_REVIEW_ACTION, AuditEvent.object_id == quarter
    )
    return session.scalars(query.limit(1)).first() is not None


def _notice_channel(channels: dict[str, Channel], chosen: str | None) -> Channel | None:
    if chosen is not None:
        if chosen not in channels:
            raise IcploopError(
                f"the {chosen} channel is not configured",
                "set ICPLOOP_SMTP_HOST (email) or ICPLOOP_WEBHOOK_URL (webhook)",
            )
        return channels[chosen]
    return channels.get("email") or channels.get("webhook")

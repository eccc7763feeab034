"""A tagging run end to end: warehouse -> day-90 signals -> stored tags -> bad-fit flags sent.

The analytics (``icploop.fit``) compute; this workflow records. Re-running is safe: accounts that
already have a tag are skipped, so no tag and no flag is created twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from ibis.backends import BaseBackend
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from icploop.errors import IcploopError
from icploop.fit.config import SIGNAL_SOURCES, SIGNALS, FitConfig
from icploop.fit.signals import (
    CriteriaPeriod,
    FitInputs,
    champion_departures,
    first_close_dates,
)
from icploop.fit.tagging import compute_fit
from icploop.flags.drafts import draft_flag
from icploop.flags.people import sync_people
from icploop.flags.records import create_flag, send_flag
from icploop.flags.routing import RoutingRules
from icploop.ingest.keys import ACCOUNT_KEYS
from icploop.store import fit_tags
from icploop.store.audit import audit
from icploop.store.database import utcnow
from icploop.store.models import FitTag, Flag

FIT_TABLES = ("accounts", "deals", "deal_use_cases", "usage", "contacts", "mrr_monthly")


@dataclass
class TaggingReport:
    """What a run did, for the CLI and the web app to show."""

    as_of: dt.date
    due_accounts: int = 0
    tagged: dict[str, int] = field(default_factory=dict)
    already_tagged: int = 0
    watch_added: int = 0
    flags_sent: list[int] = field(default_factory=list)
    departure_flags: list[int] = field(default_factory=list)
    flags_held: list[int] = field(default_factory=list)
    """Flags recorded, not sent: their data is older than ``hold_before``."""
    warnings: list[str] = field(default_factory=list)
    by_segment: pd.DataFrame = field(default_factory=pd.DataFrame)
    unknown_signals: dict[str, int] = field(default_factory=dict)
    """Per signal, the accounts past day 90 it is unknown for (no data to judge it)."""
    caveats: list[str] = field(default_factory=list)
    """A signal unknown for every account past day 90, with the data that would decide it, and
    when too few signals are left for any account to be a strong fit."""


def fit_inputs(backend: BaseBackend) -> FitInputs:
    """The warehouse tables the signals read; a clear error when a load is missing."""
    tables = backend.list_tables()
    missing = [t for t in FIT_TABLES if t not in tables]
    if missing:
        raise IcploopError(
            f"the warehouse has no {', '.join(missing)} table(s)",
            "load the company's data first: icploop load PATH",
        )
    keys = backend.table(ACCOUNT_KEYS) if ACCOUNT_KEYS in tables else None
    return FitInputs(**{name: backend.table(name) for name in FIT_TABLES}, account_keys=keys)


def run_tagging(
    backend: BaseBackend,
    store: sessionmaker[Session],
    as_of: dt.date,
    config: FitConfig,
    routing: RoutingRules,
    actor: str = "fit-run",
    send: bool = True,
    icp_periods: Sequence[CriteriaPeriod] = (),
    hold_before: dt.date | None = None,
) -> TaggingReport:
    """Tag every account past day 90 that has no tag, and flag (and send) each new bad fit.

    ``icp_periods`` are the published ICP versions (each account is matched against the one in
    force at its close). The people of the ``org`` table are synced first so that flags route
    to current roles. Each flag is dated at its data (the deal's tagging day, a champion's
    departure); one dated before ``hold_before`` is recorded but not sent (the backfill
    window of a first run: ``flags_held``).
    """
    inputs = fit_inputs(backend)
    fit = compute_fit(inputs, as_of, config, icp_periods)
    report = TaggingReport(as_of=as_of, due_accounts=len(fit))
    report.unknown_signals = {s: int(fit[s].isna().sum()) for s in SIGNALS if s in fit}
    report.caveats = unknown_caveats(
        report.unknown_signals, len(fit), config.combination.strong_if_strong_signals_at_least
    )
    if fit.empty and first_close_dates(inputs.deals).count().to_pyarrow().as_py() == 0:
        report.caveats.append(NO_CLOSE_DATES)
    owners = inputs.accounts.select("account_id", "owner_ae", "csm", "segment").to_pandas()
    owners = owners.set_index("account_id")
    with store() as session, session.begin():
        if "org" in backend.list_tables():
            org = backend.table("org").to_pandas().to_dict("records")
            sync_people(session, org, actor=actor)
        summary = fit_tags.record_run(
            session, fit, as_of, config.model_dump(mode="json"), config.thresholds.watch_days, actor
        )
        report.tagged, report.already_tagged = summary.tagged, summary.already_tagged
        report.watch_added = summary.watch_added
        now = utcnow()
        for tag_id in summary.new_tag_ids:
            tag = session.get(fit_tags.FitTag, tag_id)
            if tag is None or tag.tag != "bad_fit":
                continue
            owner: dict[str, Any] = (
                owners.loc[tag.account_id].to_dict() if tag.account_id in owners.index else {}
            )
            flag = draft_flag(
                session,
                tag_id,
                ae=owner.get("owner_ae"),
                csm=owner.get("csm"),
                links={"account": f"/accounts/{tag.account_id}"},
                actor=actor,
                now=now,
            )
            day90 = dt.timedelta(days=config.thresholds.tag_after_days)
            due = tag.close_date + day90 if tag.close_date else as_of
            flag.data_date = min(due, as_of)
            if _held(session, flag, hold_before, actor, now):
                report.flags_held.append(flag.id)
                continue
            if send:
                result = send_flag(session, flag.id, actor, routing, now)
                report.warnings.extend(result.warnings)
            report.flags_sent.append(flag.id)
        report.departure_flags = _flag_departures(
            session, inputs, as_of, owners, routing, actor, send, report, hold_before
        )
        current = pd.DataFrame(
            [(t.account_id, t.tag) for t in fit_tags.list_current(session)],
            columns=["account_id", "tag"],
        )
    report.by_segment = tag_mix(current, owners["segment"])
    return report


#: why no account can be tagged when no account has a won deal with a close date
NO_CLOSE_DATES = (
    "no account has a won deal with a close date, so none can reach day 90 after close: "
    "load the CRM's deals (deal_id, account_id, outcome, close_date) to tag accounts"
)


def unknown_caveats(unknown: dict[str, int], due: int, strong_needs: int) -> list[str]:
    """One caveat per signal that is unknown for all ``due`` accounts (it needs data the
    workspace lacks), and one when fewer than ``strong_needs`` signals are left to be strong:
    then every tag is near or bad fit for want of data, not of fit. An ICP match unknown for
    want of an ICP is said by the run's draft-ICP line (review.first_draft), not here."""
    if due == 0:
        return []
    absent = [s for s in SIGNALS if unknown.get(s, 0) == due]
    out = [
        f"{signal} is unknown for all {due:,} accounts past day 90: it needs "
        f"{SIGNAL_SOURCES[signal]}"
        for signal in absent
        if signal != "icp_segment_match"
    ]
    left = len(SIGNALS) - len(absent)
    if out and left < strong_needs:
        out.append(
            f"with {left} of {len(SIGNALS)} signals known, no account can be a strong fit (the "
            f"rule needs {strong_needs} strong signals): load the data above to tell them apart"
        )
    return out


def _flag_departures(
    session: Session,
    inputs: FitInputs,
    as_of: dt.date,
    owners: pd.DataFrame,
    routing: RoutingRules,
    actor: str,
    send: bool,
    report: TaggingReport,
    hold_before: dt.date | None,
) -> list[int]:
    """A champion-vulnerability flag for each tagged, still-paying account whose champion has
    left since close, once per account (an existing flag of that kind is not repeated)."""
    departures = champion_departures(inputs, as_of)
    if departures.empty:
        return []
    mrr = inputs.mrr_monthly
    paying = mrr.filter(mrr.month == mrr.month.max()).filter(lambda t: t.mrr > 0)
    paying_ids = set(paying.account_id.to_pandas())
    flagged = set(
        session.scalars(select(Flag.account_id).where(Flag.fit_issue == "champion_vulnerability"))
    )
    created: list[int] = []
    now = utcnow()
    for account, rows in departures.groupby("account_id"):
        account = str(account)
        if account in flagged or account not in paying_ids:
            continue
        tag = session.scalars(
            select(FitTag).where(FitTag.account_id == account, FitTag.current.is_(True))
        ).one_or_none()
        if tag is None or tag.close_date is None:
            continue
        left = rows[pd.to_datetime(rows["departed_on"]).dt.date >= tag.close_date]
        if left.empty:
            continue
        owner: dict[str, Any] = owners.loc[account].to_dict() if account in owners.index else {}
        flag = create_flag(
            session,
            account_id=account,
            fit_issue="champion_vulnerability",
            evidence=(
                f"Champion {left.iloc[-1]['contact_id']} left on {left.iloc[-1]['departed_on']}; "
                "no champion has replaced them in the contact record."
            ),
            fit_tag_id=tag.id,
            ae=owner.get("owner_ae"),
            csm=owner.get("csm"),
            links={"account": f"/accounts/{account}"},
            actor=actor,
            now=now,
        )
        flag.data_date = pd.Timestamp(left.iloc[-1]["departed_on"]).date()
        if _held(session, flag, hold_before, actor, now):
            report.flags_held.append(flag.id)
            continue
        if send:
            report.warnings.extend(send_flag(session, flag.id, actor, routing, now).warnings)
        created.append(flag.id)
    return created


def _held(
    session: Session, flag: Flag, hold_before: dt.date | None, actor: str, now: dt.datetime
) -> bool:
    """Record a flag whose data is older than ``hold_before`` without sending it."""
    if hold_before is None or flag.data_date is None or flag.data_date >= hold_before:
        return False
    flag.status = "recorded"
    audit(session, actor=actor, action="flag.recorded", object_type="flag", object_id=flag.id,
          at=now, details={"data_date": flag.data_date.isoformat(),
                           "held_before": hold_before.isoformat()})  # fmt: skip
    return True


def tag_mix(tags: pd.DataFrame, segment: pd.Series) -> pd.DataFrame:
    """Accounts per segment and tag, with each tag's share of the segment."""
    if tags.empty:
        return pd.DataFrame(columns=["segment", "accounts", "strong_fit", "near_fit", "bad_fit"])
    frame = tags.assign(segment=tags["account_id"].map(segment).fillna("(none)"))
    counts = frame.pivot_table(index="segment", columns="tag", values="account_id", aggfunc="count")
    counts = counts.reindex(columns=["strong_fit", "near_fit", "bad_fit"]).fillna(0).astype(int)
    counts.insert(0, "accounts", counts.sum(axis=1))
    return counts.reset_index()

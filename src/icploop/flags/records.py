"""Flag records: creating a structured bad-fit flag, editing its evidence, sending it.

A flag is a record, not a chat message: ``Flag: <account> | fit issue: <issue> | evidence: <1-2
sentences>`` plus the fit tag, the closing AE, the CSM and links to the data. Sending it freezes
the evidence and puts one outbox row per recipient and channel in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, object_session

from icploop.errors import IcploopError
from icploop.flags.issues import FIT_ISSUES
from icploop.flags.outbox import IDEMPOTENCY_KEY, new_key
from icploop.flags.routing import RoutingRules, resolve_recipients
from icploop.store.audit import audit
from icploop.store.database import utcnow
from icploop.store.models import Delivery, FitTag, Flag

MAX_EVIDENCE_CHARS = 500


@dataclass
class SendResult:
    """What sending a flag enqueued, and the recipients routing could not resolve."""

    flag_id: int
    deliveries: list[Delivery] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _evidence(text: str) -> str:
    # the flag is one line in chat and CRM notes: fold line breaks and runs of spaces
    cleaned = re.sub(r"\s+", " ", text or "").strip()
    if not cleaned:
        raise IcploopError(
            "a flag needs evidence", "write one or two sentences on what the data shows"
        )
    if len(cleaned) > MAX_EVIDENCE_CHARS:
        raise IcploopError(
            f"the evidence is {len(cleaned)} characters; a flag takes at most {MAX_EVIDENCE_CHARS}",
            "keep it to one or two sentences and put the detail behind a link",
        )
    return cleaned


def _get(session: Session, flag_id: int) -> Flag:
    flag = session.get(Flag, flag_id)
    if flag is None:
        raise IcploopError(f"no flag with id {flag_id}", "list the flags to find the right id")
    return flag


def create_flag(
    session: Session,
    *,
    account_id: str,
    fit_issue: str,
    evidence: str,
    fit_tag_id: int | None,
    ae: str | None,
    csm: str | None,
    links: Mapping[str, str] | None,
    actor: str,
    now: dt.datetime | None = None,
) -> Flag:
    """Create a draft flag (from a bad-fit tag, or a CSM's own judgement with no tag)."""
    if fit_issue not in FIT_ISSUES:
        raise IcploopError(
            f"unknown fit issue {fit_issue!r}", f"use one of: {', '.join(FIT_ISSUES)}"
        )
    if not account_id:
        raise IcploopError("a flag needs an account", "give the account id")
    if fit_tag_id is not None and session.get(FitTag, fit_tag_id) is None:
        raise IcploopError(f"no fit tag with id {fit_tag_id}", "flag from an existing tag or none")
    at = now or utcnow()
    flag = Flag(
        account_id=account_id,
        fit_issue=fit_issue,
        evidence=_evidence(evidence),
        fit_tag_id=fit_tag_id,
        ae=ae,
        csm=csm,
        links=dict(links or {}),
        status="draft",
        created_by=actor,
        created_at=at,
    )
    session.add(flag)
    session.flush()
    audit(
        session,
        actor=actor,
        action="flag.created",
        object_type="flag",
        object_id=flag.id,
        at=at,
        details={"account_id": account_id, "fit_issue": fit_issue},
    )
    return flag


def edit_evidence(
    session: Session, flag_id: int, evidence: str, actor: str, now: dt.datetime | None = None
) -> Flag:
    """Replace an unsent flag's evidence; a sent flag is what its recipients read, so it is
    frozen."""
    flag = _get(session, flag_id)
    if flag.status == "sent":
        raise IcploopError(
            f"flag {flag_id} was sent; its evidence can no longer change",
            "raise a new flag if the evidence has changed",
        )
    before, flag.evidence = flag.evidence, _evidence(evidence)
    audit(
        session,
        actor=actor,
        action="flag.evidence_edited",
        object_type="flag",
        object_id=flag.id,
        at=now or utcnow(),
        details={"before": before, "after": flag.evidence},
    )
    session.flush()
    return flag


def _payload(flag: Flag, text: str, email: str | None) -> dict[str, Any]:
    return {
        "account_id": flag.account_id,
        "subject": f"[icploop] bad-fit flag: {flag.account_id}",
        "text": text,
        "author": flag.created_by,
        "note_date": (flag.sent_at or flag.created_at).date().isoformat(),
        "links": dict(flag.links or {}),
        "email": email,
        # the same on every attempt of this delivery, so a receiver can drop a repeat
        IDEMPOTENCY_KEY: new_key(),
    }


def send_flag(
    session: Session, flag_id: int, actor: str, routing: RoutingRules, now: dt.datetime
) -> SendResult:
    """Mark a draft (or recorded) flag sent and enqueue one delivery per resolved recipient
    and channel.

    The outbox rows are added in the caller's transaction, so the flag is sent if and only if its
    deliveries are recorded. Recipients routing cannot resolve are returned as warnings.
    """
    flag = _get(session, flag_id)
    if flag.status == "sent":  # a draft, or one recorded unsent by the backfill window
        raise IcploopError(f"flag {flag_id} was already sent", "nothing to do")
    resolution = resolve_recipients(session, flag, routing)
    flag.status = "sent"
    flag.sent_at = now
    text = format_flag(flag)
    result = SendResult(flag_id=flag.id, warnings=list(resolution.warnings))
    for recipient in resolution.recipients:
        delivery = Delivery(
            flag_id=flag.id,
            recipient=recipient.recipient,
            recipient_role=recipient.role,
            channel=recipient.channel,
            payload=_payload(flag, text, recipient.email),
            status="pending",
            attempts=0,
            next_attempt_at=now,
        )
        session.add(delivery)
        result.deliveries.append(delivery)
    audit(
        session,
        actor=actor,
        action="flag.sent",
        object_type="flag",
        object_id=flag.id,
        at=now,
        details={
            "deliveries": [f"{d.channel}:{d.recipient}" for d in result.deliveries],
            "warnings": result.warnings,
        },
    )
    session.flush()
    return result


def format_flag(flag: Flag, fit_tag: str | None = None) -> str:
    """The flag in the spec's structured format, one fact per line after the headline.

    ``fit_tag`` is the tag's value (``bad_fit`` ...); when not given it is looked up from the
    flag's ``fit_tag_id`` through the flag's session.
    """
    issue = FIT_ISSUES.get(flag.fit_issue, flag.fit_issue)
    if fit_tag is None and flag.fit_tag_id is not None:
        session = object_session(flag)
        tag = session.get(FitTag, flag.fit_tag_id) if session is not None else None
        fit_tag = tag.tag if tag is not None else None
    if flag.fit_tag_id is None:
        tag_line = "none (CSM judgement)"
    else:
        tag_line = f"{fit_tag or 'unknown'} (tag #{flag.fit_tag_id})"
    links = "; ".join(f"{name}: {url}" for name, url in sorted((flag.links or {}).items()))
    return "\n".join(
        [
            f"Flag: {flag.account_id} | fit issue: {issue} | evidence: {flag.evidence}",
            f"Fit tag: {tag_line}",
            f"AE: {flag.ae or 'unknown'}",
            f"CSM: {flag.csm or 'unknown'}",
            f"Links: {links or 'none'}",
        ]
    )

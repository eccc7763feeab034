"""ICP versions in the app store: drafts, publication, implementation steps, history.

Publishing starts the clock (see ``STEPS``): RevOps circulates the change within 5 business days,
Marketing confirms an implementation timeline within 2 weeks, CS acknowledges what changed within
2 weeks. Each step records who and when; steps past due are listed by ``overdue_steps``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from icploop.errors import IcploopError
from icploop.icp import signoff
from icploop.icp.document import (
    IcpContent,
    IcpVersion,
    check_content,
    diff,
    from_yaml,
    readable_content,
    to_yaml,
)
from icploop.icp.roles import PUBLISHERS, require_owner_or_role, require_role
from icploop.icp.signoff import DEFAULT_REQUIRED, check_publishable
from icploop.rules import Kind
from icploop.store.audit import audit
from icploop.store.models import AuditEvent, IcpVersionRecord, ImplementationStep

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepRule:
    step: str
    owner_roles: tuple[str, ...]
    label: str
    business_days: int = 0
    days: int = 0

    def due(self, published: dt.date) -> dt.date:
        if self.business_days:
            day = np.busday_offset(np.datetime64(published), self.business_days, roll="forward")
            return dt.date.fromisoformat(str(day))
        return published + dt.timedelta(days=self.days)


STEPS = (
    StepRule(
        "circulate", ("revops",), "RevOps circulates the change to all teams", business_days=5
    ),
    StepRule(
        "marketing_timeline",
        ("marketing",),
        "Marketing confirms an implementation timeline",
        days=14,
    ),
    StepRule("cs_acknowledge", ("cs_manager", "csm"), "CS acknowledges what changed", days=14),
)


#: the audit action of a notice owed to a team that did not approve a published version
OVERRIDE_NOTICE = "icp.override_notice"


def _get(session: Session, number: int) -> IcpVersionRecord:
    record = session.scalars(
        select(IcpVersionRecord)
        .where(IcpVersionRecord.number == number)
        .options(selectinload(IcpVersionRecord.steps))
    ).one_or_none()
    if record is None:
        raise IcploopError(f"there is no ICP version {number}", "list them with `icploop icp list`")
    return record


def get_version(session: Session, number: int) -> IcpVersionRecord:
    """The stored version ``number``; an IcploopError when there is none."""
    return _get(session, number)


def list_versions(session: Session) -> list[IcpVersionRecord]:
    """Every version, newest first."""
    query = select(IcpVersionRecord).order_by(IcpVersionRecord.number.desc())
    return list(session.scalars(query.options(selectinload(IcpVersionRecord.steps))))


def versions_from_review(session: Session, review_id: int) -> list[IcpVersionRecord]:
    """The versions drafted from one quarterly review's decisions, oldest first."""
    query = select(IcpVersionRecord).where(IcpVersionRecord.review_id == review_id)
    return list(session.scalars(query.order_by(IcpVersionRecord.number)))


def stored_content(record: IcpVersionRecord) -> tuple[IcpContent, list[str]]:
    """A stored version's content as it reads, and what of it does not (see
    :func:`icploop.icp.document.readable_content`); the parts left out are logged."""
    content, problems = readable_content(record.content)
    if problems:
        log.warning("ICP version %s: left out %s", record.number, "; ".join(problems))
    return content, problems


def as_document(record: IcpVersionRecord) -> IcpVersion:
    """The stored version as the domain object (content parsed and validated; a part that no
    longer reads is left out and named by :func:`stored_content`)."""
    return IcpVersion(
        number=record.number,
        status=record.status,
        content=stored_content(record)[0],
        created_by=record.created_by,
        published_by=record.published_by,
        published_at=record.effective_date,
    )


def timeline(session: Session) -> list[IcpVersion]:
    """Every published (or superseded) version, to find the one in force on any date."""
    return [as_document(r) for r in list_versions(session) if r.effective_date is not None]


def create_draft(
    session: Session,
    content: IcpContent,
    actor: str,
    now: dt.datetime,
    review_id: int | None = None,
    required: tuple[str, ...] = DEFAULT_REQUIRED,
    kinds: Mapping[str, Kind] | None = None,
    source: str = "the draft",
) -> IcpVersionRecord:
    """A new draft version numbered after the newest, needing the approval of the ``required``
    teams (see ``icploop.icp.signoff``) before it can be published.

    ``kinds`` (:func:`icploop.icp.document.account_kinds`): every rule is checked against the
    accounts' attributes before anything is stored; surfaces always pass them."""
    require_role(session, actor, PUBLISHERS, "draft ICP versions")
    if kinds is not None:
        check_content(content, kinds, source)
    return _store_draft(session, content, actor, now, review_id, required)


def offer_draft(
    session: Session, content: IcpContent, actor: str, now: dt.datetime
) -> IcpVersionRecord:
    """A draft stored by the product itself under the name ``actor`` (the ICP offered from the
    evidence when none is in force): no person's role is checked, since a draft puts nothing in
    force; a person approves and publishes it like any other."""
    return _store_draft(session, content, actor, now, None, DEFAULT_REQUIRED)


def _store_draft(
    session: Session,
    content: IcpContent,
    actor: str,
    now: dt.datetime,
    review_id: int | None,
    required: tuple[str, ...],
) -> IcpVersionRecord:
    number = _next_number(session)
    record = IcpVersionRecord(
        number=number,
        status="draft",
        content=content.model_dump(mode="json"),
        review_id=review_id,
        required_roles=list(required),
        created_by=actor,
        created_at=now,
    )
    session.add(record)
    session.flush()
    audit(
        session,
        actor=actor,
        action="icp.draft",
        object_type="icp_version",
        object_id=number,
        at=now,
        details={"review_id": review_id},
    )
    return record


def _next_number(session: Session) -> int:
    """The number after every version there is or was: a deleted draft's number is never
    given again, so the audit log's ``icp_version N`` always means one version."""
    newest = session.scalar(select(func.max(IcpVersionRecord.number))) or 0
    deleted = session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "icp.delete"))
    return max([newest, *(int(n) for n in deleted if n.isdigit())]) + 1


def delete_draft(session: Session, number: int, actor: str, now: dt.datetime) -> None:
    """Delete a draft version with its sign-offs: who drafted it, RevOps or an admin may.
    Published and superseded versions are history and stay. The audit log keeps what the draft
    said, who approved or objected, and its number is never given again."""
    record = _get(session, number)
    require_owner_or_role(session, actor, record.created_by, PUBLISHERS, "delete this draft")
    if record.status != "draft":
        raise IcploopError(
            f"ICP version {number} is {record.status}; only drafts can be deleted",
            "publish a new version to change what is in force",
        )
    try:
        lines = signoff.criteria_of(IcpContent.model_validate(record.content))
    except ValidationError:
        lines = ["(content that no longer reads)"]
    audit(
        session,
        actor=actor,
        action="icp.delete",
        object_type="icp_version",
        object_id=number,
        at=now,
        details={"created_by": record.created_by, "review_id": record.review_id,
                 "lines": lines, "signoffs": [f"{s.role} {s.decision} ({s.person_id})"
                                              for s in record.signoffs]},
    )  # fmt: skip
    for item in list(record.signoffs):
        session.delete(item)
    session.delete(record)
    session.flush()


def import_yaml(
    session: Session,
    text: str | bytes,
    source: str,
    actor: str,
    now: dt.datetime,
    kinds: Mapping[str, Kind] | None = None,
) -> IcpVersionRecord:
    """A new draft from a YAML document (see ``icploop.icp.document.to_yaml``), its rules
    checked against ``kinds`` (see :func:`create_draft`)."""
    return create_draft(session, from_yaml(text, source), actor, now, kinds=kinds, source=source)


def export_yaml(session: Session, number: int) -> str:
    """Version ``number``'s content as YAML."""
    return to_yaml(IcpContent.model_validate(_get(session, number).content))


def version_diff(session: Session, old: int, new: int) -> dict[str, dict[str, list[str]]]:
    """What changed from version ``old`` to version ``new``."""
    a, b = _get(session, old), _get(session, new)
    return diff(stored_content(a)[0], stored_content(b)[0])


def publish(
    session: Session,
    number: int,
    actor: str,
    now: dt.datetime,
    effective: dt.date | None = None,
    override: str | None = None,
) -> IcpVersionRecord:
    """Publish a draft: the version in force from ``effective`` (default today), the previous
    published version superseded, and the implementation steps started with their due dates.

    Refused while a required team has not approved, unless ``override`` gives a reason (see
    :func:`icploop.icp.signoff.check_publishable`), kept with the version and in the audit log;
    each team that did not approve then gets an ``icp.override_notice`` that
    :func:`icploop.icp.notify.notify_overrides` delivers."""
    publisher = require_role(session, actor, PUBLISHERS, "publish ICP versions")
    record = _get(session, number)
    if record.status != "draft":
        raise IcploopError(f"ICP version {number} is {record.status}, not a draft")
    state = check_publishable(record, override, publisher.role)
    if not state.ready:
        record.publish_override = (override or "").strip()
    for previous in session.scalars(
        select(IcpVersionRecord).where(IcpVersionRecord.status == "published")
    ):
        previous.status, previous.superseded_at = "superseded", now
    day = effective or now.date()
    record.status, record.published_by, record.published_at = "published", actor, now
    record.effective_date = day
    for rule in STEPS:
        session.add(
            ImplementationStep(
                version_id=record.id,
                step=rule.step,
                owner_role=rule.owner_roles[0],
                due_date=rule.due(day),
            )
        )
    session.flush()
    audit(
        session,
        actor=actor,
        action="icp.publish",
        object_type="icp_version",
        object_id=number,
        at=now,
        details={"effective": day.isoformat(), "override": record.publish_override,
                 "missing": list(state.missing)},
    )  # fmt: skip
    for team in state.missing:
        audit(session, actor=actor, action=OVERRIDE_NOTICE, object_type="icp_version",
              object_id=number, at=now, details={"team": team, "reason": record.publish_override,
                                                  "latest": state.latest.get(team)})  # fmt: skip
    session.expire(record, ["steps"])
    return record


def record_step(
    session: Session, number: int, step: str, actor: str, now: dt.datetime, note: str = ""
) -> ImplementationStep:
    """Record that ``actor`` did an implementation step (only its owner role may)."""
    rule = next((r for r in STEPS if r.step == step), None)
    if rule is None:
        raise IcploopError(
            f"unknown step {step!r}", f"use one of {', '.join(r.step for r in STEPS)}"
        )
    require_role(session, actor, rule.owner_roles, rule.label.lower())
    record = _get(session, number)
    row = next((s for s in record.steps if s.step == step), None)
    if row is None:
        raise IcploopError(f"ICP version {number} is not published: nothing to {step}")
    if row.done_at is not None:
        raise IcploopError(f"{step} of version {number} was already recorded by {row.done_by}")
    row.done_by, row.done_at, row.note = actor, now, note or None
    audit(
        session,
        actor=actor,
        action=f"icp.{step}",
        object_type="icp_version",
        object_id=number,
        at=now,
        details={"note": note},
    )
    return row


def overdue_steps(session: Session, as_of: dt.date) -> list[ImplementationStep]:
    """Steps not done whose due date has passed by ``as_of``, oldest first."""
    query = (
        select(ImplementationStep)
        .where(ImplementationStep.done_at.is_(None), ImplementationStep.due_date < as_of)
        .order_by(ImplementationStep.due_date)
        .options(selectinload(ImplementationStep.version))
    )
    return list(session.scalars(query))

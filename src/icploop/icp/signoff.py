"""Sign-off of a draft ICP version by every team that has to live with it.

A draft lists the teams whose approval it needs (default RevOps, CS, Sales and Marketing). A
team's representative approves, or objects to one criterion with a comment; RevOps answers each
objection in the record. Publication waits until every required team's latest word is an
approval; RevOps may publish without it only by giving a reason, which is kept with the version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from icploop.errors import IcploopError
from icploop.icp.document import IcpContent
from icploop.icp.roles import PUBLISHERS, require_role
from icploop.store.audit import audit
from icploop.store.models import IcpVersionRecord, Signoff

#: Team -> the roles that may sign for it.
TEAMS: dict[str, tuple[str, ...]] = {
    "revops": ("revops",),
    "cs": ("cs_manager", "csm"),
    "sales": ("sales_manager", "ae"),
    "marketing": ("marketing",),
}
DEFAULT_REQUIRED: tuple[str, ...] = tuple(TEAMS)
SIGNERS: tuple[str, ...] = tuple(role for roles in TEAMS.values() for role in roles)


def team_of(role: str) -> str | None:
    """The team a role signs for (None for admins and unknown roles)."""
    return next((team for team, roles in TEAMS.items() if role in roles), None)


def criteria_of(content: IcpContent) -> list[str]:
    """Everything a version says, each as the one line a reviewer can object to."""
    return [
        *(rule.describe() for rule in content.criteria),
        *(f"do not close: {rule.describe()}" for rule in content.do_not_close),
        *(f"lead scoring {s.points:+d}: {s.rule.describe()}" for s in content.lead_scoring),
        *(f"qualification: {text}" for text in content.qualification),
    ]


@dataclass(frozen=True)
class Readiness:
    """Where a version's sign-off stands: each required team's latest word, open objections."""

    required: tuple[str, ...]
    latest: dict[str, str] = field(default_factory=dict)  # team -> approve | object
    open_objections: tuple[int, ...] = ()

    @property
    def missing(self) -> tuple[str, ...]:
        """Required teams whose latest word is not an approval."""
        return tuple(t for t in self.required if self.latest.get(t) != "approve")

    @property
    def ready(self) -> bool:
        return not self.missing


def readiness(record: IcpVersionRecord) -> Readiness:
    """The sign-off state of a version (versions from before sign-off existed need none)."""
    required = tuple(record.required_roles or ())
    latest: dict[str, str] = {}
    for row in sorted(record.signoffs, key=lambda s: s.id):
        latest[row.role] = row.decision
    unanswered = tuple(s.id for s in record.signoffs if s.decision == "object" and s.answer is None)
    return Readiness(required=required, latest=latest, open_objections=unanswered)


def _draft(session: Session, number: int) -> IcpVersionRecord:
    record = session.scalars(
        select(IcpVersionRecord).where(IcpVersionRecord.number == number)
    ).one_or_none()
    if record is None:
        raise IcploopError(f"there is no ICP version {number}", "list them with `icploop icp list`")
    if record.status != "draft":
        raise IcploopError(f"ICP version {number} is {record.status}: only drafts are signed off")
    return record


def _signer(session: Session, actor: str, doing: str) -> tuple[str, str]:
    person = require_role(session, actor, SIGNERS, doing)
    team = team_of(person.role)
    if team is None:
        raise IcploopError(
            f"{actor} ({person.role}) signs for no team",
            f"sign-off is given by {', '.join(TEAMS)}; ask a member of the team",
        )
    return person.person_id, team


def approve(
    session: Session, number: int, actor: str, now: dt.datetime, comment: str = ""
) -> Signoff:
    """Record the approval of ``actor``'s team (it replaces the team's earlier objection)."""
    record = _draft(session, number)
    person, team = _signer(session, actor, "approve ICP versions")
    row = Signoff(role=team, person_id=person, decision="approve", comment=comment or None,
                  created_at=now)  # fmt: skip
    record.signoffs.append(row)
    session.flush()
    audit(session, actor=actor, action="icp.approve", object_type="icp_version",
          object_id=number, at=now, details={"team": team, "comment": comment})  # fmt: skip
    return row


def object_to(
    session: Session, number: int, actor: str, now: dt.datetime, criterion: str, comment: str
) -> Signoff:
    """Record an objection of ``actor``'s team to one line of the version, with a comment."""
    record = _draft(session, number)
    person, team = _signer(session, actor, "object to ICP versions")
    lines = criteria_of(IcpContent.model_validate(record.content))
    if criterion not in lines:
        raise IcploopError(
            f"version {number} says nothing like {criterion!r}",
            "object to one of: " + "; ".join(lines) if lines else "the version is empty",
        )
    if not comment.strip():
        raise IcploopError("an objection needs a comment", "say what is wrong with the criterion")
    row = Signoff(role=team, person_id=person, decision="object", criterion=criterion,
                  comment=comment.strip(), created_at=now)  # fmt: skip
    record.signoffs.append(row)
    session.flush()
    audit(session, actor=actor, action="icp.object", object_type="icp_version", object_id=number,
          at=now, details={"team": team, "criterion": criterion, "comment": comment})  # fmt: skip
    return row


def answer(session: Session, signoff_id: int, actor: str, now: dt.datetime, text: str) -> Signoff:
    """RevOps answers an objection in the record (the objecting team then approves or not)."""
    require_role(session, actor, PUBLISHERS, "answer objections")
    row = session.get(Signoff, signoff_id)
    if row is None or row.decision != "object":
        raise IcploopError(f"there is no objection {signoff_id}")
    if row.answer is not None:
        raise IcploopError(f"objection {signoff_id} was already answered by {row.answered_by}")
    if not text.strip():
        raise IcploopError("an answer needs text")
    row.answer, row.answered_by, row.answered_at = text.strip(), actor, now
    audit(session, actor=actor, action="icp.answer", object_type="icp_signoff",
          object_id=signoff_id, at=now, details={"text": text})  # fmt: skip
    return row


def check_publishable(record: IcpVersionRecord, override: str | None) -> Readiness:
    """Raise unless every required team approved or an override reason is given."""
    state = readiness(record)
    if not state.ready and not (override and override.strip()):
        raise IcploopError(
            f"ICP version {record.number} still needs the approval of {', '.join(state.missing)}",
            "record it with `icploop icp approve`, or publish with --override REASON",
        )
    return state

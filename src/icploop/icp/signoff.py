"""Sign-off of a draft ICP version by every team that has to live with it.

A draft lists the teams whose approval it needs (default RevOps, CS, Sales and Marketing).

- **Who speaks for a team.** A team's word is given by its lead (``TEAM_LEADS``: the CS manager
  for CS, the sales manager for Sales, RevOps and Marketing for themselves) or by a person the
  lead names (:func:`name_signer`), as the quarterly review has the VP CS and the VP Sales
  speak for their teams. Any other member (a CSM, an AE) may object to a line with a comment:
  the objection is recorded and answered in the record, but it is not the team's word, and a
  member cannot approve for the team.
- The team's latest word (of its lead or named people) counts; RevOps answers each objection.
- **Publication** waits until every required team's word is an approval. RevOps may publish
  without it only with a reason (at least :data:`MIN_OVERRIDE` characters), which is kept with
  the version, and every team that did not approve is notified (``icploop.icp.notify``). A
  draft that no team approved at all is published over their heads only by an admin.
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
from icploop.store.models import IcpVersionRecord, Person, Signoff, TeamSigner

#: Team -> the roles that may sign for it.
TEAMS: dict[str, tuple[str, ...]] = {
    "revops": ("revops",),
    "cs": ("cs_manager", "csm"),
    "sales": ("sales_manager", "ae"),
    "marketing": ("marketing",),
}
DEFAULT_REQUIRED: tuple[str, ...] = tuple(TEAMS)
SIGNERS: tuple[str, ...] = tuple(role for roles in TEAMS.values() for role in roles)
#: Team -> the roles that lead it: their word is the team's, and they name other signers.
TEAM_LEADS: dict[str, tuple[str, ...]] = {
    "revops": ("revops",),
    "cs": ("cs_manager",),
    "sales": ("sales_manager",),
    "marketing": ("marketing",),
}
#: the shortest reason accepted for publishing without every team's approval
MIN_OVERRIDE = 20
BINDING = (None, "lead", "named")  # standings whose word is the team's


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
    """The sign-off state of a version (versions from before sign-off existed need none): each
    team's latest word given by its lead or a named signer; members' objections stay open
    questions, not the team's word."""
    required = tuple(record.required_roles or ())
    latest: dict[str, str] = {}
    for row in sorted(record.signoffs, key=lambda s: s.id):
        if row.standing in BINDING:
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


def _signer(session: Session, actor: str, doing: str) -> tuple[str, str, str]:
    """The acting person, their team and their standing in it (lead, named or member)."""
    person = require_role(session, actor, SIGNERS, doing)
    team = team_of(person.role)
    if team is None:
        raise IcploopError(
            f"{actor} ({person.role}) signs for no team",
            f"sign-off is given by {', '.join(TEAMS)}; ask a member of the team",
        )
    return person.person_id, team, standing_of(session, person, team)


def standing_of(session: Session, person: Person, team: str) -> str:
    """``lead``, ``named`` or ``member``: whether the person's word is their team's."""
    if person.role in TEAM_LEADS[team]:
        return "lead"
    named = session.scalars(
        select(TeamSigner).where(TeamSigner.team == team, TeamSigner.person_id == person.person_id)
    ).first()
    return "named" if named is not None else "member"


def signers(session: Session, team: str) -> list[TeamSigner]:
    """The people named to sign for ``team`` (besides its leads)."""
    _team(team)
    query = select(TeamSigner).where(TeamSigner.team == team).order_by(TeamSigner.person_id)
    return list(session.scalars(query))


def _team(team: str) -> None:
    if team not in TEAMS:
        raise IcploopError(f"there is no team {team!r}", f"teams: {', '.join(TEAMS)}")


def name_signer(session: Session, team: str, person_id: str, actor: str, now: dt.datetime) -> None:
    """The team's lead (or an admin) names a member to sign ICP drafts for the team."""
    _team(team)
    lead = require_role(session, actor, TEAM_LEADS[team], f"name signers for {team}")
    member = session.get(Person, person_id)
    if member is None or not member.active or member.role not in TEAMS[team]:
        raise IcploopError(
            f"{person_id} is not an active member of {team}",
            f"{team} is made of the roles {', '.join(TEAMS[team])}",
        )
    if any(s.person_id == person_id for s in signers(session, team)):
        return
    session.add(TeamSigner(team=team, person_id=person_id, named_by=lead.person_id, named_at=now))
    audit(session, actor=actor, action="icp.signer_named", object_type="team", object_id=team,
          at=now, details={"person_id": person_id})  # fmt: skip


def unname_signer(
    session: Session, team: str, person_id: str, actor: str, now: dt.datetime
) -> None:
    """The team's lead (or an admin) takes back a signer's naming."""
    _team(team)
    require_role(session, actor, TEAM_LEADS[team], f"name signers for {team}")
    for row in signers(session, team):
        if row.person_id == person_id:
            session.delete(row)
            audit(session, actor=actor, action="icp.signer_unnamed", object_type="team",
                  object_id=team, at=now, details={"person_id": person_id})  # fmt: skip
            return
    raise IcploopError(f"{person_id} is not named to sign for {team}")


def approve(
    session: Session, number: int, actor: str, now: dt.datetime, comment: str = ""
) -> Signoff:
    """Record the approval of ``actor``'s team (it replaces the team's earlier objection);
    only the team's lead or a person the lead named approves for the team."""
    record = _draft(session, number)
    person, team, standing = _signer(session, actor, "approve ICP versions")
    if standing == "member":
        leads = " or ".join(TEAM_LEADS[team])
        raise IcploopError(
            f"{actor} may not approve for {team}: a team's approval is given by its lead "
            f"({leads}) or by a person the lead names",
            "object to a line with a comment instead, or ask the lead "
            f"(icploop icp signers {team} --name {actor} --as LEAD)",
        )
    row = Signoff(role=team, person_id=person, decision="approve", comment=comment or None,
                  created_at=now, standing=standing)  # fmt: skip
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
    person, team, standing = _signer(session, actor, "object to ICP versions")
    lines = criteria_of(IcpContent.model_validate(record.content))
    if criterion not in lines:
        raise IcploopError(
            f"version {number} says nothing like {criterion!r}",
            "object to one of: " + "; ".join(lines) if lines else "the version is empty",
        )
    if not comment.strip():
        raise IcploopError("an objection needs a comment", "say what is wrong with the criterion")
    row = Signoff(role=team, person_id=person, decision="object", criterion=criterion,
                  comment=comment.strip(), created_at=now, standing=standing)  # fmt: skip
    record.signoffs.append(row)
    session.flush()
    audit(session, actor=actor, action="icp.object", object_type="icp_version", object_id=number,
          at=now, details={"team": team, "criterion": criterion, "comment": comment,
                           "standing": standing})  # fmt: skip
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


def check_publishable(
    record: IcpVersionRecord, override: str | None, role: str = "revops"
) -> Readiness:
    """Raise unless every required team approved, or an override is allowed: a reason of at
    least :data:`MIN_OVERRIDE` characters, and (when no team approved at all) an admin
    (``role`` is the publisher's)."""
    state = readiness(record)
    if state.ready:
        return state
    reason = (override or "").strip()
    if not reason:
        raise IcploopError(
            f"ICP version {record.number} still needs the approval of {', '.join(state.missing)}",
            "record it with `icploop icp approve`, or publish with --override REASON",
        )
    if len(reason) < MIN_OVERRIDE:
        raise IcploopError(
            f"an override needs a reason of at least {MIN_OVERRIDE} characters",
            "say why this cannot wait for " + ", ".join(state.missing),
        )
    approved = [t for t in state.required if state.latest.get(t) == "approve"]
    if not approved and role != "admin":
        raise IcploopError(
            f"no team approved ICP version {record.number}: only an admin may publish it over "
            "every team's head",
            "ask the teams to sign off, or an admin to publish with --override",
        )
    return state

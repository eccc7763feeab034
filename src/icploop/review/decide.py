"""Storing a review, recording decisions on its proposals, and drafting the ICP version.

Only RevOps (or an admin) decides; every decision is audit-logged with who and when. Accepted
proposals (with an edited payload when one was given) are added to the content of the latest
published ICP version to make a new draft version that records the review it came from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from icploop.errors import IcploopError
from icploop.icp.document import IcpContent, ScoringChange
from icploop.icp.versions import (
    PUBLISHERS,
    create_draft,
    list_versions,
    require_role,
    stored_content,
)
from icploop.rules import Kind, Rule, check_rules
from icploop.store.audit import audit
from icploop.store.models import IcpVersionRecord, Proposal, Review

DECISIONS = ("accept", "edit", "reject")


def store_review(session: Session, pack: dict[str, Any], built_by: str, now: dt.datetime) -> Review:
    """Store a built pack as a ``Review`` with one ``Proposal`` per drafted decision, and write
    the review and proposal ids back into ``pack`` (so the rendered files can cite them).

    Building a quarter again replaces its latest review while nobody has decided anything on it
    (same review id, fresh proposals); once a decision is recorded, a new build is a new review
    and the decided one stays as it was."""
    review = _undecided_review(session, pack["quarter"])
    if review is None:
        review = Review(quarter=pack["quarter"], evidence={}, status="open")
        session.add(review)
    else:
        for stale in list(review.proposals):
            review.proposals.remove(stale)
            session.delete(stale)
        session.flush()
    review.as_of = dt.date.fromisoformat(pack["as_of"])
    review.built_by, review.built_at = built_by, now
    for item in pack["proposals"]["items"]:
        review.proposals.append(
            Proposal(
                kind=item["kind"],
                title=item["title"],
                payload=item["payload"],
                evidence={**item["evidence"], "sentence": item["sentence"]},
            )
        )
    session.flush()
    pack["review_id"] = review.id
    for item, row in zip(pack["proposals"]["items"], review.proposals, strict=True):
        item["id"] = row.id
    review.evidence = pack
    audit(session, actor=built_by, action="review.build", object_type="review",
          object_id=review.id, at=now, details={"quarter": review.quarter,
          "proposals": [p.id for p in review.proposals]})  # fmt: skip
    return review


def _undecided_review(session: Session, quarter: str) -> Review | None:
    latest = session.scalars(
        select(Review)
        .where(Review.quarter == quarter)
        .order_by(Review.id.desc())
        .options(selectinload(Review.proposals))
        .limit(1)
    ).one_or_none()
    if latest is None or any(p.decision != "pending" for p in latest.proposals):
        return None
    return latest


def list_reviews(session: Session, limit: int = 100) -> list[Review]:
    """The latest ``limit`` reviews, newest first."""
    return list(session.scalars(select(Review).order_by(Review.id.desc()).limit(limit)))


def get_review(session: Session, review_id: int | None = None) -> Review:
    """Review ``review_id``, or the latest one; an IcploopError when there is none."""
    query = select(Review).options(selectinload(Review.proposals))
    if review_id is None:
        query = query.order_by(Review.id.desc()).limit(1)
    else:
        query = query.where(Review.id == review_id)
    review = session.scalars(query).one_or_none()
    if review is None:
        raise IcploopError(
            "no such review" if review_id else "no review has been built yet",
            "build one with `icploop review build`",
        )
    return review


def check_payload(
    kind: str, payload: dict[str, Any], kinds: Mapping[str, Kind] | None = None
) -> None:
    """Raise an IcploopError unless ``payload`` is a valid payload for a proposal of ``kind``
    whose rule, when it has one, the accounts can judge (``kinds``: the accounts' attributes,
    :func:`icploop.icp.document.account_kinds`)."""
    try:
        rule = None
        if kind in ("criterion", "do_not_close"):
            rule = Rule.model_validate(payload["rule"])
        elif kind == "lead_scoring":
            rule = Rule.model_validate(payload["rule"])
            ScoringChange(rule=rule, points=int(payload["points"]))
        elif not str(payload.get("text", "")).strip():
            raise KeyError("text")
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise IcploopError(
            f"the edited {kind} proposal is not valid: {exc}",
            "criterion/do_not_close need rule: {attribute, op, value}; lead_scoring also "
            "points; qualification needs text",
        ) from exc
    if rule is not None and kinds is not None:
        check_rules([rule], kinds, f"the edited {kind} proposal")


def decide(
    session: Session,
    review_id: int,
    actor: str,
    now: dt.datetime,
    accept: tuple[int, ...] = (),
    reject: tuple[int, ...] = (),
    edits: dict[int, dict[str, Any]] | None = None,
    comment: str = "",
    kinds: Mapping[str, Kind] | None = None,
) -> Review:
    """Record decisions on a review's proposals (RevOps or admin only): ``accept`` and
    ``reject`` list proposal ids; ``edits`` maps a proposal id to its new payload (an edit is
    an acceptance of the edited version), its rule checked against ``kinds`` (the accounts'
    attributes; surfaces always pass them). A proposal may be decided once."""
    require_role(session, actor, PUBLISHERS, "decide review proposals")
    review = get_review(session, review_id)
    edits = edits or {}
    chosen = [*accept, *reject, *edits]
    if len(set(chosen)) != len(chosen):
        raise IcploopError("a proposal was given more than one decision", "list each id once")
    by_id = {p.id: p for p in review.proposals}
    unknown = [i for i in chosen if i not in by_id]
    if unknown:
        raise IcploopError(
            f"review {review_id} has no proposal {', '.join(map(str, unknown))}",
            f"its proposals are {', '.join(map(str, by_id)) or 'none'}",
        )
    for pid in chosen:
        if by_id[pid].decision != "pending":
            raise IcploopError(f"proposal {pid} was already decided ({by_id[pid].decision})")
    for pid, payload in edits.items():
        check_payload(by_id[pid].kind, payload, kinds)
    for pid in chosen:
        proposal = by_id[pid]
        decision = "edit" if pid in edits else ("accept" if pid in accept else "reject")
        proposal.decision = {"accept": "accepted", "edit": "edited", "reject": "rejected"}[decision]
        proposal.edited_payload = edits.get(pid)
        proposal.decided_by, proposal.decided_at = actor, now
        proposal.comment = comment or None
        audit(session, actor=actor, action=f"review.{decision}", object_type="review_proposal",
              object_id=pid, at=now, details={"review_id": review_id, "payload": edits.get(pid)})  # fmt: skip
    if all(p.decision != "pending" for p in review.proposals):
        review.status = "decided"
    return review


def draft_content(base: IcpContent, review: Review) -> IcpContent:
    """``base`` plus the review's accepted (and edited) proposals; rules already present are not
    added twice."""
    criteria, dnc = list(base.criteria), list(base.do_not_close)
    scoring, qualification = list(base.lead_scoring), list(base.qualification)
    taken = []
    for p in review.proposals:
        if p.decision not in ("accepted", "edited"):
            continue
        payload = p.edited_payload if p.decision == "edited" and p.edited_payload else p.payload
        taken.append(p.title)
        if p.kind in ("criterion", "do_not_close"):
            rule = Rule.model_validate(payload["rule"])
            target = criteria if p.kind == "criterion" else dnc
            if rule.describe() not in {r.describe() for r in target}:
                target.append(rule)
        elif p.kind == "lead_scoring":
            scoring.append(ScoringChange(rule=Rule.model_validate(payload["rule"]),
                                         points=int(payload["points"]), rationale=p.title))  # fmt: skip
        elif payload["text"] not in qualification:
            qualification.append(str(payload["text"]))
    changelog = f"From the {review.quarter} ICP review (#{review.id}): " + "; ".join(taken)
    return IcpContent(criteria=tuple(criteria), do_not_close=tuple(dnc),
                      lead_scoring=tuple(scoring), qualification=tuple(qualification),
                      changelog=changelog)  # fmt: skip


def draft_version(
    session: Session, review_id: int, actor: str, now: dt.datetime
) -> IcpVersionRecord:
    """The draft ICP version of a review: the latest published version's content plus the
    review's accepted changes (an empty base when nothing is published yet).

    Deciding a review in several sittings keeps one draft: when the review already has a draft
    that is not yet published, its content is brought up to date instead of adding another.
    Raises when nothing was accepted."""
    review = get_review(session, review_id)
    if not any(p.decision in ("accepted", "edited") for p in review.proposals):
        raise IcploopError(f"review {review_id} has no accepted proposal: nothing to draft")
    versions = list_versions(session)
    published = [v for v in versions if v.status == "published"]
    base = stored_content(published[0])[0] if published else IcpContent()
    content = draft_content(base, review)
    open_draft = next(
        (v for v in versions if v.status == "draft" and v.review_id == review.id), None
    )
    if open_draft is None:
        return create_draft(session, content, actor, now, review_id=review.id)
    require_role(session, actor, PUBLISHERS, "draft ICP versions")
    open_draft.content = content.model_dump(mode="json")
    audit(session, actor=actor, action="icp.redraft", object_type="icp_version",
          object_id=open_draft.number, at=now, details={"review_id": review.id})  # fmt: skip
    return open_draft

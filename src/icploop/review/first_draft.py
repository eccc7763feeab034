"""The draft ICP offered when none is in force.

Until a person publishes an ICP version, tags judge the ICP match by the documented fallback
(the fit configuration's ``icp_criteria``, none by default). So that nobody is judged against
nothing without being told, the tagging run (``icploop fit run``, ``icploop run``) drafts a
version from the evidence: the criteria and do-not-close rules the quarterly review would
propose (:func:`icploop.review.proposals.draft_proposals`: the segment findings and the one
threshold scan), as of the run's day. It is stored as a *draft* for a person to publish, never
published, and drafted once: while any draft is open, it is named instead. When the evidence
supports no rule, nothing is drafted and the run says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from icploop.errors import IcploopError
from icploop.icp.document import IcpContent
from icploop.icp.in_force import published_periods
from icploop.icp.versions import list_versions, offer_draft
from icploop.review.proposals import draft_proposals
from icploop.rules import Rule
from icploop.segments.frames import account_frame
from icploop.segments.outcomes import attribute_catalog
from icploop.warehouse import Warehouse

#: the name the offered draft is stored under (who drafted it)
DRAFTED_BY = "icploop (from the evidence)"


@dataclass(frozen=True)
class DraftOffer:
    """What the run did about the missing ICP: ``version`` the draft it drafted (``created``)
    or found open, else ``None`` with ``reason`` why the evidence supports no rule."""

    version: int | None
    created: bool
    rules: tuple[str, ...]
    reason: str = ""

    def line(self) -> str:
        """The one line the run prints."""
        if self.version is None:
            return (
                f"No ICP is in force, and the evidence supports no rule yet ({self.reason}); "
                "tags use the fit configuration's default criteria."
            )
        publish = f"Publish it with `icploop icp publish {self.version}`."
        said = "; ".join(self.rules) or "no rule"
        if self.created:
            return (
                f"No ICP is in force; drafted version {self.version} from the evidence: "
                f"{said}. {publish}"
            )
        return f"No ICP is in force; draft version {self.version} waits: {said}. {publish}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "created": self.created,
            "rules": list(self.rules),
            "reason": self.reason or None,
        }


def _said(content: IcpContent) -> tuple[str, ...]:
    return (
        *(r.describe() for r in content.criteria),
        *(f"do not close {r.describe()}" for r in content.do_not_close),
    )


def open_draft(session: Session) -> DraftOffer | None:
    """The newest draft waiting to be published, if any (read only)."""
    for record in list_versions(session):
        if record.status == "draft":
            try:
                content = IcpContent.model_validate(record.content)
            except ValueError:
                content = IcpContent()
            return DraftOffer(record.number, False, _said(content))
    return None


def evidence_content(backend: Any, day: dt.date) -> tuple[IcpContent, str]:
    """The criteria and do-not-close rules the evidence as of ``day`` supports, and when it
    supports none, why."""
    try:
        frame = account_frame(backend, day)
    except IcploopError as exc:
        return IcpContent(), exc.message
    catalog = attribute_catalog(Warehouse(backend).tables, frame, ("first_year_churn",))
    drafted, summary = draft_proposals(frame, None, catalog)
    rules = {
        kind: tuple(Rule.model_validate(d.payload["rule"]) for d in drafted if d.kind == kind)
        for kind in ("criterion", "do_not_close")
    }
    if not rules["criterion"] and not rules["do_not_close"]:
        caveats = summary.get("caveats") or []
        tested = summary.get("segments_tested")
        reason = caveats[0] if caveats and tested is None else (
            f"no segment or threshold of {summary['accounts']:,} accounts differs significantly "
            "on first-year churn"
        )  # fmt: skip
        return IcpContent(), reason
    changelog = (
        f"Drafted from the evidence as of {day} (first-year churn of {summary['accounts']:,} "
        "accounts: segment search and threshold scan) because no ICP was in force."
    )
    return IcpContent(
        criteria=rules["criterion"], do_not_close=rules["do_not_close"], changelog=changelog
    ), ""


def offer(backend: Any, session: Session, day: dt.date, now: dt.datetime) -> DraftOffer | None:
    """None once an ICP version has been published; else the open draft, or a new draft from
    the evidence as of ``day`` (stored in ``session``), or why there is none (see the module)."""
    if published_periods(session):
        return None
    waiting = open_draft(session)
    if waiting is not None:
        return waiting
    content, reason = evidence_content(backend, day)
    if reason:
        return DraftOffer(None, False, (), reason)
    record = offer_draft(session, content, DRAFTED_BY, now)
    return DraftOffer(record.number, True, _said(content))

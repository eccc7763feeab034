"""What the pack reads from the app store: the quarter's fit tags and the previous review.

The loop closes here: the previous review's decisions and whether the ICP version they produced
was published, circulated, confirmed by Marketing and acknowledged by CS open the pack.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from icploop.ingest.schema import FIT_TAGS
from icploop.review.quarters import Quarter
from icploop.store.fit_tags import list_current
from icploop.store.models import IcpVersionRecord, Review


def fit_tag_mix(session: Session, accounts: pd.DataFrame, quarter: Quarter) -> dict[str, Any]:
    """Counts and shares of each fit tag by account segment.

    The tags recorded in the quarter (tag ``as_of`` within it) when there are any; otherwise the
    tags in force of accounts whose deal closed in the quarter before (``basis`` says which), since
    a tagging run can come after the quarter it judges. Accounts without a segment count as
    ``unknown``. ``rows``: ``segment``, ``n``, one count per tag and ``<tag>_share`` (fractions).
    """
    tags = list_current(session)
    in_quarter = [t for t in tags if quarter.start <= t.as_of <= quarter.end]
    basis = f"accounts tagged in {quarter.label}"
    if not in_quarter:
        before = quarter.shift(-1)
        in_quarter = [
            t for t in tags if t.close_date and before.start <= t.close_date <= before.end
        ]
        basis = f"current tags of accounts closed in {before.label} (none were tagged in {quarter})"
    segment_of = dict(
        zip(accounts["account_id"], accounts["segment"].fillna("unknown"), strict=True)
    )
    counts: dict[str, Counter[str]] = {}
    for tag in in_quarter:
        counts.setdefault(str(segment_of.get(tag.account_id, "unknown")), Counter())[tag.tag] += 1
    rows = []
    for segment in sorted(counts):
        c = counts[segment]
        n = sum(c.values())
        rows.append(
            {
                "segment": segment,
                "n": n,
                **{tag: c.get(tag, 0) for tag in FIT_TAGS},
                **{f"{tag}_share": c.get(tag, 0) / n for tag in FIT_TAGS},
            }
        )
    total = Counter(t.tag for t in in_quarter)
    return {
        "basis": basis,
        "n": len(in_quarter),
        "overall": {tag: total.get(tag, 0) for tag in FIT_TAGS},
        "rows": rows,
    }


def previous_review(session: Session, quarter: Quarter, as_of: dt.date) -> dict[str, Any] | None:
    """The latest stored review of an earlier quarter: its decisions and the implementation
    status of the ICP version drafted from it (steps done, open or overdue on ``as_of``).
    None when this is the first review."""
    review = session.scalars(
        select(Review)
        .where(Review.quarter < quarter.label)
        .order_by(Review.quarter.desc(), Review.id.desc())
        .options(selectinload(Review.proposals))
        .limit(1)
    ).one_or_none()
    if review is None:
        return None
    version = session.scalars(
        select(IcpVersionRecord)
        .where(IcpVersionRecord.review_id == review.id)
        .order_by(IcpVersionRecord.number.desc())
        .options(selectinload(IcpVersionRecord.steps))
        .limit(1)
    ).one_or_none()
    implementation: dict[str, Any] | None = None
    if version is not None:
        implementation = {
            "version": version.number,
            "status": version.status,
            "published_at": version.effective_date.isoformat() if version.effective_date else None,
            "steps": [
                {
                    "step": s.step,
                    "due": s.due_date.isoformat(),
                    "done_by": s.done_by,
                    "done_at": s.done_at.date().isoformat() if s.done_at else None,
                    "state": "done" if s.done_at else ("overdue" if s.due_date < as_of else "open"),
                }
                for s in version.steps
            ],
        }
    return {
        "review_id": review.id,
        "quarter": review.quarter,
        "decisions": [
            {
                "id": p.id,
                "kind": p.kind,
                "title": p.title,
                "decision": p.decision,
                "decided_by": p.decided_by,
            }
            for p in review.proposals
        ],
        "implementation": implementation,
    }

"""Decisions: stored with who and when, RevOps only, accepted ones become a draft ICP version."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from icploop.errors import IcploopError
from icploop.icp.document import IcpContent
from icploop.review.decide import decide, draft_version, get_review, store_review
from icploop.review.pack import build_pack, resolve_quarter
from icploop.store.database import utcnow
from icploop.store.models import AuditEvent, Proposal

from .conftest import open_workspace


def _stored(demo_5000: dict[str, Any], tmp_path: Any) -> tuple[Any, int, list[Any]]:
    backend, factory = open_workspace(demo_5000["warehouse"], tmp_path / "ws")
    with factory() as session, session.begin():
        pack = build_pack(backend, session, resolve_quarter(backend, None))
        review = store_review(session, pack, "revops.lead@example.test", utcnow())
        assert [p["id"] for p in pack["proposals"]["items"]] == [p.id for p in review.proposals]
        return factory, review.id, list(review.proposals)


def test_a_draft_version_holds_exactly_the_accepted_and_edited_changes(
    demo_5000: dict[str, Any], tmp_path: Any
) -> None:
    factory, review_id, proposals = _stored(demo_5000, tmp_path)
    by_kind = {p.kind: p for p in reversed(proposals)}
    criterion, dnc, lead = by_kind["criterion"], by_kind["do_not_close"], by_kind["lead_scoring"]
    edited = {"rule": {"attribute": "seats_at_close", "op": ">=", "value": 75}}
    rejected = [p.id for p in proposals if p.id not in (criterion.id, dnc.id, lead.id)]
    with factory() as session, session.begin():
        decide(session, review_id, "revops.lead@example.test", utcnow(), accept=(dnc.id, lead.id),
               reject=tuple(rejected), edits={criterion.id: edited})  # fmt: skip
        record = draft_version(session, review_id, "revops.lead@example.test", utcnow())
        assert get_review(session, review_id).status == "decided"
        actions = session.scalars(select(AuditEvent.action)).all()
    content = IcpContent.model_validate(record.content)
    assert record.status == "draft" and record.review_id == review_id
    assert [r.describe() for r in content.criteria] == ["seats_at_close >= 75"]
    assert [r.describe() for r in content.do_not_close] == [
        dnc.payload["rule"]["attribute"] + " == " + dnc.payload["rule"]["value"]
    ]
    assert [s.rule.describe() for s in content.lead_scoring] == [
        lead.payload["rule"]["attribute"] + " == " + lead.payload["rule"]["value"]
    ]
    assert content.qualification == ()
    assert {"review.build", "review.accept", "review.edit", "review.reject", "icp.draft"} <= set(
        actions
    )


def test_someone_outside_revops_cannot_decide(demo_5000: dict[str, Any], tmp_path: Any) -> None:
    factory, review_id, proposals = _stored(demo_5000, tmp_path)
    with factory() as session, pytest.raises(IcploopError, match="may not decide"):
        decide(session, review_id, "csm.one@example.test", utcnow(), accept=(proposals[0].id,))
    with factory() as session:
        assert all(p.decision == "pending" for p in get_review(session, review_id).proposals)


def test_an_invalid_edit_is_refused_with_what_to_write(
    demo_5000: dict[str, Any], tmp_path: Any
) -> None:
    factory, review_id, proposals = _stored(demo_5000, tmp_path)
    criterion = next(p for p in proposals if p.kind == "criterion")
    with factory() as session, pytest.raises(IcploopError, match="not valid"):
        decide(session, review_id, "revops.lead@example.test", utcnow(),
               edits={criterion.id: {"rule": {"attribute": "seats_at_close", "op": "~"}}})  # fmt: skip


def test_building_a_quarter_again_replaces_its_undecided_review_only(
    demo_5000: dict[str, Any], tmp_path: Any
) -> None:
    factory, review_id, proposals = _stored(demo_5000, tmp_path)
    backend, _ = open_workspace(demo_5000["warehouse"], tmp_path / "again")
    quarter = resolve_quarter(backend, None)
    with factory() as session, session.begin():
        pack = build_pack(backend, session, quarter)
        again = store_review(session, pack, "revops.lead@example.test", utcnow())
        assert again.id == review_id
        assert len(again.proposals) == len(proposals)
        assert session.scalar(select(func.count()).select_from(Proposal)) == len(proposals)
        decide(session, review_id, "revops.lead@example.test", utcnow(),
               accept=(again.proposals[0].id,))  # fmt: skip
    with factory() as session, session.begin():
        third = store_review(
            session, build_pack(backend, session, quarter), "revops.lead@example.test", utcnow()
        )
        assert third.id != review_id
        assert get_review(session, review_id).proposals[0].decision == "accepted"

"""Flag records: the spec's format, evidence rules, sending, and the audit trail."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from icploop.errors import IcploopError
from icploop.flags.drafts import draft_flag
from icploop.flags.records import create_flag, edit_evidence, format_flag, send_flag
from icploop.flags.routing import RoutingRules
from icploop.store.models import AuditEvent, Delivery, FitSignal, FitTag, Flag

from .conftest import NOW

EVIDENCE = "Seats at close 12 against an ICP floor of 75. No usage of the committed use case."


def make_flag(
    session: Session, *, tag: bool = True, actor: str = "csm.one", account_id: str = "ACC-7"
) -> Flag:
    tag_id = None
    if tag:
        fit_tag = FitTag(
            account_id=account_id,
            tag="bad_fit",
            computed_tag="bad_fit",
            method="computed",
            as_of=dt.date(2026, 10, 31),
            created_by="fit-run",
            created_at=NOW,
        )
        session.add(fit_tag)
        session.flush()
        tag_id = fit_tag.id
    return create_flag(
        session,
        account_id=account_id,
        fit_issue="icp_mismatch",
        evidence=EVIDENCE,
        fit_tag_id=tag_id,
        ae="ae.one",
        csm="csm.one",
        links={
            "usage": "https://icploop.example/accounts/ACC-7/usage",
            "fit tag": "https://icploop.example/accounts/ACC-7/fit",
        },
        actor=actor,
        now=NOW,
    )


def test_a_flag_reads_exactly_in_the_spec_format(session: Session) -> None:
    flag = make_flag(session)
    assert format_flag(flag) == (
        "Flag: ACC-7 | fit issue: ICP mismatch | evidence: Seats at close 12 against an ICP "
        "floor of 75. No usage of the committed use case.\n"
        f"Fit tag: bad_fit (tag #{flag.fit_tag_id})\n"
        "AE: ae.one\n"
        "CSM: csm.one\n"
        "Links: fit tag: https://icploop.example/accounts/ACC-7/fit; "
        "usage: https://icploop.example/accounts/ACC-7/usage"
    )


def test_a_flag_from_a_csm_judgement_has_no_tag(session: Session) -> None:
    flag = make_flag(session, tag=False)
    assert "\nFit tag: none (CSM judgement)\n" in format_flag(flag)


def test_evidence_is_one_line_and_neither_empty_nor_longer_than_500_characters(
    session: Session,
) -> None:
    flag = make_flag(session)
    assert edit_evidence(session, flag.id, "  Seats 12.\n  Floor 75. ", "csm.one").evidence == (
        "Seats 12. Floor 75."
    )
    with pytest.raises(IcploopError, match="needs evidence"):
        edit_evidence(session, flag.id, " \n ", "csm.one")
    with pytest.raises(IcploopError, match="at most 500"):
        edit_evidence(session, flag.id, "x" * 501, "csm.one")


def test_an_unknown_fit_issue_is_refused(session: Session) -> None:
    with pytest.raises(IcploopError, match="use_case_mismatch, icp_mismatch"):
        create_flag(
            session,
            account_id="A",
            fit_issue="vibes",
            evidence="e.",
            fit_tag_id=None,
            ae=None,
            csm=None,
            links=None,
            actor="csm.one",
        )


def test_evidence_is_editable_while_draft_and_frozen_once_sent(session: Session) -> None:
    flag = make_flag(session)
    edit_evidence(session, flag.id, "Seats 12 against a floor of 75.", "csm.one", now=NOW)
    send_flag(session, flag.id, "csm.one", RoutingRules(), NOW)
    with pytest.raises(IcploopError, match="was sent"):
        edit_evidence(session, flag.id, "Changed my mind.", "csm.one")
    assert session.get(Flag, flag.id).evidence == "Seats 12 against a floor of 75."  # type: ignore[union-attr]
    with pytest.raises(IcploopError, match="already sent"):
        send_flag(session, flag.id, "csm.one", RoutingRules(), NOW)


def test_sending_marks_the_flag_sent_and_enqueues_one_delivery_per_recipient_and_channel(
    session: Session,
) -> None:
    flag = make_flag(session)
    result = send_flag(session, flag.id, "csm.one", RoutingRules(), NOW)
    session.commit()
    assert flag.status == "sent" and flag.sent_at is not None
    # SQLite hands timestamps back without their zone (the store writes UTC only)
    assert flag.sent_at.replace(tzinfo=dt.UTC) == NOW
    rows = session.scalars(select(Delivery).order_by(Delivery.id)).all()
    assert {(d.recipient, d.channel) for d in rows} == {
        ("channel:#icp-signals", "webhook"),
        ("ae.one", "email"),
        ("ae.one", "crm_csv"),
        ("revops.lead", "email"),
        ("cs.lead", "email"),
    }
    assert all(d.status == "pending" and d.attempts == 0 for d in rows)
    assert rows[0].payload["text"] == format_flag(flag)
    assert result.warnings == []


def test_every_change_to_a_flag_is_in_the_audit_log(session: Session) -> None:
    flag = make_flag(session)
    edit_evidence(session, flag.id, "Seats 12.", "csm.lead", now=NOW)
    send_flag(session, flag.id, "csm.one", RoutingRules(), NOW)
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "flag").order_by(AuditEvent.id)
    ).all()
    assert [(e.actor, e.action, e.object_id) for e in events] == [
        ("csm.one", "flag.created", str(flag.id)),
        ("csm.lead", "flag.evidence_edited", str(flag.id)),
        ("csm.one", "flag.sent", str(flag.id)),
    ]
    assert events[1].details["after"] == "Seats 12."


def test_a_flag_drafted_from_a_tag_takes_its_issue_and_evidence_from_the_signals(
    session: Session,
) -> None:
    tag = FitTag(
        account_id="ACC-9",
        tag="bad_fit",
        computed_tag="bad_fit",
        method="computed",
        as_of=dt.date(2026, 10, 31),
        created_by="fit-run",
        created_at=NOW,
        signals=[
            FitSignal(
                name="icp_segment_match",
                computed_value="bad",
                value="bad",
                evidence={"criteria_missed": "seats_at_close >= 75"},
            ),
            FitSignal(
                name="champion_stability",
                computed_value="strong",
                value="bad",
                overridden_by="csm.one",
                override_reason="champion resigned last week",
            ),
        ],
    )
    session.add(tag)
    session.flush()
    flag = draft_flag(session, tag.id, ae="ae.one", csm="csm.one", links=None, actor="csm.one")
    assert (flag.status, flag.fit_issue, flag.fit_tag_id) == ("draft", "icp_mismatch", tag.id)
    assert flag.evidence == (
        "Misses ICP criteria: seats_at_close >= 75. The champion at close has left."
    )

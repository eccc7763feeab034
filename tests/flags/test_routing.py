"""Routing a flag to the closing AE, the RevOps lead and the CSM's manager, from the org."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from icploop.errors import IcploopError
from icploop.flags.routing import RoutingRules, load_routing, resolve_recipients
from icploop.store.models import Flag, Person

from .conftest import NOW


def _flag(ae: str | None = "ae.one", csm: str | None = "csm.one") -> Flag:
    return Flag(
        account_id="ACC-1",
        fit_issue="icp_mismatch",
        evidence="x.",
        ae=ae,
        csm=csm,
        created_by="csm.one",
        created_at=NOW,
    )


def test_a_flag_goes_to_the_ae_the_revops_lead_the_csm_manager_and_the_channel(
    session: Session,
) -> None:
    resolution = resolve_recipients(session, _flag(), RoutingRules())
    targets = {(r.recipient, r.role, r.channel) for r in resolution.recipients}
    assert targets == {
        ("channel:#icp-signals", "channel", "webhook"),
        ("ae.one", "ae", "email"),
        ("ae.one", "ae", "crm_csv"),
        ("revops.lead", "revops", "email"),
        ("cs.lead", "cs_manager", "email"),
    }
    assert resolution.warnings == []
    emails = {r.recipient: r.email for r in resolution.recipients if r.channel == "email"}
    assert emails["cs.lead"] == "cs.lead@example.org"


def test_a_csm_without_a_manager_falls_back_to_the_cs_manager_role(session: Session) -> None:
    resolution = resolve_recipients(session, _flag(csm="csm.two"), RoutingRules())
    assert ("cs.lead", "cs_manager") in {(r.recipient, r.role) for r in resolution.recipients}


def test_a_missing_manager_is_reported_not_silently_dropped(session: Session) -> None:
    session.get(Person, "cs.lead").active = False  # type: ignore[union-attr]
    resolution = resolve_recipients(session, _flag(csm="csm.one"), RoutingRules())
    assert "cs_manager" not in {r.role for r in resolution.recipients}
    assert any("manager 'cs.lead'" in w for w in resolution.warnings)
    assert any("no CS manager for CSM 'csm.one'" in w for w in resolution.warnings)


def test_a_flag_without_an_ae_and_a_person_without_email_are_reported(session: Session) -> None:
    session.get(Person, "revops.lead").email = None  # type: ignore[union-attr]
    resolution = resolve_recipients(session, _flag(ae=None), RoutingRules())
    assert "no closing AE on the flag" in resolution.warnings
    assert "no email address for revops 'revops.lead'; no email sent" in resolution.warnings


def test_a_configured_revops_lead_wins_over_the_role(session: Session) -> None:
    session.add(Person(person_id="revops.aa", role="revops", email="a@example.org", created_at=NOW))
    session.flush()
    assert "revops.aa" in {
        r.recipient for r in resolve_recipients(session, _flag(), RoutingRules()).recipients
    }
    rules = RoutingRules(revops_lead="revops.lead")
    recipients = {r.recipient for r in resolve_recipients(session, _flag(), rules).recipients}
    assert "revops.lead" in recipients and "revops.aa" not in recipients


def test_routing_rules_load_from_yaml_and_reject_unknown_channels(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text("webhook_channel: null\nchannels:\n  ae: [crm_csv]\n", encoding="utf-8")
    rules = load_routing(path)
    assert rules.webhook_channel is None and rules.channels == {"ae": ["crm_csv"]}
    assert load_routing(None) == RoutingRules()
    path.write_text("channels:\n  ae: [pigeon]\n", encoding="utf-8")
    with pytest.raises(IcploopError, match="pigeon"):
        load_routing(path)

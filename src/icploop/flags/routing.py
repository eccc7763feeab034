"""Routing rules: who receives a flag, and over which channels.

Each flag goes to three people, resolved from the people synced from ``org``:

- the closing AE (``flag.ae``);
- the RevOps lead: ``revops_lead`` when configured, else the first active person with role
  ``revops`` (by person id, so the choice is stable);
- the CSM's manager: the ``manager_id`` of the flag's CSM, else the first active ``cs_manager``.

Plus, once per flag, a chat channel through the webhook (recipient ``channel:#icp-signals``), so
the channel message is one outbox row like any other. The default rules, as YAML::

    revops_lead: null            # a person_id, or the first active revops person
    webhook_channel: "#icp-signals"  # null sends nothing to chat
    channels:
      ae: [email, crm_csv]
      revops: [email]
      cs_manager: [email]

A recipient who cannot be resolved (no AE on the flag, nobody in RevOps, a CSM with no manager,
no email address for an email) is reported as a warning, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from icploop.safe_yaml import read_yaml, validate
from icploop.store.models import Flag, Person
from icploop.store.people import first_active

CHANNELS = ("webhook", "email", "crm_csv")
PERSON_ROLES = ("ae", "revops", "cs_manager")
CHANNEL_PREFIX = "channel:"


class RoutingRules(BaseModel):
    """Who gets a flag over which channel; every field has a documented default."""

    model_config = ConfigDict(extra="forbid")

    revops_lead: str | None = Field(
        default=None, description="person_id of the RevOps lead; default the first active revops"
    )
    webhook_channel: str | None = Field(
        default="#icp-signals", description="chat channel posted once per flag; null for none"
    )
    channels: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "ae": ["email", "crm_csv"],
            "revops": ["email"],
            "cs_manager": ["email"],
        },
        description="channels per recipient role (ae, revops, cs_manager)",
    )

    @field_validator("channels")
    @classmethod
    def _known_roles_and_channels(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for role, channels in value.items():
            if role not in PERSON_ROLES:
                raise ValueError(f"unknown recipient role {role!r}; use {', '.join(PERSON_ROLES)}")
            for channel in channels:
                if channel not in ("email", "crm_csv"):
                    raise ValueError(
                        f"channel {channel!r} for {role}: people get email or crm_csv; "
                        "the webhook posts once per flag (webhook_channel)"
                    )
        return value


def load_routing(path: Path | None) -> RoutingRules:
    """Routing rules from a YAML file, or the defaults when ``path`` is None."""
    if path is None:
        return RoutingRules()
    return validate(
        read_yaml(path, "routing rules"),
        RoutingRules,
        "routing rules",
        "see icploop.flags.routing for the fields and their defaults",
    )


@dataclass(frozen=True)
class Recipient:
    """One outbox target: a person id (or ``channel:<name>``), their role, and the channel."""

    recipient: str
    role: str
    channel: str
    email: str | None = None


@dataclass
class Resolution:
    """The recipients of one flag and what could not be resolved."""

    recipients: list[Recipient] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _active(session: Session, person_id: str | None) -> Person | None:
    if not person_id:
        return None
    person = session.get(Person, person_id)
    return person if person is not None and person.active else None


def _revops_lead(session: Session, rules: RoutingRules, warnings: list[str]) -> Person | None:
    if rules.revops_lead:
        lead = _active(session, rules.revops_lead)
        if lead is None:
            warnings.append(f"RevOps lead {rules.revops_lead!r} is not an active person")
        return lead
    lead = first_active(session, "revops")
    if lead is None:
        warnings.append("no RevOps lead: nobody active has the role revops")
    return lead


def _csm_manager(session: Session, flag: Flag, warnings: list[str]) -> Person | None:
    csm = _active(session, flag.csm) or (session.get(Person, flag.csm) if flag.csm else None)
    if csm is not None and csm.manager_id:
        manager = _active(session, csm.manager_id)
        if manager is not None:
            return manager
        warnings.append(
            f"the manager {csm.manager_id!r} of CSM {csm.person_id!r} is not an active person; "
            "falling back to the role cs_manager"
        )
    manager = first_active(session, "cs_manager")
    if manager is None:
        who = f"CSM {flag.csm!r}" if flag.csm else "the flag (no CSM)"
        warnings.append(f"no CS manager for {who}: no manager_id and nobody active is cs_manager")
    return manager


def resolve_recipients(session: Session, flag: Flag, rules: RoutingRules) -> Resolution:
    """Resolve a flag's recipients and channels from the people table and the rules."""
    result = Resolution()
    if rules.webhook_channel:
        result.recipients.append(
            Recipient(f"{CHANNEL_PREFIX}{rules.webhook_channel}", "channel", "webhook")
        )
    people: list[tuple[str, str, Person | None]] = []
    if flag.ae:
        ae = session.get(Person, flag.ae)
        if ae is None:
            result.warnings.append(f"the AE {flag.ae!r} is not in the people table")
        people.append(("ae", flag.ae, ae))
    else:
        result.warnings.append("no closing AE on the flag")
    revops = _revops_lead(session, rules, result.warnings)
    if revops is not None:
        people.append(("revops", revops.person_id, revops))
    manager = _csm_manager(session, flag, result.warnings)
    if manager is not None:
        people.append(("cs_manager", manager.person_id, manager))

    seen: set[tuple[str, str]] = set()
    for role, person_id, person in people:
        for channel in rules.channels.get(role, []):
            # one person in two roles (an AE who is also the manager) gets one message
            if (person_id, channel) in seen:
                continue
            email = person.email if person is not None else None
            if channel == "email" and not email:
                result.warnings.append(f"no email address for {role} {person_id!r}; no email sent")
                continue
            seen.add((person_id, channel))
            result.recipients.append(Recipient(person_id, role, channel, email))
    return result

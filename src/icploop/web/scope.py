"""What each person may see and touch beyond their role: their accounts, their team's flags.

A CSM tags and flags the accounts they own; a CS manager those of their team (the accounts whose
``cs_manager`` is them, or whose CSM reports to them); AEs see flags on the deals they own (a
sales manager, their team's); RevOps and Marketing see every flag.

A draft flag is the CSM's work in progress: it is seen by its author and the CSM's manager (who
coaches, per the loop's routing), and by admins, and by nobody else until it is sent. Once sent
it reaches the AE, RevOps and the CS manager, and the AE may add context to it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from icploop.store.models import Flag, Person
from icploop.web.errors import Forbidden

SEE_ALL_FLAGS = frozenset({"revops", "marketing", "admin"})  # sent flags (admins: drafts too)


def team(session: Session, manager_id: str) -> list[str]:
    """The people who report to ``manager_id``, and the manager."""
    reports = session.scalars(select(Person.person_id).where(Person.manager_id == manager_id))
    return [manager_id, *reports]


def flag_inbox(session: Session, person: Person) -> Select[Flag]:
    """The flags a person's inbox shows, newest first (drafts only to CS, see the module)."""
    query = select(Flag).order_by(Flag.id.desc())
    role = person.role
    sent = Flag.status != "draft"
    if role == "admin":
        return query
    if role in SEE_ALL_FLAGS:
        return query.where(sent)
    if role == "ae":
        return query.where(Flag.ae == person.person_id, sent)
    if role == "sales_manager":
        return query.where(Flag.ae.in_(team(session, person.person_id)), sent)
    if role == "csm":
        return query.where(or_(Flag.csm == person.person_id, Flag.created_by == person.person_id))
    if role == "cs_manager":
        return query.where(Flag.csm.in_(team(session, person.person_id)))
    return query.where(Flag.id < 0)  # an unknown role sees nothing


def may_see_flag(session: Session, person: Person, flag: Flag) -> bool:
    """Whether the flag is in the person's inbox."""
    query = flag_inbox(session, person).where(Flag.id == flag.id)
    return session.scalars(query).first() is not None


def owns_account(session: Session, person: Person, owners: dict[str, Any]) -> bool:
    """Whether a CS person may tag and flag an account with these owners (csm, cs_manager)."""
    if person.role == "admin":
        return True
    csm, manager = owners.get("csm"), owners.get("cs_manager")
    if person.role == "csm":
        return csm == person.person_id
    if person.role == "cs_manager":
        return manager == person.person_id or csm in team(session, person.person_id)
    return False


def require_owner(
    session: Session, person: Person, account_id: str, owners: dict[str, Any]
) -> None:
    """Refuse a CS person acting on an account that is not theirs (or their team's)."""
    if not owns_account(session, person, owners):
        raise Forbidden(
            f"account {account_id} is not one of your accounts",
            "a CSM tags and flags the accounts they own; a CS manager their team's",
        )

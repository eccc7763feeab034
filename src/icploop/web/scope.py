"""What each person may touch beyond their role: their accounts, their team's.

A CSM tags and flags the accounts they own; a CS manager those of their team (the accounts whose
``cs_manager`` is them, or whose CSM reports to them). Which flags each person sees is
:mod:`icploop.flags.inbox`.
"""

from __future__ import annotations

from typing import Any

from icploop.store import Session
from icploop.store.models import Person
from icploop.store.people import team
from icploop.web.errors import Forbidden


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

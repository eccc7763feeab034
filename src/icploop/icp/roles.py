"""Who may act on the ICP document: the acting person and the roles an action needs."""

from __future__ import annotations

from sqlalchemy.orm import Session

from icploop.errors import IcploopError
from icploop.store.models import Person

PUBLISHERS = ("revops",)


def require_role(session: Session, actor: str, roles: tuple[str, ...], doing: str) -> Person:
    """The acting person, if active and holding one of ``roles`` (admins may do anything)."""
    person = session.get(Person, actor)
    if person is None or not person.active:
        raise IcploopError(
            f"{actor!r} is not a known, active person",
            "load the org table or add the user first (icploop user add)",
        )
    if person.role not in (*roles, "admin"):
        raise IcploopError(
            f"{actor} ({person.role}) may not {doing}", f"this needs the role {' or '.join(roles)}"
        )
    return person


def require_owner_or_role(
    session: Session, actor: str, owner: str, roles: tuple[str, ...], doing: str
) -> Person:
    """The acting person, if active and either ``owner`` (who recorded the object) or holding
    one of ``roles`` (admins may do anything)."""
    person = session.get(Person, actor)
    if person is not None and person.active and person.person_id == owner:
        return person
    try:
        return require_role(session, actor, roles, doing)
    except IcploopError as exc:
        raise IcploopError(
            exc.message, f"only {owner} (who recorded it) or {' or '.join(roles)} may"
        ) from None

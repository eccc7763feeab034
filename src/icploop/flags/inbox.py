"""Which flags a person sees, and the lists of flags the CLI, the web pages and the API show.

A CSM sees the flags on the accounts they own and those they wrote; a CS manager, the flags on
their team's accounts; AEs see flags on the deals they own (a sales
manager, their team's); RevOps and Marketing see every sent flag. A draft flag is the CSM's work
in progress: it is seen by its author and the CSM's manager (who coaches, per the loop's
routing), and by admins, and by nobody else until it is sent. The command line, run by whoever
holds the workspace, sees every flag.
"""

from __future__ import annotations

from sqlalchemy import Select, case, or_, select
from sqlalchemy.orm import Session

from icploop.store.models import Flag, Person
from icploop.store.people import team

SEE_ALL_FLAGS = frozenset({"revops", "marketing", "admin"})  # sent flags (admins: drafts too)


def _visible(session: Session, person: Person | None) -> Select[Flag]:
    """The flags ``person`` sees (every flag for None), newest first."""
    query = select(Flag).order_by(Flag.id.desc())
    if person is None or person.role == "admin":
        return query
    role = person.role
    sent = Flag.status != "draft"
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


def flag_list(
    session: Session,
    person: Person | None = None,
    *,
    status: str | None = None,
    state: str | None = None,
    by_triage: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[Flag]:
    """The flags ``person`` sees (every flag for None), newest first.

    ``status`` keeps one status (draft, sent, recorded); ``state`` one triage state of the
    flags past draft. ``by_triage`` orders drafts first, then new, acknowledged and resolved
    flags, each by account and newest first. ``limit`` and ``offset`` cut a page."""
    query = _visible(session, person)
    if status:
        query = query.where(Flag.status == status)
    if state:
        query = query.where(Flag.state == state, Flag.status != "draft")
    if by_triage:
        rank = case({"new": 1, "acknowledged": 2, "resolved": 3}, value=Flag.state, else_=4)
        group = case((Flag.status == "draft", 0), else_=rank)
        query = query.order_by(None).order_by(group, Flag.account_id, Flag.id.desc())
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return list(session.scalars(query))


def may_see_flag(session: Session, person: Person, flag: Flag) -> bool:
    """Whether the flag is in the person's inbox."""
    query = _visible(session, person).where(Flag.id == flag.id)
    return session.scalars(query).first() is not None


def account_flags(session: Session, person: Person, account_id: str) -> list[Flag]:
    """The flags on one account that ``person`` sees, oldest first."""
    query = _visible(session, person).where(Flag.account_id == account_id)
    return list(session.scalars(query.order_by(None).order_by(Flag.id)))

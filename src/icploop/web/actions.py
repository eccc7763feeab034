"""The changes users make, shared by pages and the API: ownership checks, then the domain call.

Each function checks what the route guard cannot (is this account or flag theirs?) and calls
the same domain function the CLI calls; those functions write the audit log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from icploop.errors import IcploopError
from icploop.flags import create_flag, edit_evidence, load_routing, send_flag
from icploop.flags.inbox import may_see_flag
from icploop.flags.overrides import override_signal
from icploop.flags.records import SendResult
from icploop.flags.triage import set_flag_state
from icploop.icp import signoff, versions
from icploop.store import Session, fit_tags
from icploop.store.database import utcnow
from icploop.store.models import (
    FitTag,
    Flag,
    IcpVersionRecord,
    ImplementationStep,
    Person,
    WatchItem,
)
from icploop.web import queries
from icploop.web.errors import Forbidden, NotFound
from icploop.web.flag_notes import add_context
from icploop.web.permissions import step_roles
from icploop.web.scope import require_owner
from icploop.web.state import WebState


def account_owners(state: WebState, account_id: str) -> dict[str, Any]:
    """The account's attributes (NotFound when unknown)."""
    return state.analytics(lambda backend: queries.account(backend, account_id))


def override(
    state: WebState,
    session: Session,
    person: Person,
    account_id: str,
    signal: str,
    value: str,
    reason: str,
) -> FitTag:
    """A CS person overrides one signal of an account they own."""
    require_owner(session, person, account_id, account_owners(state, account_id))
    rule = state.fit_config().combination
    return override_signal(session, account_id, signal, value, reason, person.person_id, rule)


def quick_check(
    state: WebState,
    session: Session,
    person: Person,
    account_id: str,
    answers: tuple[bool, bool, bool],
) -> FitTag:
    """The three-question quick check on an account the person owns."""
    require_owner(session, person, account_id, account_owners(state, account_id))
    return fit_tags.quick_check(session, account_id, *answers, person.person_id)


def new_flag(
    state: WebState,
    session: Session,
    person: Person,
    account_id: str,
    fit_issue: str,
    evidence: str,
) -> Flag:
    """A draft flag on an account the person owns, with its current tag, AE and CSM."""
    owners = account_owners(state, account_id)
    require_owner(session, person, account_id, owners)
    tag_id = None
    try:
        tag_id = fit_tags.current_tag(session, account_id).id
    except Exception:  # an untagged account can still be flagged on a CSM's judgement
        tag_id = None
    return create_flag(
        session,
        account_id=account_id,
        fit_issue=fit_issue,
        evidence=evidence,
        fit_tag_id=tag_id,
        ae=owners.get("owner_ae"),
        csm=owners.get("csm"),
        links={"account": f"/accounts/{account_id}"},
        actor=person.person_id,
    )


def visible_flag(session: Session, person: Person, flag_id: int) -> Flag:
    """A flag in the person's inbox (404 otherwise, so ids of others' flags do not leak)."""
    flag = session.get(Flag, flag_id)
    if flag is None or not may_see_flag(session, person, flag):
        raise NotFound(f"no flag {flag_id} in your inbox", "open the flag inbox")
    return flag


def _require_writer(session: Session, person: Person, flag: Flag) -> None:
    if person.role == "admin" or flag.created_by == person.person_id:
        return
    if person.role == "cs_manager" and may_see_flag(session, person, flag):
        return
    raise Forbidden("only the flag's author (or their CS manager) may change it")


def edit_flag(session: Session, person: Person, flag_id: int, evidence: str) -> Flag:
    """Edit a draft flag's evidence."""
    flag = visible_flag(session, person, flag_id)
    _require_writer(session, person, flag)
    return edit_evidence(session, flag.id, evidence, person.person_id)


def send(session: Session, person: Person, flag_id: int) -> SendResult:
    """Send a draft flag to its recipients (default routing rules)."""
    flag = visible_flag(session, person, flag_id)
    _require_writer(session, person, flag)
    return send_flag(session, flag.id, person.person_id, load_routing(None), utcnow())


def flag_state(session: Session, person: Person, flag_id: int, state: str, note: str) -> Flag:
    """Acknowledge, resolve or reopen a flag in the person's inbox."""
    flag = visible_flag(session, person, flag_id)
    return set_flag_state(session, flag.id, state, person.person_id, utcnow(), note)


def _watch_owner(state: WebState, session: Session, person: Person, account_id: str) -> None:
    if person.role in ("csm", "cs_manager"):
        require_owner(session, person, account_id, account_owners(state, account_id))


def watch_review(
    state: WebState, session: Session, person: Person, account_id: str, outcome: str
) -> WatchItem:
    """Mark an account's 180-day review done (CS on their accounts, RevOps on any)."""
    _watch_owner(state, session, person, account_id)
    return fit_tags.review_watch(session, account_id, outcome, person.person_id, utcnow())


def watch_snooze(
    state: WebState,
    session: Session,
    person: Person,
    account_id: str,
    until: dt.date,
    reason: str,
) -> WatchItem:
    """Snooze an account's watch-list entry (CS on their accounts, RevOps on any)."""
    _watch_owner(state, session, person, account_id)
    return fit_tags.snooze_watch(session, account_id, until, reason, person.person_id, utcnow())


def context(session: Session, person: Person, flag_id: int, text: str) -> Flag:
    """An AE adds context to a sent flag about their deal."""
    flag = visible_flag(session, person, flag_id)
    if flag.status == "draft":
        raise IcploopError(
            f"flag {flag_id} is a draft", "context is added once the CSM has sent the flag"
        )
    add_context(session, flag, text, person.person_id)
    return flag


def get_version(session: Session, number: int) -> IcpVersionRecord:
    """An ICP version; 404 when there is none."""
    try:
        return versions.get_version(session, number)
    except Exception as exc:
        raise NotFound(f"there is no ICP version {number}", "list the versions") from exc


def record_step(
    session: Session, person: Person, number: int, step: str, note: str
) -> ImplementationStep:
    """Record an implementation step, only by a role that owns it."""
    if person.role not in step_roles(step):
        raise Forbidden(f"{person.role} does not own the step {step!r}")
    get_version(session, number)
    return versions.record_step(session, number, step, person.person_id, utcnow(), note)


def publish(
    session: Session, person: Person, number: int, override: str | None = None
) -> IcpVersionRecord:
    """Publish a draft ICP version (RevOps): after every team's approval, or with a reason."""
    get_version(session, number)
    return versions.publish(session, number, person.person_id, utcnow(), override=override)


def approve(session: Session, person: Person, number: int, comment: str) -> None:
    """Approve a draft ICP version for the person's team (404 when there is no such version)."""
    get_version(session, number)
    signoff.approve(session, number, person.person_id, utcnow(), comment)


def object_to(session: Session, person: Person, number: int, criterion: str, comment: str) -> None:
    """Object to one line of a draft ICP version, with a comment (404 when there is none)."""
    get_version(session, number)
    signoff.object_to(session, number, person.person_id, utcnow(), criterion, comment)


def delete_draft(session: Session, person: Person, number: int) -> None:
    """Delete a draft ICP version (who drafted it, RevOps or an admin)."""
    get_version(session, number)
    versions.delete_draft(session, number, person.person_id, utcnow())

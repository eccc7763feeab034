"""The REST API under ``/api/v1``: JSON for scripts, authenticated by bearer tokens.

Every route passes through ``guard_api`` (token, then the role from the permissions table) and
calls the same functions as the pages and the CLI; errors have the one shape of
``icploop.web.errors``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from icploop.flags.inbox import flag_list
from icploop.flags.tags_in_force import fit_tags_in_force
from icploop.formatting import json_tree, json_value
from icploop.icp import signoff, versions
from icploop.icp.document import account_kinds
from icploop.icp.in_force import published_periods, rules_in_force
from icploop.review.alignment import team_scorecard
from icploop.scoring.train import TIERS
from icploop.segments.catalog import outcome_spec
from icploop.segments.frames import recommended_thresholds
from icploop.segments.thresholds import threshold_row
from icploop.store import fit_tags
from icploop.store.audit import events
from icploop.store.database import utcnow
from icploop.store.models import FitTag, Flag, IcpVersionRecord, Person, WatchItem
from icploop.warehouse import AS_OF_RANGE, today_or
from icploop.web import actions, queries, schemas
from icploop.web import dashboard as numbers
from icploop.web.auth import revoke_token, tokens_of
from icploop.web.deps import DB, guard_api, web_state
from icploop.web.errors import ERROR_RESPONSES, NotFound
from icploop.web.flag_notes import contexts
from icploop.web.forecasts import forecast_view
from icploop.web.pressure import release_sessions
from icploop.web.routes.analyses import BadShare, Margin, Points, Years
from icploop.web.routes.reasons import reasons_of
from icploop.web.routes.segments import icp_comparison
from icploop.web.scoring import deal_checks_of, deals_seen_by, score_frame
from icploop.web.state import WebState

router = APIRouter(prefix="/api/v1", dependencies=[Depends(guard_api)], responses=ERROR_RESPONSES)


def api_user(request: Request) -> Person:
    """The token's person (set by the guard)."""
    person: Person = request.state.user
    return person


ApiUser = Annotated[Person, Depends(api_user)]
#: an as-of date a request may ask for: the engines' timestamps end in 2262, so later dates
#: (and the years before data existed) are a 422, never an overflow
AsOf = Annotated[
    dt.date | None,
    Query(ge=AS_OF_RANGE[0], le=AS_OF_RANGE[1], description="default: the data's end"),
]


def tag_out(tag: FitTag) -> schemas.Tag:
    return schemas.Tag(
        id=tag.id, account_id=tag.account_id, tag=tag.tag, computed_tag=tag.computed_tag,
        method=tag.method, account_type=tag.account_type, close_date=tag.close_date,
        current=tag.current, created_by=tag.created_by, created_at=tag.created_at,
        reason=tag.reason,
        signals=[
            schemas.Signal(
                name=s.name, computed=s.computed_value, value=s.value, evidence=s.evidence or {},
                overridden_by=s.overridden_by, override_reason=s.override_reason,
            )
            for s in tag.signals
        ],
    )  # fmt: skip


def flag_out(flag: Flag, notes: list[str] | None = None) -> schemas.FlagOut:
    return schemas.FlagOut(
        id=flag.id, account_id=flag.account_id, fit_issue=flag.fit_issue, evidence=flag.evidence,
        status=flag.status, ae=flag.ae, csm=flag.csm, created_by=flag.created_by,
        created_at=flag.created_at, sent_at=flag.sent_at, data_date=flag.data_date,
        state=None if flag.status == "draft" else flag.state, state_by=flag.state_by,
        state_at=flag.state_at, context=notes or [],
    )  # fmt: skip


def watch_out(item: WatchItem) -> schemas.WatchOut:
    return schemas.WatchOut(
        account_id=item.account_id, due_date=item.due_date, snoozed_until=item.snoozed_until,
        reviewed_at=item.reviewed_at, reviewed_by=item.reviewed_by, outcome=item.outcome,
    )  # fmt: skip


def version_out(v: IcpVersionRecord) -> schemas.Version:
    state = signoff.readiness(v)
    return schemas.Version(
        number=v.number, status=v.status, created_by=v.created_by, published_by=v.published_by,
        effective_date=v.effective_date, content=v.content or {},
        steps=[
            schemas.Step(step=s.step, owner_role=s.owner_role, due_date=s.due_date,
                         done_by=s.done_by, done_at=s.done_at, note=s.note)
            for s in v.steps
        ],
        required_teams=list(state.required), missing_approvals=list(state.missing),
        publish_override=v.publish_override,
        signoffs=[
            schemas.SignoffOut(id=s.id, team=s.role, person_id=s.person_id, decision=s.decision,
                               criterion=s.criterion, comment=s.comment, answer=s.answer,
                               answered_by=s.answered_by)
            for s in v.signoffs
        ],
    )  # fmt: skip


@router.get("/me", name="api_me", response_model=schemas.Me)
def me(user: ApiUser) -> schemas.Me:
    """Who the token belongs to."""
    return schemas.Me(person_id=user.person_id, name=user.name, role=user.role)


@router.get("/accounts", name="api_accounts", response_model=schemas.AccountList)
def accounts(
    request: Request,
    session: DB,
    q: Annotated[str, Query(max_length=200)] = "",
    fit_tag: Annotated[str, Query(max_length=20)] = "",
    segment: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] = 50,
) -> schemas.AccountList:
    """Accounts with their fit tag in force; search by id or name; filter by tag and segment."""
    ids = [t.account_id for t in fit_tags.list_current(session, fit_tag)] if fit_tag else None
    result = web_state(request).analytics(
        lambda b: queries.list_accounts(
            b, search=q or None, segment=segment or None, only_ids=ids, owner=None,
            page=page, page_size=page_size,
        )
    )  # fmt: skip
    shown = [r["account_id"] for r in result.rows]
    tags = fit_tags.current_tags_of(session, shown)
    items = [schemas.AccountRow(**r, fit_tag=tags.get(r["account_id"])) for r in result.rows]
    return schemas.AccountList(items=items, total=result.total, page=page, page_size=page_size)


@router.get("/accounts/{account_id}", name="api_account", response_model=schemas.AccountDetail)
def account(request: Request, session: DB, account_id: str) -> schemas.AccountDetail:
    """One account: attributes, fit tag in force, MRR by month."""
    state = web_state(request)
    info = actions.account_owners(state, account_id)
    history = fit_tags.history(session, account_id)
    current = next((t for t in history if t.current), None)
    mrr = state.analytics(lambda b: queries.mrr_history(b, account_id))
    return schemas.AccountDetail(
        account={
            k: (str(v) if v is not None and not isinstance(v, int | float | str) else v)
            for k, v in info.items()
        },
        fit=tag_out(current) if current else None,
        mrr=mrr,
    )


@router.get("/accounts/{account_id}/fit", name="api_fit_show", response_model=schemas.FitHistory)
def fit_show(session: DB, account_id: str) -> schemas.FitHistory:
    """The account's tag history, oldest first (the tag in force has current = true)."""
    history = fit_tags.history(session, account_id)
    if not history:
        raise NotFound(f"account {account_id!r} has no fit tag", "accounts are tagged at day 90")
    return schemas.FitHistory(account_id=account_id, history=[tag_out(t) for t in history])


@router.post(
    "/accounts/{account_id}/fit/override", name="api_fit_override", response_model=schemas.Tag
)
def fit_override(
    request: Request, session: DB, user: ApiUser, account_id: str, body: schemas.OverrideIn
) -> schemas.Tag:
    """Override one signal with a reason (CS, on their accounts)."""
    tag = actions.override(
        web_state(request), session, user, account_id, body.signal, body.value, body.reason
    )
    return tag_out(tag)


@router.post("/accounts/{account_id}/fit/check", name="api_fit_check", response_model=schemas.Tag)
def fit_check(
    request: Request, session: DB, user: ApiUser, account_id: str, body: schemas.QuickCheckIn
) -> schemas.Tag:
    """The three-question quick check (CS, on their accounts)."""
    answers = (body.primary_use_case_in_use, body.champion_in_same_role, body.competitor_or_regret)
    return tag_out(actions.quick_check(web_state(request), session, user, account_id, answers))


@router.get("/flags", name="api_flags", response_model=schemas.FlagList)
def flags(
    session: DB,
    user: ApiUser,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> schemas.FlagList:
    """The flags in the token owner's inbox, newest first."""
    rows = flag_list(session, user, limit=page_size, offset=(page - 1) * page_size)
    notes = contexts(session, [f.id for f in rows])
    items = [flag_out(f, [n.details.get("text", "") for n in notes.get(f.id, [])]) for f in rows]
    return schemas.FlagList(items=items, page=page, page_size=page_size)


@router.get("/flags/{flag_id}", name="api_flag", response_model=schemas.FlagOut)
def flag(session: DB, user: ApiUser, flag_id: int) -> schemas.FlagOut:
    """One flag from the inbox."""
    found = actions.visible_flag(session, user, flag_id)
    notes = contexts(session, [found.id]).get(found.id, [])
    return flag_out(found, [n.details.get("text", "") for n in notes])


@router.post("/flags", name="api_flag_create", response_model=schemas.FlagOut, status_code=201)
def flag_create(
    request: Request, session: DB, user: ApiUser, body: schemas.FlagIn
) -> schemas.FlagOut:
    """Raise a draft flag on an account the caller owns."""
    made = actions.new_flag(
        web_state(request), session, user, body.account_id, body.fit_issue, body.evidence
    )
    return flag_out(made)


@router.patch("/flags/{flag_id}", name="api_flag_edit", response_model=schemas.FlagOut)
def flag_edit(
    session: DB, user: ApiUser, flag_id: int, body: schemas.EvidenceIn
) -> schemas.FlagOut:
    """Edit a draft flag's evidence."""
    return flag_out(actions.edit_flag(session, user, flag_id, body.evidence))


@router.post("/flags/{flag_id}/send", name="api_flag_send", response_model=schemas.SendOut)
def flag_send(session: DB, user: ApiUser, flag_id: int) -> schemas.SendOut:
    """Send a draft flag to its recipients."""
    result = actions.send(session, user, flag_id)
    return schemas.SendOut(
        flag_id=result.flag_id,
        deliveries=[f"{d.channel}:{d.recipient}" for d in result.deliveries],
        warnings=result.warnings,
    )


@router.post("/flags/{flag_id}/context", name="api_flag_context", response_model=schemas.FlagOut)
def flag_context(
    session: DB, user: ApiUser, flag_id: int, body: schemas.ContextIn
) -> schemas.FlagOut:
    """Add an AE's context to a flag about their deal."""
    found = actions.context(session, user, flag_id, body.text)
    notes = contexts(session, [found.id]).get(found.id, [])
    return flag_out(found, [n.details.get("text", "") for n in notes])


@router.post("/flags/{flag_id}/state", name="api_flag_state", response_model=schemas.FlagOut)
def flag_state(session: DB, user: ApiUser, flag_id: int, body: schemas.StateIn) -> schemas.FlagOut:
    """Acknowledge, resolve or reopen a flag in the caller's inbox."""
    return flag_out(actions.flag_state(session, user, flag_id, body.state, body.note))


@router.get("/watch", name="api_watch", response_model=list[schemas.WatchOut])
def watch(
    session: DB,
    user: ApiUser,
    as_of: dt.date | None = None,
    all_items: Annotated[bool, Query(alias="all")] = False,
) -> list[schemas.WatchOut]:
    """The watch list: entries due for review on ``as_of`` (default today), or all open ones."""
    items = fit_tags.watch_list(session, today_or(as_of), due_only=not all_items)
    return [watch_out(w) for w in items]


@router.post("/watch/{account_id}/review", name="api_watch_review",
             response_model=schemas.WatchOut)  # fmt: skip
def watch_review(
    request: Request, session: DB, user: ApiUser, account_id: str, body: schemas.ReviewIn
) -> schemas.WatchOut:
    """Mark an account's 180-day review done, with its outcome."""
    state = web_state(request)
    return watch_out(actions.watch_review(state, session, user, account_id, body.outcome))


@router.post("/watch/{account_id}/snooze", name="api_watch_snooze",
             response_model=schemas.WatchOut)  # fmt: skip
def watch_snooze(
    request: Request, session: DB, user: ApiUser, account_id: str, body: schemas.SnoozeIn
) -> schemas.WatchOut:
    """Keep an account off the due list until a later day, with the reason."""
    state = web_state(request)
    item = actions.watch_snooze(state, session, user, account_id, body.until, body.reason)
    return watch_out(item)


@router.get("/icp/versions", name="api_icp_versions", response_model=list[schemas.Version])
def icp_versions(session: DB) -> list[schemas.Version]:
    """Every ICP version, newest first."""
    return [version_out(v) for v in versions.list_versions(session)]


@router.get("/icp/in-force", name="api_icp_in_force", response_model=dict[str, Any])
def icp_in_force(request: Request, session: DB, as_of: AsOf = None) -> dict[str, Any]:
    """The ICP criteria and do-not-close rules in force on ``as_of`` (default the data's end)
    and where they come from (same as ``icploop icp in-force --json``)."""
    state = web_state(request)
    fallback = state.fit_config().icp_criteria
    return rules_in_force(session, as_of or state.as_of(), fallback).to_dict()


@router.get("/fit/in-force", name="api_fit_in_force", response_model=dict[str, Any])
def fit_in_force(request: Request, session: DB, as_of: AsOf = None) -> dict[str, Any]:
    """The fit tags in force on ``as_of`` (default the data's end): where they come from and how
    many of each (same as ``icploop fit in-force --json``)."""
    state = web_state(request)
    day = as_of or state.as_of()
    periods = published_periods(session)
    config = state.fit_config()
    history = state.analytics(lambda b: fit_tags_in_force(b, session, day, periods, config))
    return history.to_dict(day)


@router.get("/icp/versions/{number}", name="api_icp_version", response_model=schemas.Version)
def icp_version(session: DB, number: int) -> schemas.Version:
    """One ICP version with its implementation steps."""
    return version_out(actions.get_version(session, number))


@router.get("/icp/diff", name="api_icp_diff", response_model=dict[str, dict[str, list[str]]])
def icp_diff(session: DB, old: int, new: int) -> dict[str, dict[str, list[str]]]:
    """What changed between two versions."""
    actions.get_version(session, old)
    actions.get_version(session, new)
    return versions.version_diff(session, old, new)


@router.post("/icp/versions", name="api_icp_draft", response_model=schemas.Version, status_code=201)
def icp_draft(
    request: Request, session: DB, user: ApiUser, body: schemas.DraftIn
) -> schemas.Version:
    """A new draft version from a YAML document (RevOps); its rules must name attributes the
    accounts have, with values that compare."""
    kinds = web_state(request).analytics(account_kinds)
    record = versions.import_yaml(
        session, body.yaml, "the request body", user.person_id, utcnow(), kinds
    )
    return version_out(actions.get_version(session, record.number))


@router.delete("/icp/versions/{number}", name="api_icp_delete", status_code=204)
def icp_delete(session: DB, user: ApiUser, number: int) -> None:
    """Delete a draft version (who drafted it, RevOps or an admin); published versions stay."""
    actions.delete_draft(session, user, number)


@router.post(
    "/icp/versions/{number}/publish", name="api_icp_publish", response_model=schemas.Version
)
def icp_publish(
    session: DB, user: ApiUser, number: int, body: schemas.PublishIn | None = None
) -> schemas.Version:
    """Publish a draft (RevOps) once every required team approved, or with an override reason;
    the implementation steps start."""
    actions.publish(session, user, number, body.override if body else None)
    session.flush()
    session.expire_all()
    return version_out(actions.get_version(session, number))


@router.post(
    "/icp/versions/{number}/approve", name="api_icp_approve", response_model=schemas.Version
)
def icp_approve(
    session: DB, user: ApiUser, number: int, body: schemas.ApproveIn
) -> schemas.Version:
    """Approve a draft for the caller's team."""
    actions.approve(session, user, number, body.comment)
    return version_out(actions.get_version(session, number))


@router.post(
    "/icp/versions/{number}/objections", name="api_icp_object", response_model=schemas.Version
)
def icp_object(
    session: DB, user: ApiUser, number: int, body: schemas.ObjectionIn
) -> schemas.Version:
    """Object to one line of a draft, with a comment."""
    actions.object_to(session, user, number, body.criterion, body.comment)
    return version_out(actions.get_version(session, number))


@router.post(
    "/icp/objections/{objection_id}/answer",
    name="api_icp_answer",
    response_model=schemas.SignoffOut,
)
def icp_answer(
    session: DB, user: ApiUser, objection_id: int, body: schemas.AnswerIn
) -> schemas.SignoffOut:
    """Answer an objection (RevOps)."""
    s = signoff.answer(session, objection_id, user.person_id, utcnow(), body.text)
    return schemas.SignoffOut(id=s.id, team=s.role, person_id=s.person_id, decision=s.decision,
                              criterion=s.criterion, comment=s.comment, answer=s.answer,
                              answered_by=s.answered_by)  # fmt: skip


@router.post(
    "/icp/versions/{number}/steps/{step}", name="api_icp_step", response_model=schemas.Step
)
def icp_step(
    session: DB, user: ApiUser, number: int, step: str, body: schemas.StepIn
) -> schemas.Step:
    """Record an implementation step (only its owner role)."""
    s = actions.record_step(session, user, number, step, body.note)
    return schemas.Step(step=s.step, owner_role=s.owner_role, due_date=s.due_date,
                        done_by=s.done_by, done_at=s.done_at, note=s.note)  # fmt: skip


@router.get("/data-end", name="api_data_end", response_model=schemas.DataEndOut)
def data_end(request: Request) -> schemas.DataEndOut:
    """Where the workspace's data ends: the default as-of date of every figure (the last day of
    the last complete month) and the partial month it leaves out, as ``icploop status`` says."""
    end = web_state(request).data_end()
    return schemas.DataEndOut(
        last_month=end.last_month, last_activity=end.last_activity, as_of=end.as_of,
        partial_month=end.partial_month, caveats=list(end.caveats),
    )  # fmt: skip


@router.get("/metrics/headline", name="api_metrics_headline", response_model=schemas.Headline)
def metrics_headline(request: Request) -> schemas.Headline:
    """The headline metrics of the latest month (same as ``icploop metrics``)."""
    state = web_state(request)
    data: dict[str, Any] = numbers.headline_of(state, state.as_of())
    return schemas.Headline(**{k: data[k] for k in schemas.Headline.model_fields})


@router.get("/metrics/bridge", name="api_metrics_bridge", response_model=dict[str, Any])
def metrics_bridge(
    request: Request,
    period: Annotated[str, Query(pattern="^(month|quarter)$")] = "month",
    periods: Annotated[int, Query(ge=1, le=120)] = 12,
    by: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """The MRR bridge per month or quarter: MRR at the start, new, reactivation, expansion,
    contraction, churn, fx and MRR at the end (same as ``icploop metrics bridge --json``)."""
    state = web_state(request)
    return numbers.bridge_of(state, state.as_of(), period, periods, by or None)


@router.get("/segments", name="api_segments", response_model=schemas.SegmentFindings)
def segments(request: Request) -> schemas.SegmentFindings:
    """Top value and top risk segments for first-year churn, with their evidence."""
    state = web_state(request)
    found = numbers.top_segments(state, state.as_of())
    return schemas.SegmentFindings(**vars(found))


@router.get("/survival", name="api_survival", response_model=dict[str, Any])
def survival(
    request: Request,
    by: Annotated[str | None, Query(max_length=100)] = None,
    cox: bool = False,
) -> dict[str, Any]:
    """Kaplan-Meier survival by an attribute, with medians, the log-rank test and, with
    ``cox``, hazard ratios (same as ``icploop survival --json``)."""
    state = web_state(request)
    return numbers.survival_of(state, state.as_of(), by or None, cox)


@router.get("/ltv", name="api_ltv", response_model=dict[str, Any])
def ltv(
    request: Request, by: Annotated[str | None, Query(max_length=100)] = None
) -> dict[str, Any]:
    """Lifetime value by an attribute: the sBG model per segment, DEL and DERL (same as
    ``icploop ltv --json``)."""
    state = web_state(request)
    return numbers.ltv_of(state, state.as_of(), by or None)


@router.get("/forecast", name="api_forecast", response_model=dict[str, Any])
def forecast(
    request: Request,
    bad_share: BadShare = 0.06,
    points: Points = 5.0,
    years: Years = 3,
    margin: Margin = 0.8,
) -> dict[str, Any]:
    """NRR 12 months ahead from the fit-tag mix (interval, groups, backtest) and the what-ifs:
    cohort NRR at a bad-fit share of new MRR of ``bad_share``, and what ``points`` more annual
    retention is worth over ``years`` (same as ``icploop forecast nrr`` and ``icploop whatif
    bad-fit`` / ``whatif retention``, and the forecast page)."""
    state = web_state(request)
    view = forecast_view(state, state.as_of(), bad_share, points, years, margin)
    return json_tree(view.to_dict())


@router.get("/deals", name="api_deals", response_model=dict[str, Any])
def deals(request: Request, user: ApiUser, risky: bool = False) -> dict[str, Any]:
    """Open opportunities checked against the ICP in force: the criteria, do-not-close rules and
    AE patterns in words, and per deal what puts it at risk (same as ``icploop deals check
    --json`` and the deals page); an AE gets their own deals, ``risky`` only those at risk."""
    state = web_state(request)
    checks = deal_checks_of(state, state.as_of())
    return json_tree({**checks, "deals": deals_seen_by(checks, user, risky)})


@router.get("/segments/thresholds", name="api_thresholds", response_model=dict[str, Any])
def thresholds(
    request: Request,
    outcome: Annotated[str, Query(max_length=100)] = "churn",
    as_of: AsOf = None,
) -> dict[str, Any]:
    """The recommended thresholds of a binary outcome (each cut with its evidence and the
    recommended limit), from the one scan that ``icploop segments --json`` reports and the
    review's floor and discount proposals read."""
    state = web_state(request)
    day = as_of or state.as_of()
    spec = outcome_spec(outcome)
    found = state.analytics(lambda b: recommended_thresholds(b, day, spec))
    return json_tree(
        {
            "outcome": outcome,
            "as_of": day,
            "thresholds": [t.recommendation for t in found],
            "threshold_scan": [threshold_row(t) for t in found],
        }
    )


@router.get("/scorecard", name="api_scorecard", response_model=dict[str, Any])
def scorecard(
    request: Request,
    session: DB,
    by: Annotated[str, Query(max_length=20)] = "ae",
    quarters: Annotated[int, Query(ge=1, le=80)] = 8,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """Bookings next to retained bookings (MRR 12 months later) per AE, lead source or
    campaign, ranked both ways with the gap, with the fit tags in force (same as ``icploop
    scorecard --json``)."""
    state = web_state(request)
    day = as_of or state.as_of()
    config = state.fit_config()
    card = state.analytics(lambda b: team_scorecard(b, session, day, by, quarters, config))
    return json_tree({"currency": state.settings.figures_currency, **card.to_dict()})


@router.get("/segments/compare", name="api_icp_compare", response_model=dict[str, Any])
def icp_compare(request: Request) -> dict[str, Any]:
    """The value-based ICP against the win-rate, intent and lookalike ICPs (shares of accounts,
    MRR, retained and churned MRR) and the use cases ranked by retention and expansion (same
    as ``icploop segments --view compare`` and the comparison page)."""
    state = web_state(request)
    return json_tree(icp_comparison(state, state.as_of()))


@router.get("/reasons", name="api_reasons", response_model=dict[str, Any])
def reasons(request: Request) -> dict[str, Any]:
    """Churn reasons (Pareto, the support hypothesis) and cost to serve by tier with the
    recommended tier moves, each None with ``*_unavailable`` saying why when its data is
    missing (the same numbers as the reasons page and the review pack)."""
    state = web_state(request)
    return json_tree(reasons_of(state, state.as_of()))


@router.get("/audit", name="api_audit", response_model=list[schemas.AuditOut])
def audit_log(
    session: DB,
    actor: Annotated[str, Query(max_length=200)] = "",
    action: Annotated[str, Query(max_length=60)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[schemas.AuditOut]:
    """Audit events, newest first (admins)."""
    rows = events(session, actor, action, page_size, (page - 1) * page_size)
    return [schemas.AuditOut.model_validate(e, from_attributes=True) for e in rows]


@router.get("/tokens", name="api_tokens", response_model=list[schemas.TokenOut])
def api_tokens(session: DB, user: ApiUser) -> list[schemas.TokenOut]:
    """The caller's API tokens with their state (an admin: everyone's), newest first."""
    rows = tokens_of(session, None if user.role == "admin" else user.person_id)
    return [schemas.TokenOut.model_validate({**vars(row), "state": state}) for row, state in rows]


@router.delete("/tokens/{token_id}", name="api_token_revoke", status_code=204)
def api_token_revoke(session: DB, user: ApiUser, token_id: int) -> None:
    """Revoke one of the caller's tokens (an admin: anyone's); it stays listed as revoked."""
    revoke_token(session, token_id, user.person_id, by=user)


@router.post("/score", name="api_score", response_model=schemas.ScoreOut)
async def score(request: Request, user: ApiUser, body: schemas.ScoreIn) -> Response:
    """Fit score, tier A-D, points and top reasons for each record, with the deal-time fit check
    for open deals: what ``icploop score FILE.csv`` writes. Scoring goes through the job queue
    (one at a time, a few queued; more are answered 503 with ``Retry-After``), and the request
    holds no store connection while it waits. The answer is serialised by the job too, so
    thousands of rows never hold up the event loop that serves the other requests."""
    state = web_state(request)
    await run_in_threadpool(release_sessions)
    job = state.jobs.submit(
        "score", user.person_id, lambda _progress: _score(state, body).model_dump_json()
    )
    content: str = await state.jobs.result(job, wait=SCORE_WAIT, deadline=SCORE_DEADLINE)
    return Response(content, media_type="application/json")


#: seconds a scoring upload waits for its turn in the job queue before it is answered 503
SCORE_WAIT = 2.0
#: seconds after which a scoring upload still running is answered 503 (clients often give up
#: at 10 s; the job finishes anyway)
SCORE_DEADLINE = 8.0


def _score(state: WebState, body: schemas.ScoreIn) -> schemas.ScoreOut:
    records = pd.DataFrame([{k: "" if v is None else str(v) for k, v in r.items()}
                            for r in body.records])  # fmt: skip
    name, scored = score_frame(state, records, body.version)
    keep = [c for c in schemas.ScoredRow.model_fields if c in scored.columns]
    rows = [schemas.ScoredRow(**{k: json_value(v) for k, v in r.items()})
            for r in scored[keep].to_dict("records")]  # fmt: skip
    tiers = scored["fit_tier"].value_counts().reindex(list(TIERS), fill_value=0)
    return schemas.ScoreOut(version=name, tiers={k: int(v) for k, v in tiers.items()}, rows=rows)

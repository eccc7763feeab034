"""Accounts: the list with fit tags and filters, the account page, the 90-day tagging form."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from icploop.fit.config import SIGNALS
from icploop.flags import FIT_ISSUES
from icploop.flags.inbox import account_flags
from icploop.ingest.schema import FIT_TAGS
from icploop.segments.catalog import OUTCOMES
from icploop.segments.selectors import segment_members
from icploop.store import fit_tags
from icploop.web import actions, queries
from icploop.web import dashboard as numbers
from icploop.web.charts import bar_chart
from icploop.web.deps import DB, User, web_state
from icploop.web.routes.common import back, page_router, render
from icploop.web.scope import owns_account

router = page_router()
PAGE_SIZE = 50
SIGNAL_VALUES = ("strong", "near", "bad")


def tag_ids(session: DB, tag: str | None) -> list[str] | None:
    """Accounts whose tag in force is ``tag`` (None: no tag filter)."""
    if not tag:
        return None
    return [t.account_id for t in fit_tags.list_current(session, tag)]


@router.get("/accounts", name="accounts_page", response_class=HTMLResponse)
def accounts_page(
    request: Request,
    session: DB,
    user: User,
    q: Annotated[str, Query(max_length=200)] = "",
    tag: Annotated[str, Query(max_length=20)] = "",
    segment: Annotated[str, Query(max_length=100)] = "",
    where: Annotated[str, Query(max_length=500)] = "",
    outcome: Annotated[str, Query(pattern="^(churn|nrr|ltv|adoption)?$")] = "",
    mine: bool = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Accounts with their fit tag; search by id or name, filter by tag, segment, ownership,
    and by a segment of the explorer (``where``: its conditions, e.g. ``seats_at_close < 50``;
    with ``outcome``, only the accounts whose outcome is observed: those the finding rests on)."""
    state = web_state(request)
    owner = None
    if mine and user.role in ("csm", "cs_manager", "ae"):
        column = {"csm": "csm", "cs_manager": "cs_manager", "ae": "owner_ae"}[user.role]
        owner = (column, user.person_id)
    ids = tag_ids(session, tag or None)
    if where:
        frame = numbers.account_outcomes_frame(state, state.as_of())
        inside = segment_members(frame, where)
        if outcome:
            inside &= frame[OUTCOMES[outcome].column].notna()
        members = frame.account_id[inside].astype(str)
        ids = [i for i in members if ids is None or i in set(ids)]
    result = state.analytics(
        lambda b: queries.list_accounts(
            b,
            search=q or None,
            segment=segment or None,
            only_ids=ids,
            owner=owner,
            page=page,
            page_size=PAGE_SIZE,
        )
    )
    shown = [r["account_id"] for r in result.rows]
    current = fit_tags.current_tags_of(session, shown)
    return render(
        request,
        "accounts.html",
        {
            "result": result,
            "tags": current,
            "q": q,
            "tag": tag,
            "segment": segment,
            "where": where,
            "outcome": outcome,
            "outcome_label": OUTCOMES[outcome].label if outcome else "",
            "mine": mine,
            "fit_tags": FIT_TAGS,
            "segments": state.cached(("segments_list",), queries.segments),
            "pages": (result.total + PAGE_SIZE - 1) // PAGE_SIZE,
        },
    )


@router.get("/accounts/{account_id}", name="account_page", response_class=HTMLResponse)
def account_page(request: Request, session: DB, user: User, account_id: str) -> HTMLResponse:
    """Signals with evidence, tag history, flags, MRR history and usage of one account."""
    state = web_state(request)
    info = actions.account_owners(state, account_id)
    mrr = state.analytics(lambda b: queries.mrr_history(b, account_id))
    usage = state.analytics(lambda b: queries.usage_summary(b, account_id))
    history = fit_tags.history(session, account_id)
    flags = account_flags(session, user, account_id)
    return render(
        request,
        "account.html",
        {
            "account": info,
            "current": next((t for t in history if t.current), None),
            "history": history,
            "flags": flags,
            "mrr_chart": bar_chart(
                [f"{m:%Y-%m}" for m, _ in mrr], [v for _, v in mrr], "MRR by month"
            ),
            "usage": usage,
            "owns": owns_account(session, user, info),
            "fit_issues": FIT_ISSUES,
        },
    )


@router.get("/accounts/{account_id}/tag", name="tag_form", response_class=HTMLResponse)
def tag_form(request: Request, session: DB, user: User, account_id: str) -> HTMLResponse:
    """The 90-day tagging form: computed signals, override with reason, the quick check."""
    state = web_state(request)
    info = actions.account_owners(state, account_id)
    current = fit_tags.current_tag(session, account_id)
    return render(
        request,
        "tag_form.html",
        {
            "account": info,
            "current": current,
            "owns": owns_account(session, user, info),
            "signals": SIGNALS,
            "values": SIGNAL_VALUES,
        },
    )


@router.post("/accounts/{account_id}/tag/override", name="tag_override")
def tag_override(
    request: Request,
    session: DB,
    user: User,
    account_id: str,
    signal: Annotated[str, Form(max_length=60)],
    value: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=2000)],
) -> Response:
    """Override one signal with a reason; the computed value and the old tag are kept."""
    actions.override(web_state(request), session, user, account_id, signal, value, reason)
    return back(f"/accounts/{account_id}/tag")


@router.post("/accounts/{account_id}/tag/check", name="tag_quick_check")
def tag_quick_check(
    request: Request,
    session: DB,
    user: User,
    account_id: str,
    use_case_in_use: Annotated[str, Form(max_length=5)] = "no",
    champion_same_role: Annotated[str, Form(max_length=5)] = "no",
    competitor: Annotated[str, Form(max_length=5)] = "no",
) -> Response:
    """The three-question quick check."""
    answers = (use_case_in_use == "yes", champion_same_role == "yes", competitor == "yes")
    actions.quick_check(web_state(request), session, user, account_id, answers)
    return back(f"/accounts/{account_id}/tag")


@router.post("/accounts/{account_id}/flags", name="flag_create")
def flag_create(
    request: Request,
    session: DB,
    user: User,
    account_id: str,
    fit_issue: Annotated[str, Form(max_length=40)],
    evidence: Annotated[str, Form(max_length=2000)],
) -> Response:
    """Raise a draft flag on the account."""
    actions.new_flag(web_state(request), session, user, account_id, fit_issue, evidence)
    return back("/flags")

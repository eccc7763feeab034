"""Who may do what: one table of actions per role, and one table of routes per action.

The app reads these tables to guard every route, and the tests read the same tables to prove
that each route refuses an anonymous request and a role without the right. Roles are those of
the org table (``icploop.ingest.schema.ROLES``); ``admin`` may do everything.
"""

from __future__ import annotations

from icploop.icp.experiments import EXPERIMENTERS
from icploop.icp.signoff import SIGNERS
from icploop.icp.versions import STEPS
from icploop.ingest.schema import ROLES

ALL_ROLES: frozenset[str] = frozenset(ROLES)
CS_ROLES = frozenset({"csm", "cs_manager"})
SALES_ROLES = frozenset({"ae", "sales_manager"})

#: Action -> roles allowed (admin is added to every action below).
_ACTIONS: dict[str, frozenset[str]] = {
    # reading evidence: dashboard, accounts, ICP document, metrics, segments
    "read": ALL_ROLES,
    # the flag inbox; what each role sees in it is scoped by ``icploop.web.scope``
    "flags.read": ALL_ROLES,
    # 90-day tags: CSMs on their accounts, CS managers on their team's
    "fit.tag": CS_ROLES,
    # creating, editing and sending bad-fit flags
    "flags.write": CS_ROLES,
    # AEs read flags about their deals and add context to them
    "flags.context": SALES_ROLES,
    # whoever a flag reaches acknowledges and resolves it (in their inbox, checked per flag)
    "flags.triage": ALL_ROLES,
    # the 180-day watch list: CS (their accounts) and RevOps mark entries reviewed or snoozed
    "watch.triage": CS_ROLES | {"revops"},
    # RevOps owns the ICP document: drafts and publication
    "icp.edit": frozenset({"revops"}),
    "icp.publish": frozenset({"revops"}),
    # sign-off of draft versions by the teams (each signs for its own team)
    "icp.signoff": frozenset(SIGNERS),
    "icp.answer": frozenset({"revops"}),
    # each implementation step belongs to its owners (checked per step in the handler)
    "icp.step": frozenset(role for rule in STEPS for role in rule.owner_roles),
    # RevOps builds the quarterly review and decides its proposals
    "review.build": frozenset({"revops"}),
    "review.decide": frozenset({"revops"}),
    # recording go-to-market experiments; ending or deleting one is for who recorded it and
    # RevOps (checked per experiment in the handler)
    "experiment.add": frozenset(EXPERIMENTERS),
    "experiment.manage": frozenset(EXPERIMENTERS),
    # scoring a CSV of leads or open deals on the web: who sells, markets or runs the ICP
    "score": SALES_ROLES | {"marketing", "revops"},
    # the deal-time fit checks of open opportunities: sales and RevOps
    "deals.read": SALES_ROLES | {"revops"},
    # the audit log and user administration
    "audit.read": frozenset(),
    # API tokens: everyone lists and revokes their own (admins everyone's, checked per token)
    "tokens.read": ALL_ROLES,
    "tokens.manage": ALL_ROLES,
}
ACTIONS: dict[str, frozenset[str]] = {
    action: roles | {"admin"} for action, roles in _ACTIONS.items()
}

#: What a read-only API token may do: the actions that change nothing.
READ_ONLY_ACTIONS: frozenset[str] = frozenset(
    {"read", "flags.read", "deals.read", "audit.read", "tokens.read"}
)

#: Routes anyone may reach (name of the route in the app).
PUBLIC_ROUTES: frozenset[str] = frozenset({"login_form", "login", "static"})

#: Route name -> action; every non-public route of the app must appear here (a test checks).
ROUTE_ACTIONS: dict[str, str] = {
    # pages
    "logout": "read",
    "dashboard": "read",
    "accounts_page": "read",
    "account_page": "read",
    "tag_form": "fit.tag",
    "tag_override": "fit.tag",
    "tag_quick_check": "fit.tag",
    "flag_create": "flags.write",
    "flags_page": "flags.read",
    "flag_edit": "flags.write",
    "flag_send": "flags.write",
    "flag_context": "flags.context",
    "flag_state": "flags.triage",
    "watch_page": "read",
    "watch_review": "watch.triage",
    "watch_snooze": "watch.triage",
    "icp_page": "read",
    "icp_step_page": "icp.step",
    "icp_publish_page": "icp.publish",
    "icp_delete_page": "icp.edit",
    "audit_page": "audit.read",
    "segments_page": "read",
    "survival_page": "read",
    "bridge_page": "read",
    "scoring_page": "score",
    "scoring_upload": "score",
    "deals_page": "deals.read",
    "forecast_page": "read",
    "icp_compare_page": "read",
    "reasons_page": "read",
    "alignment_page": "read",
    "experiment_add_page": "experiment.add",
    "experiment_stop_page": "experiment.manage",
    "experiment_delete_page": "experiment.manage",
    "review_list": "read",
    "review_page": "read",
    "review_pack": "read",
    "review_build": "review.build",
    "review_decide": "review.decide",
    "job_page": "review.build",
    "openapi": "read",
    # API
    "api_me": "read",
    "api_accounts": "read",
    "api_account": "read",
    "api_fit_show": "read",
    "api_fit_override": "fit.tag",
    "api_fit_check": "fit.tag",
    "api_flags": "flags.read",
    "api_flag": "flags.read",
    "api_flag_create": "flags.write",
    "api_flag_edit": "flags.write",
    "api_flag_send": "flags.write",
    "api_flag_context": "flags.context",
    "api_flag_state": "flags.triage",
    "api_watch": "read",
    "api_watch_review": "watch.triage",
    "api_watch_snooze": "watch.triage",
    "api_icp_versions": "read",
    "api_icp_in_force": "read",
    "api_fit_in_force": "read",
    "api_icp_version": "read",
    "api_icp_diff": "read",
    "api_icp_draft": "icp.edit",
    "api_icp_delete": "icp.edit",
    "api_icp_publish": "icp.publish",
    "api_icp_step": "icp.step",
    "api_icp_approve": "icp.signoff",
    "api_icp_object": "icp.signoff",
    "api_icp_answer": "icp.answer",
    "icp_approve_page": "icp.signoff",
    "icp_object_page": "icp.signoff",
    "icp_answer_page": "icp.answer",
    "api_data_end": "read",
    "api_survival": "read",
    "api_ltv": "read",
    "api_forecast": "read",
    "api_deals": "deals.read",
    "api_icp_compare": "read",
    "api_thresholds": "read",
    "api_scorecard": "read",
    "api_reasons": "read",
    "api_metrics_headline": "read",
    "api_metrics_bridge": "read",
    "api_segments": "read",
    "api_audit": "audit.read",
    "api_score": "read",
    "tokens_page": "tokens.read",
    "token_create_page": "tokens.manage",
    "token_revoke_page": "tokens.manage",
    "api_tokens": "tokens.read",
    "api_token_revoke": "tokens.manage",
    "api_experiments": "read",
    "api_experiment_add": "experiment.add",
    "api_experiment_end": "experiment.manage",
    "api_experiment_delete": "experiment.manage",
}


def may(role: str, action: str) -> bool:
    """Whether ``role`` may do ``action`` (unknown actions are refused)."""
    return role in ACTIONS.get(action, frozenset())


def step_roles(step: str) -> frozenset[str]:
    """The roles that own one implementation step, plus admin."""
    rule = next((r for r in STEPS if r.step == step), None)
    return frozenset(rule.owner_roles if rule else ()) | {"admin"}


def route_action(name: str) -> str:
    """The action a route needs; a KeyError for a route missing from the table (a bug)."""
    return ROUTE_ACTIONS[name]

"""Pydantic shapes of the REST API (kept apart from the table models)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field


class Me(BaseModel):
    person_id: str
    name: str | None
    role: str


class AccountRow(BaseModel):
    account_id: str
    name: str | None = None
    segment: str | None = None
    industry: str | None = None
    region: str | None = None
    owner_ae: str | None = None
    csm: str | None = None
    fit_tag: str | None = None


class AccountList(BaseModel):
    items: list[AccountRow]
    total: int
    page: int
    page_size: int


class Signal(BaseModel):
    name: str
    computed: str | None
    value: str | None
    evidence: dict[str, Any]
    overridden_by: str | None
    override_reason: str | None


class Tag(BaseModel):
    id: int
    account_id: str
    tag: str
    computed_tag: str | None
    method: str
    account_type: str | None
    close_date: dt.date | None
    current: bool
    created_by: str
    created_at: dt.datetime
    reason: str | None
    signals: list[Signal]


class FitHistory(BaseModel):
    account_id: str
    history: list[Tag]


class AccountDetail(BaseModel):
    account: dict[str, Any]
    fit: Tag | None
    mrr: list[tuple[dt.date, float]]


class OverrideIn(BaseModel):
    signal: str = Field(max_length=60)
    value: str = Field(max_length=20)
    reason: str = Field(max_length=2000)


class QuickCheckIn(BaseModel):
    primary_use_case_in_use: bool
    champion_in_same_role: bool
    competitor_or_regret: bool


class FlagOut(BaseModel):
    id: int
    account_id: str
    fit_issue: str
    evidence: str
    status: str
    ae: str | None
    csm: str | None
    created_by: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    data_date: dt.date | None = None
    state: str | None = None
    """new, acknowledged or resolved; None for a draft."""
    state_by: str | None = None
    state_at: dt.datetime | None = None
    context: list[str] = []


class StateIn(BaseModel):
    state: Literal["new", "acknowledged", "resolved"]
    note: str = Field(default="", max_length=1000)


class WatchOut(BaseModel):
    account_id: str
    due_date: dt.date
    snoozed_until: dt.date | None
    reviewed_at: dt.datetime | None
    reviewed_by: str | None
    outcome: str | None


class ReviewIn(BaseModel):
    outcome: str = Field(min_length=1, max_length=1000)


class SnoozeIn(BaseModel):
    until: dt.date
    reason: str = Field(min_length=1, max_length=1000)


class FlagList(BaseModel):
    items: list[FlagOut]
    page: int
    page_size: int


class FlagIn(BaseModel):
    account_id: str = Field(min_length=1, max_length=200)
    fit_issue: str = Field(max_length=40)
    evidence: str = Field(max_length=2000)


class EvidenceIn(BaseModel):
    evidence: str = Field(max_length=2000)


class ContextIn(BaseModel):
    text: str = Field(max_length=2000)


class SendOut(BaseModel):
    flag_id: int
    deliveries: list[str]
    warnings: list[str]


class Step(BaseModel):
    step: str
    owner_role: str
    due_date: dt.date
    done_by: str | None
    done_at: dt.datetime | None
    note: str | None


class SignoffOut(BaseModel):
    id: int
    team: str
    person_id: str
    decision: str
    criterion: str | None
    comment: str | None
    answer: str | None
    answered_by: str | None


class Version(BaseModel):
    number: int
    status: str
    created_by: str
    published_by: str | None
    effective_date: dt.date | None
    content: dict[str, Any]
    steps: list[Step]
    required_teams: list[str]
    missing_approvals: list[str]
    publish_override: str | None
    signoffs: list[SignoffOut]


class PublishIn(BaseModel):
    override: str | None = Field(default=None, max_length=2000)


class ApproveIn(BaseModel):
    comment: str = Field(default="", max_length=2000)


class ObjectionIn(BaseModel):
    criterion: str = Field(max_length=2000)
    comment: str = Field(min_length=1, max_length=2000)


class AnswerIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class DraftIn(BaseModel):
    yaml: str = Field(max_length=200_000)


class StepIn(BaseModel):
    note: str = Field(default="", max_length=2000)


class DataEndOut(BaseModel):
    """Where the data ends: the default as-of date of every figure, and what it leaves out."""

    last_month: dt.date
    last_activity: dt.date | None
    as_of: dt.date
    partial_month: dt.date | None
    caveats: list[str]


class Headline(BaseModel):
    as_of: str
    mrr: float | None
    active_accounts: int
    nrr: float | None
    grr: float | None
    logo_churn_rate: float | None
    quick_ratio: float | None
    nrr_accounts: int


class SegmentFindings(BaseModel):
    outcome: str
    label: str
    n_accounts: int
    base_rate: float | None
    segments_evaluated: int
    value: list[dict[str, Any]]
    risk: list[dict[str, Any]]
    caveats: list[str]


class AuditOut(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]


Cell = str | float | int | bool | None


class TokenOut(BaseModel):
    """An API token as listed (never the token itself: only its SHA-256 is kept)."""

    id: int
    person_id: str
    name: str
    scope: str = Field(description="full, or read for a read-only token")
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    state: str = Field(
        description="active, or why not: revoked, expired, person inactive, role changed"
    )


class ScoreIn(BaseModel):
    """Leads or open deals in the accounts or deals layout (``account_id`` fills the rest from
    the warehouse); rows with ``deal_id`` or ``outcome`` also get the deal-time fit check."""

    records: list[dict[str, Cell]] = Field(min_length=1, max_length=5000)
    version: str | None = Field(default=None, max_length=20, pattern=r"^v\d+$")


class ScoredRow(BaseModel):
    fit_score: float | None  # None: too few of the weighty attributes known (insufficient data)
    fit_tier: str
    churn_probability: float | None
    fit_points: int
    points_tier: str
    data_coverage: float | None = None
    reasons: str
    at_risk: bool | None = None
    risks: str | None = None


class ScoreOut(BaseModel):
    version: str
    tiers: dict[str, int]
    rows: list[ScoredRow]

"""App-store tables: the loop's workflow state (people, fit tags, flags, outbox, watch list, audit).

Table models only: API and CLI shapes live with their surfaces. Timestamps are timezone-aware UTC;
account ids are the warehouse's ``accounts.account_id`` (no foreign key across the two stores).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names keep migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite drops the zone: put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("the app store takes timezone-aware timestamps only")
        return value.astimezone(dt.UTC) if value is not None else None

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        dt.datetime: UtcDateTime(),
    }


class Person(Base):
    """Someone in the loop, with a role from ``icploop.ingest.schema.ROLES``."""

    __tablename__ = "people"

    person_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(30))
    manager_id: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(20), default="org")  # org table or admin
    created_at: Mapped[dt.datetime]
    # argon2 hash of the web password; None means the person cannot log in to the web app
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # raised at logout: every session cookie signed before then stops being valid
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class FitTag(Base):
    """One fit tag of an account. Tags are never overwritten: a change is a new row that
    supersedes the previous one (``current`` marks the one in force)."""

    __tablename__ = "fit_tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(200), index=True)
    tag: Mapped[str] = mapped_column(String(20))  # strong_fit | near_fit | bad_fit
    computed_tag: Mapped[str | None] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(20))  # computed | override | quick_check
    account_type: Mapped[str | None] = mapped_column(String(40))
    close_date: Mapped[dt.date | None] = mapped_column(Date)
    as_of: Mapped[dt.date] = mapped_column(Date)
    current: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("fit_tags.id"))
    rubric: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]

    signals: Mapped[list[FitSignal]] = relationship(
        back_populates="fit_tag", cascade="all, delete-orphan", order_by="FitSignal.name"
    )


class FitSignal(Base):
    """One of the five rubric signals behind a tag: the computed value with the numbers behind
    it, and a CSM's override (value, reason, who, when) kept beside it."""

    __tablename__ = "fit_signals"
    __table_args__ = (UniqueConstraint("fit_tag_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fit_tag_id: Mapped[int] = mapped_column(ForeignKey("fit_tags.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    computed_value: Mapped[str | None] = mapped_column(String(20))  # strong | near | bad
    value: Mapped[str | None] = mapped_column(String(20))
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    overridden_by: Mapped[str | None] = mapped_column(String(200))
    overridden_at: Mapped[dt.datetime | None]
    override_reason: Mapped[str | None] = mapped_column(Text)

    fit_tag: Mapped[FitTag] = relationship(back_populates="signals")


class Flag(Base):
    """A structured bad-fit flag: account | fit issue | evidence, with tag, AE, CSM and links."""

    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(200), index=True)
    fit_issue: Mapped[str] = mapped_column(String(40))
    evidence: Mapped[str] = mapped_column(Text)
    fit_tag_id: Mapped[int | None] = mapped_column(ForeignKey("fit_tags.id"))
    ae: Mapped[str | None] = mapped_column(String(200))
    csm: Mapped[str | None] = mapped_column(String(200))
    links: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # draft | sent | recorded (about data older than the backfill window: kept, not delivered)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    # the day of the data the flag is about (day 90 of the deal, a champion's departure);
    # None: raised by hand or before data dates were kept
    data_date: Mapped[dt.date | None] = mapped_column(Date)
    # triage: new | acknowledged | resolved, with who moved it there and when
    state: Mapped[str] = mapped_column(String(20), default="new", server_default="new")
    state_by: Mapped[str | None] = mapped_column(String(200))
    state_at: Mapped[dt.datetime | None]

    deliveries: Mapped[list[Delivery]] = relationship(back_populates="flag")


class Delivery(Base):
    """The outbox: one message to one recipient over one channel, retried until delivered.

    The unique constraint is what makes delivery at-most-once per flag, recipient and channel.
    """

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("flag_id", "recipient", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(200))
    recipient_role: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(20))  # webhook | email | crm_csv
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None]

    flag: Mapped[Flag] = relationship(back_populates="deliveries")


class WatchItem(Base):
    """A near-fit account on the 180-day watch list."""

    __tablename__ = "watch_list"
    __table_args__ = (UniqueConstraint("account_id", "fit_tag_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(200), index=True)
    fit_tag_id: Mapped[int] = mapped_column(ForeignKey("fit_tags.id"))
    due_date: Mapped[dt.date] = mapped_column(Date)
    added_at: Mapped[dt.datetime]
    reviewed_at: Mapped[dt.datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(Text)
    # not due again before this day (a snooze; its history is in the audit log)
    snoozed_until: Mapped[dt.date | None] = mapped_column(Date)

    fit_tag: Mapped[FitTag] = relationship()


class AuditEvent(Base):
    """Who did what, when: every change a person or a run makes to the app store."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class IcpVersionRecord(Base):
    """One version of the ICP document; ``content`` is ``icploop.icp.document.IcpContent``."""

    __tablename__ = "icp_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft|published|superseded
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id"))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime]
    published_by: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[dt.datetime | None]
    effective_date: Mapped[dt.date | None] = mapped_column(Date)
    superseded_at: Mapped[dt.datetime | None]
    # the roles whose approval publication needs (None: versions from before sign-off existed)
    required_roles: Mapped[list[str] | None] = mapped_column(JSON)
    # why RevOps published without every approval, when it did
    publish_override: Mapped[str | None] = mapped_column(Text)

    steps: Mapped[list[ImplementationStep]] = relationship(
        back_populates="version", order_by="ImplementationStep.id"
    )
    signoffs: Mapped[list[Signoff]] = relationship(back_populates="version", order_by="Signoff.id")


class Signoff(Base):
    """A role's approval of a draft ICP version, or its objection to one criterion, with the
    answer the objection got."""

    __tablename__ = "icp_signoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("icp_versions.id"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    person_id: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(20))  # approve | object
    criterion: Mapped[str | None] = mapped_column(Text)  # the rule objected to, as written
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(200))
    answered_at: Mapped[dt.datetime | None]
    # lead | named (their word is the team's) | member (recorded, answered, not the team's word)
    standing: Mapped[str | None] = mapped_column(String(10))

    version: Mapped[IcpVersionRecord] = relationship(back_populates="signoffs")


class TeamSigner(Base):
    """A person a team's lead named to sign off ICP drafts for the team."""

    __tablename__ = "icp_signers"
    __table_args__ = (UniqueConstraint("team", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[str] = mapped_column(String(200))
    named_by: Mapped[str] = mapped_column(String(200))
    named_at: Mapped[dt.datetime]


class Experiment(Base):
    """A go-to-market experiment on a segment: what changed, from when, against what control."""

    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # the segment: a list of ``icploop.rules.Rule`` as JSON, all of which must hold
    segment: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    change_kind: Mapped[str] = mapped_column(
        String(30)
    )  # campaign | messaging | qualification | other
    change: Mapped[str] = mapped_column(Text)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    # {"kind": "segment", "rules": [...]} or {"kind": "period", "start": ..., "end": ...};
    # None: the same segment before the start
    control: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime]


class ImplementationStep(Base):
    """A step that publishing starts: circulate, Marketing's timeline, CS's acknowledgement."""

    __tablename__ = "icp_steps"
    __table_args__ = (UniqueConstraint("version_id", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("icp_versions.id"))
    step: Mapped[str] = mapped_column(String(40))
    owner_role: Mapped[str] = mapped_column(String(30))
    due_date: Mapped[dt.date] = mapped_column(Date)
    done_by: Mapped[str | None] = mapped_column(String(200))
    done_at: Mapped[dt.datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    notified_at: Mapped[dt.datetime | None]

    version: Mapped[IcpVersionRecord] = relationship(back_populates="steps")


class Review(Base):
    """A quarterly ICP review: the evidence pack as built, and its proposed decisions."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    quarter: Mapped[str] = mapped_column(String(10), index=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    built_by: Mapped[str] = mapped_column(String(200))
    built_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | decided

    proposals: Mapped[list[Proposal]] = relationship(
        back_populates="review", order_by="Proposal.id"
    )


class Proposal(Base):
    """A decision the review proposes, with its evidence; people accept, edit or reject it."""

    __tablename__ = "review_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    kind: Mapped[str] = mapped_column(
        String(30)
    )  # criterion|lead_scoring|qualification|do_not_close
    title: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    decision: Mapped[str] = mapped_column(String(20), default="pending")
    edited_payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)

    review: Mapped[Review] = relationship(back_populates="proposals")


class ApiToken(Base):
    """A person's API token for ``/api/v1``. Only the SHA-256 of the token is stored, so a leaked
    database does not leak usable tokens; a revoked token stays for the audit trail. A token
    works until ``expires_at``, only while its person is active and still has the ``role`` it
    was issued for; ``scope`` ``read`` allows only what changes nothing."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.person_id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]
    scope: Mapped[str] = mapped_column(String(10), default="full", server_default="full")
    role: Mapped[str | None] = mapped_column(String(30))

"""the loop's workflow state: people, fit tags, flags, outbox, watch list, audit

Revision ID: 0001
Revises:
Create Date: 2026-11-23 12:29:25.607889
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "fit_tags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("tag", sa.String(length=20), nullable=False),
        sa.Column("computed_tag", sa.String(length=20), nullable=True),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("account_type", sa.String(length=40), nullable=True),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("rubric", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["supersedes_id"], ["fit_tags.id"], name=op.f("fk_fit_tags_supersedes_id_fit_tags")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fit_tags")),
    )
    with op.batch_alter_table("fit_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fit_tags_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fit_tags_current"), ["current"], unique=False)

    op.create_table(
        "people",
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("manager_id", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_people")),
    )
    op.create_table(
        "fit_signals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("fit_tag_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("computed_value", sa.String(length=20), nullable=True),
        sa.Column("value", sa.String(length=20), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("overridden_by", sa.String(length=200), nullable=True),
        sa.Column("overridden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["fit_tag_id"],
            ["fit_tags.id"],
            name=op.f("fk_fit_signals_fit_tag_id_fit_tags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fit_signals")),
        sa.UniqueConstraint("fit_tag_id", "name", name=op.f("uq_fit_signals_fit_tag_id")),
    )
    op.create_table(
        "flags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("fit_issue", sa.String(length=40), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("fit_tag_id", sa.Integer(), nullable=True),
        sa.Column("ae", sa.String(length=200), nullable=True),
        sa.Column("csm", sa.String(length=200), nullable=True),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["fit_tag_id"], ["fit_tags.id"], name=op.f("fk_flags_fit_tag_id_fit_tags")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flags")),
    )
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flags_account_id"), ["account_id"], unique=False)

    op.create_table(
        "watch_list",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("fit_tag_id", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["fit_tag_id"], ["fit_tags.id"], name=op.f("fk_watch_list_fit_tag_id_fit_tags")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_list")),
        sa.UniqueConstraint("account_id", "fit_tag_id", name=op.f("uq_watch_list_account_id")),
    )
    with op.batch_alter_table("watch_list", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_watch_list_account_id"), ["account_id"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("recipient_role", sa.String(length=30), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["flag_id"], ["flags.id"], name=op.f("fk_deliveries_flag_id_flags")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("flag_id", "recipient", "channel", name=op.f("uq_deliveries_flag_id")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_flag_id"), ["flag_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deliveries_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_status"))
        batch_op.drop_index(batch_op.f("ix_deliveries_flag_id"))

    op.drop_table("deliveries")
    with op.batch_alter_table("watch_list", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_watch_list_account_id"))

    op.drop_table("watch_list")
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flags_account_id"))

    op.drop_table("flags")
    op.drop_table("fit_signals")
    op.drop_table("people")
    with op.batch_alter_table("fit_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fit_tags_current"))
        batch_op.drop_index(batch_op.f("ix_fit_tags_account_id"))

    op.drop_table("fit_tags")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")

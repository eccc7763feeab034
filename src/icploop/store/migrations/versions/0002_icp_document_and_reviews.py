"""ICP versions, implementation steps, reviews and proposals

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:52:22.857103
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("quarter", sa.String(length=10), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("built_by", sa.String(length=200), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviews_quarter"), ["quarter"], unique=False)

    op.create_table(
        "icp_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_icp_versions_review_id_reviews")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_icp_versions")),
        sa.UniqueConstraint("number", name=op.f("uq_icp_versions_number")),
    )
    op.create_table(
        "review_proposals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("edited_payload", sa.JSON(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_review_proposals_review_id_reviews")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_proposals")),
    )
    with op.batch_alter_table("review_proposals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_proposals_review_id"), ["review_id"], unique=False
        )

    op.create_table(
        "icp_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("owner_role", sa.String(length=30), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("done_by", sa.String(length=200), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"], ["icp_versions.id"], name=op.f("fk_icp_steps_version_id_icp_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_icp_steps")),
        sa.UniqueConstraint("version_id", "step", name=op.f("uq_icp_steps_version_id")),
    )


def downgrade() -> None:
    op.drop_table("icp_steps")
    with op.batch_alter_table("review_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_proposals_review_id"))

    op.drop_table("review_proposals")
    op.drop_table("icp_versions")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviews_quarter"))

    op.drop_table("reviews")

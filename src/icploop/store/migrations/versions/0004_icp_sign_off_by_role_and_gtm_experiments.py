"""ICP sign-off by role and GTM experiments

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:05:37.515307
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("segment", sa.JSON(), nullable=False),
        sa.Column("change_kind", sa.String(length=30), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("control", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint("name", name=op.f("uq_experiments_name")),
    )
    op.create_table(
        "icp_signoffs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("criterion", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["icp_versions.id"],
            name=op.f("fk_icp_signoffs_version_id_icp_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_icp_signoffs")),
    )
    with op.batch_alter_table("icp_signoffs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_icp_signoffs_version_id"), ["version_id"], unique=False
        )

    with op.batch_alter_table("icp_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("required_roles", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("publish_override", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("icp_versions", schema=None) as batch_op:
        batch_op.drop_column("publish_override")
        batch_op.drop_column("required_roles")

    with op.batch_alter_table("icp_signoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_icp_signoffs_version_id"))

    op.drop_table("icp_signoffs")
    op.drop_table("experiments")

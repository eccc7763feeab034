"""The people a team names to sign off ICP drafts, and the standing of each sign-off

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "icp_signers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team", sa.String(length=20), nullable=False),
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("named_by", sa.String(length=200), nullable=False),
        sa.Column("named_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_icp_signers")),
        sa.UniqueConstraint("team", "person_id", name=op.f("uq_icp_signers_team")),
    )
    with op.batch_alter_table("icp_signoffs") as batch:
        # lead | named | member; None: recorded before standings existed (counted as binding)
        batch.add_column(sa.Column("standing", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("icp_signoffs") as batch:
        batch.drop_column("standing")
    op.drop_table("icp_signers")

"""Flags dated at their data and triaged (new, acknowledged, resolved); watch-list snoozes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flags") as batch:
        batch.add_column(sa.Column("data_date", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("state", sa.String(length=20), server_default="new", nullable=False)
        )
        batch.add_column(sa.Column("state_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("state_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("watch_list") as batch:
        batch.add_column(sa.Column("snoozed_until", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("watch_list") as batch:
        batch.drop_column("snoozed_until")
    with op.batch_alter_table("flags") as batch:
        batch.drop_column("state_at")
        batch.drop_column("state_by")
        batch.drop_column("state")
        batch.drop_column("data_date")

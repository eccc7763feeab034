"""A session epoch per person, so that logging out ends the session on the server

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(
            sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_column("session_epoch")

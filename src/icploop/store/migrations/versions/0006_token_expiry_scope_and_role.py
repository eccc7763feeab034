"""API tokens expire, may be read-only, and hold the role they were issued for

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 09:00:00.000000
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# tokens made before expiry existed get the default lifetime from their creation
DEFAULT_DAYS = 90


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("scope", sa.String(length=10), nullable=False, server_default="full")
        )
        batch.add_column(sa.Column("role", sa.String(length=30), nullable=True))
    tokens = sa.table(
        "api_tokens",
        sa.column("id", sa.Integer()),
        sa.column("person_id", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("expires_at", sa.DateTime(timezone=True)),
        sa.column("role", sa.String()),
    )
    people = sa.table("people", sa.column("person_id", sa.String()), sa.column("role", sa.String()))
    bind = op.get_bind()
    roles = dict(bind.execute(sa.select(people.c.person_id, people.c.role)).all())
    for token_id, person_id, created in bind.execute(
        sa.select(tokens.c.id, tokens.c.person_id, tokens.c.created_at)
    ).all():
        bind.execute(
            tokens.update()
            .where(tokens.c.id == token_id)
            .values(expires_at=created + dt.timedelta(days=DEFAULT_DAYS), role=roles.get(person_id))
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("role")
        batch.drop_column("scope")
        batch.drop_column("expires_at")

"""Routing to several professionals' groups: a case and an outbox row remember their group.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("handoff_group", sa.String(length=32), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("handoff_group", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("handoff_group")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("handoff_group")

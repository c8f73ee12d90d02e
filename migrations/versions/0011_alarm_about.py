"""Whose danger the last self-harm or suicide alarm was, when not the writer's own (a child, someone else): the
lines and the answers after them speak to the one who worries.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("alarm_about", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("alarm_about")

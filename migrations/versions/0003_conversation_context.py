"""Conversations remember the last answer given, what the last alarm was about (a crisis category), and several
children's ages when a user gave them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 02:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("last_answer", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("alarm", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("child_ages", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("child_ages")
        batch.drop_column("alarm")
        batch.drop_column("last_answer")

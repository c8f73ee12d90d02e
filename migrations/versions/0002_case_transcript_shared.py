"""Cases record whether the user agreed to share a transcript (never its text), for /mijngegevens.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 22:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("transcript_shared", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("transcript_shared")

"""Who is inside, when a young person said so, and what kind of carer a user is when not a parent: answers name
them ("je moeder", "je kleinkind") instead of "je vader of moeder" and "je kind".

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("inside", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("carer", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("carer")
        batch.drop_column("inside")

"""The inbound journal counts the messages sent for each update, notes when its last reply went out, and keeps the
replies its unit of work decided on (sealed, with the count of messages sent before them), so that a takeover
neither sends a message again nor handles the message again.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-11 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_updates") as batch:
        batch.add_column(sa.Column("sent", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("replied", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("replies", sa.Text(), nullable=True))
        batch.add_column(sa.Column("replies_from", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("inbound_updates") as batch:
        batch.drop_column("replies_from")
        batch.drop_column("replies")
        batch.drop_column("replied")
        batch.drop_column("sent")

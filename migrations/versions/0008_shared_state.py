"""State that several bot replicas share: the flood window and skipped questions on the conversation row, the
recent messages (encrypted) in a table of their own, and the replicas' heartbeat.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("skipped", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("flood_times", sa.Text(), nullable=True))
    op.create_table(
        "recent_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_key", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_key"],
            ["conversations.key"],
            name=op.f("fk_recent_messages_user_key_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recent_messages")),
    )
    op.create_index(op.f("ix_recent_messages_user_key"), "recent_messages", ["user_key"])
    op.create_index(op.f("ix_recent_messages_created_at"), "recent_messages", ["created_at"])
    op.create_table(
        "replicas",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replicas")),
    )
    op.create_index(op.f("ix_replicas_last_seen"), "replicas", ["last_seen"])


def downgrade() -> None:
    op.drop_index(op.f("ix_replicas_last_seen"), table_name="replicas")
    op.drop_table("replicas")
    op.drop_index(op.f("ix_recent_messages_created_at"), table_name="recent_messages")
    op.drop_index(op.f("ix_recent_messages_user_key"), table_name="recent_messages")
    op.drop_table("recent_messages")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("flood_times")
        batch.drop_column("skipped")

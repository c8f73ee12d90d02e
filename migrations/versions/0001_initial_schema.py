"""The initial schema: conversations, cases, relayed messages and professionals.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 21:19:05.299076
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=True),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("pending_intent", sa.String(length=64), nullable=True),
        sa.Column("offer_reason", sa.String(length=32), nullable=True),
        sa.Column("child_age", sa.Integer(), nullable=True),
        sa.Column("first_visit", sa.Boolean(), nullable=True),
        sa.Column("municipality", sa.String(length=64), nullable=True),
        sa.Column("safety_check", sa.Boolean(), nullable=False),
        sa.Column("safety_declines", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_conversations")),
    )
    op.create_table(
        "professionals",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_professionals")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_key", sa.String(length=64), nullable=False),
        sa.Column("pseudonym", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("risk", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("topic_id", sa.BigInteger(), nullable=True),
        sa.Column("chat_ref", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_name", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("realerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_key"], ["conversations.key"], name=op.f("fk_cases_user_key_conversations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_index(op.f("ix_cases_status"), "cases", ["status"], unique=False)
    op.create_index(op.f("ix_cases_topic_id"), "cases", ["topic_id"], unique=False)
    op.create_index(op.f("ix_cases_user_key"), "cases", ["user_key"], unique=False)
    op.create_table(
        "relayed_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("source_message_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_relayed_messages_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relayed_messages")),
        sa.UniqueConstraint(
            "case_id",
            "direction",
            "source_message_id",
            name=op.f("uq_relayed_messages_case_id_direction_source_message_id"),
        ),
    )
    op.create_index(op.f("ix_relayed_messages_case_id"), "relayed_messages", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_relayed_messages_case_id"), table_name="relayed_messages")
    op.drop_table("relayed_messages")
    op.drop_index(op.f("ix_cases_user_key"), table_name="cases")
    op.drop_index(op.f("ix_cases_topic_id"), table_name="cases")
    op.drop_index(op.f("ix_cases_status"), table_name="cases")
    op.drop_table("cases")
    op.drop_table("professionals")
    op.drop_table("conversations")

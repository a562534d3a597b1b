"""Conversations: handoff state, message log, FAQ feedback, satisfaction ratings.

Revision ID: 0002_conversations
Revises: 0001_tickets
Create Date: 2024-06-02

Constraint names follow bot.core.db.NAMING (spelled out: Alembic's op does not apply the
metadata convention). tests/conversations/test_service.py checks this file against
bot/conversations/models.py.
"""

from alembic import op
import sqlalchemy as sa

revision = "0002_conversations"
down_revision = "0001_tickets"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(160), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("handoff_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_message_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_conversations"),
    )
    op.create_index("ix_conversations_channel", "conversations", ["channel"])
    op.create_index("ix_conversations_handoff_active", "conversations", ["handoff_active"])

    op.create_table(
        "conversation_handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(160), nullable=False),
        sa.Column("ticket_number", sa.String(20), nullable=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("ended_by", sa.String(100), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_conversation_handoffs_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_handoffs"),
    )
    op.create_index(
        "ix_conversation_handoffs_conversation_id", "conversation_handoffs", ["conversation_id"]
    )

    op.create_table(
        "conversation_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(160), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(100), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.CheckConstraint(
            "direction IN ('in', 'out', 'staff')", name="ck_conversation_messages_direction"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_conversation_messages_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_messages"),
    )
    op.create_index(
        "ix_conversation_messages_conversation_id_id",
        "conversation_messages",
        ["conversation_id", "id"],
    )

    op.create_table(
        "faq_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(160), nullable=False),
        sa.Column("faq_id", sa.String(128), nullable=False),
        sa.Column("vote", sa.String(4), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("vote IN ('up', 'down')", name="ck_faq_feedback_vote"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_faq_feedback_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_faq_feedback"),
    )
    op.create_index("ix_faq_feedback_faq_id", "faq_feedback", ["faq_id"])
    op.create_index("ix_faq_feedback_created_at", "faq_feedback", ["created_at"])
    op.create_index(
        "uq_faq_feedback_conversation_id_faq_id",
        "faq_feedback",
        ["conversation_id", "faq_id"],
        unique=True,
    )

    op.create_table(
        "conversation_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(160), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="ck_conversation_ratings_rating"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_conversation_ratings_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_ratings"),
        sa.UniqueConstraint("dedupe_key", name="uq_conversation_ratings_dedupe_key"),
    )
    op.create_index(
        "ix_conversation_ratings_conversation_id", "conversation_ratings", ["conversation_id"]
    )
    op.create_index("ix_conversation_ratings_created_at", "conversation_ratings", ["created_at"])


def downgrade() -> None:
    op.drop_table("conversation_ratings")
    op.drop_table("faq_feedback")
    op.drop_table("conversation_messages")
    op.drop_table("conversation_handoffs")
    op.drop_table("conversations")

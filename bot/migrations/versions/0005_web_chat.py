"""Web chat: buttons offered per conversation, photos sent during a handoff.

Revision ID: 0005_web_chat
Revises: 0004_channel_outbox
Create Date: 2026-12-02

Constraint names follow bot.core.db.NAMING (spelled out: Alembic's op does not apply the
metadata convention). tests/conversations/test_service.py checks this file against
bot/conversations/models.py.
"""

from alembic import op
import sqlalchemy as sa

revision = "0005_web_chat"
down_revision = "0004_channel_outbox"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conversation_buttons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(160), nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("first_offered_at", TS, nullable=False),
        sa.Column("last_offered_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_conversation_buttons_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_buttons"),
    )
    op.create_index(
        "uq_conversation_buttons_conversation_id",
        "conversation_buttons",
        ["conversation_id", "payload_hash", "title"],
        unique=True,
    )

    op.create_table(
        "conversation_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(160), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_conversation_attachments_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["conversation_messages.id"],
            name="fk_conversation_attachments_message_id_conversation_messages",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_attachments"),
    )
    op.create_index(
        "ix_conversation_attachments_conversation_id", "conversation_attachments", ["conversation_id"]
    )
    op.create_index("ix_conversation_attachments_message_id", "conversation_attachments", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_conversation_attachments_message_id", table_name="conversation_attachments")
    op.drop_index("ix_conversation_attachments_conversation_id", table_name="conversation_attachments")
    op.drop_table("conversation_attachments")
    op.drop_index("uq_conversation_buttons_conversation_id", table_name="conversation_buttons")
    op.drop_table("conversation_buttons")

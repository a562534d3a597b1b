"""WeChat messages: one row per message or event, so WeChat's retries are answered once.

Revision ID: 0003_wechat_messages
Revises: 0002_conversations
Create Date: 2024-06-03

Constraint names follow bot.core.db.NAMING (spelled out: Alembic's op does not apply the
metadata convention). tests/channels/test_wechat_dedupe.py checks this file against
bot/channels/wechat_dedupe.py.
"""

from alembic import op
import sqlalchemy as sa

revision = "0003_wechat_messages"
down_revision = "0002_conversations"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "wechat_messages",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("openid", sa.String(128), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("replied_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_wechat_messages"),
    )
    op.create_index("ix_wechat_messages_created_at", "wechat_messages", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_wechat_messages_created_at", table_name="wechat_messages")
    op.drop_table("wechat_messages")

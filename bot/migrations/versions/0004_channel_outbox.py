"""Active messages to WeChat / WeCom, shared state of app instances, first handoff acknowledgement.

Revision ID: 0004_channel_outbox
Revises: 0003_wechat_messages
Create Date: 2026-11-27

- ``channel_outbox``: texts queued for a merchant on WeChat or WeCom (bot.channels.outbox);
- ``shared_state``: expiring keys every app instance sees: access tokens, refresh locks,
  callback nonces (bot.core.shared_state; Redis replaces it when configured);
- ``conversation_handoffs.acknowledged_at``: when the merchant got "已转给客服，请稍候" during
  this handoff, so they get it once.

Constraint names follow bot.core.db.NAMING. tests/channels/test_outbox.py checks this file against
the models.
"""

from alembic import op
import sqlalchemy as sa

revision = "0004_channel_outbox"
down_revision = "0003_wechat_messages"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channel_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("conversation_id", sa.String(160), nullable=False),
        sa.Column("recipient", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("conversation_message_id", sa.Integer(), nullable=True),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("locked_by", sa.String(64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_errcode", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_message_id"],
            ["conversation_messages.id"],
            name="fk_channel_outbox_conversation_message_id_conversation_messages",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name="fk_channel_outbox_notification_id_notifications",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_channel_outbox"),
        sa.UniqueConstraint("message_id", name="uq_channel_outbox_message_id"),
        sa.UniqueConstraint("dedupe_key", name="uq_channel_outbox_dedupe_key"),
    )
    op.create_index("ix_channel_outbox_status_next_attempt_at", "channel_outbox", ["status", "next_attempt_at"])
    op.create_index("ix_channel_outbox_conversation_id_status", "channel_outbox", ["conversation_id", "status"])
    op.create_index("ix_channel_outbox_recipient_status", "channel_outbox", ["recipient", "status"])

    op.create_table(
        "shared_state",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_shared_state"),
    )
    op.create_index("ix_shared_state_expires_at", "shared_state", ["expires_at"])

    with op.batch_alter_table("conversation_handoffs") as batch:
        batch.add_column(sa.Column("acknowledged_at", TS, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversation_handoffs") as batch:
        batch.drop_column("acknowledged_at")
    op.drop_index("ix_shared_state_expires_at", table_name="shared_state")
    op.drop_table("shared_state")
    op.drop_index("ix_channel_outbox_recipient_status", table_name="channel_outbox")
    op.drop_index("ix_channel_outbox_conversation_id_status", table_name="channel_outbox")
    op.drop_index("ix_channel_outbox_status_next_attempt_at", table_name="channel_outbox")
    op.drop_table("channel_outbox")

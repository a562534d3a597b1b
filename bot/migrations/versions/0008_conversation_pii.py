"""Phone vault: phone numbers typed in the chat, encrypted and short-lived, for the ticket form.

Revision ID: 0008_conversation_pii
Revises: 0007_staff_accounts
Create Date: 2026-12-02

The chat now masks phones, card numbers and ID numbers before anything is stored or sent
to Rasa (bot/masking.py). The ticket form still needs the real phone as the ticket's
contact: the chat keeps it here under its masked form (bot/conversations/vault.py).
"""

from alembic import op
import sqlalchemy as sa

TS = sa.DateTime(timezone=True)

revision = "0008_conversation_pii"
down_revision = "0007_staff_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_pii",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(160), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("masked", sa.String(32), nullable=False),
        sa.Column("sealed", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_pii"),
    )
    op.create_index("uq_conversation_pii_masked", "conversation_pii", ["conversation_id", "kind", "masked"], unique=True)
    op.create_index("ix_conversation_pii_expires_at", "conversation_pii", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_conversation_pii_expires_at", table_name="conversation_pii")
    op.drop_index("uq_conversation_pii_masked", table_name="conversation_pii")
    op.drop_table("conversation_pii")

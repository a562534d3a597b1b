"""FAQ turn log: the chat's FAQ decisions, for the unanswered queue and the analytics.

Revision ID: 0010_faq_turns
Revises: 0009_faq_live
Create Date: 2026-12-02

One row per merchant question the FAQ engine decided on (bot/analytics/models.py): the
masked question, the decision, the candidates with their scores, what the merchant took
afterwards, their 👍/👎, and how staff resolved it in the unanswered queue.
"""

from alembic import op
import sqlalchemy as sa

TS = sa.DateTime(timezone=True)

revision = "0010_faq_turns"
down_revision = "0009_faq_live"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "faq_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(160), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("entry_id", sa.String(128), nullable=True),
        sa.Column("top_score", sa.Float(), nullable=True),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("taken_entry_id", sa.String(128), nullable=True),
        sa.Column("vote", sa.String(4), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("resolved_by", sa.String(100), nullable=True),
        sa.Column("resolution", sa.String(12), nullable=True),
        sa.Column("resolved_entry_id", sa.String(128), nullable=True),
        sa.CheckConstraint("decision IN ('answer', 'suggest', 'none')", name="ck_faq_turns_decision"),
        sa.CheckConstraint("vote IS NULL OR vote IN ('up', 'down')", name="ck_faq_turns_vote"),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('wording', 'new_entry', 'ignored')", name="ck_faq_turns_resolution"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_faq_turns_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_faq_turns"),
    )
    op.create_index("ix_faq_turns_created_at", "faq_turns", ["created_at"])
    op.create_index("ix_faq_turns_conversation_id_id", "faq_turns", ["conversation_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_faq_turns_conversation_id_id", table_name="faq_turns")
    op.drop_index("ix_faq_turns_created_at", table_name="faq_turns")
    op.drop_table("faq_turns")

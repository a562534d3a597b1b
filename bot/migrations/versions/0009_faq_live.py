"""The live knowledge base: FAQ entries, negatives, source files, versions and the KB revision.

Revision ID: 0009_faq_live
Revises: 0008_conversation_pii
Create Date: 2026-12-02

The database becomes the FAQ's live source (bot/faq/store.py): the app seeds it from
data/faq/ on first start, staff edit it in /staff, every change is a version, and every
app instance reloads when ``faq_revision.revision`` moves.
"""

import sqlalchemy as sa
from alembic import op

TS = sa.DateTime(timezone=True)

revision = "0009_faq_live"
down_revision = "0008_conversation_pii"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "faq_entries",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("subcategory", sa.String(40), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("paraphrases", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("escalate", sa.String(20), nullable=True),
        sa.Column("provider_specific", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("retired_at", TS, nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_faq_entries"),
    )
    op.create_table(
        "faq_negatives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_faq_negatives"),
    )
    op.create_table(
        "faq_sources",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("header", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_faq_sources"),
    )
    op.create_table(
        "faq_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("note", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_faq_versions"),
        sa.UniqueConstraint("entry_id", "version", name="uq_faq_versions_entry_id_version"),
    )
    op.create_index("ix_faq_versions_entry_id", "faq_versions", ["entry_id"])
    op.create_table(
        "faq_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("seeded_at", TS, nullable=True),
        sa.Column("seed_hash", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_faq_revision"),
    )


def downgrade() -> None:
    op.drop_table("faq_revision")
    op.drop_index("ix_faq_versions_entry_id", table_name="faq_versions")
    op.drop_table("faq_versions")
    op.drop_table("faq_sources")
    op.drop_table("faq_negatives")
    op.drop_table("faq_entries")

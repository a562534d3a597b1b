"""Random ticket numbers: the per-day counter behind GD<date>-<NNNN> is no longer used.

Revision ID: 0006_random_ticket_numbers
Revises: 0005_web_chat
Create Date: 2026-12-01

Ticket numbers are now ``GD<YYYYMMDD>-<6 random characters>`` (bot/tickets/numbers.py), so
they cannot be walked. Existing numbers stay valid; nothing else in the schema changes.
Downgrading recreates the empty counter table: the old code then numbers each day from 0001
again, which the unique number column refuses on a day that already has old-style numbers.
"""

from alembic import op
import sqlalchemy as sa

revision = "0006_random_ticket_numbers"
down_revision = "0005_web_chat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("ticket_counters")


def downgrade() -> None:
    op.create_table(
        "ticket_counters",
        sa.Column("day", sa.String(8), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_ticket_counters"),
    )

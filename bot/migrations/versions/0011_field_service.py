"""Field service: the field job of consumables and visit tickets, and care-reminder opt-ins.

Revision ID: 0011_field_service
Revises: 0010_faq_turns
Create Date: 2026-12-02

Tickets of the new categories ``consumables`` and ``visit`` (the category column is a plain
string, nothing to migrate there) get one ``field_jobs`` row: items, delivery or pick-up,
address, service area, the booked or expected day, the outcome and the parts used
(bot/tickets/models.py FieldJob). ``care_reminders`` holds the merchants who asked for a
periodic care reminder through their chat channel (bot/field/reminders.py).
"""

from alembic import op
import sqlalchemy as sa

TS = sa.DateTime(timezone=True)

revision = "0011_field_service"
down_revision = "0010_faq_turns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "field_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("delivery_method", sa.String(10), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("service_area", sa.String(40), nullable=True),
        sa.Column("scheduled_date", sa.Date(), nullable=True),
        sa.Column("half_day", sa.String(2), nullable=True),
        sa.Column("outcome", sa.String(10), nullable=True),
        sa.Column("parts_used", sa.JSON(), nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_field_jobs_ticket_id_tickets"),
        sa.PrimaryKeyConstraint("id", name="pk_field_jobs"),
        sa.UniqueConstraint("ticket_id", name="uq_field_jobs_ticket_id"),
    )
    op.create_index("ix_field_jobs_service_area", "field_jobs", ["service_area"])
    op.create_index("ix_field_jobs_scheduled_date", "field_jobs", ["scheduled_date"])
    op.create_table(
        "care_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(160), nullable=False),
        sa.Column("merchant_id", sa.String(15), nullable=True),
        sa.Column("interval_days", sa.Integer(), nullable=False),
        sa.Column("next_due_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_sent_at", TS, nullable=True),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_care_reminders"),
        sa.UniqueConstraint("conversation_id", name="uq_care_reminders_conversation_id"),
    )
    op.create_index("ix_care_reminders_next_due_at", "care_reminders", ["next_due_at"])


def downgrade() -> None:
    op.drop_index("ix_care_reminders_next_due_at", table_name="care_reminders")
    op.drop_table("care_reminders")
    op.drop_index("ix_field_jobs_scheduled_date", table_name="field_jobs")
    op.drop_index("ix_field_jobs_service_area", table_name="field_jobs")
    op.drop_table("field_jobs")

"""ORM table of the care reminders merchants opt in to (migration 0011_field_service)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime


class CareReminder(Base):
    """One chat conversation that asked for a periodic care reminder (one row per conversation)."""

    __tablename__ = "care_reminders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(160), unique=True)
    merchant_id: Mapped[str | None] = mapped_column(String(15))
    interval_days: Mapped[int] = mapped_column(Integer)
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


FIELD_TABLES = ("care_reminders",)

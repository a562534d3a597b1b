"""ORM tables of the ticket domain (SQLAlchemy 2 typed declarative).

The matching DDL is migration ``0001_tickets``; ``tests/tickets/test_migration.py``
checks the two stay identical.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.core.db import Base, UTCDateTime
from bot.core.outbox import LeasedOutboxRow


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # bot.tickets.numbers
    category: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    priority: Mapped[str] = mapped_column(String(10))
    # Optional only for handoff tickets: a merchant may ask for a person before saying who they are.
    merchant_id: Mapped[str | None] = mapped_column(String(15), index=True)
    terminal_id: Mapped[str | None] = mapped_column(String(8))
    device_serial: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str | None] = mapped_column(String(11))
    description: Mapped[str] = mapped_column(Text)
    settlement_date: Mapped[date | None] = mapped_column(Date)
    # Money as integer fen: exact on SQLite too, which has no decimal type.
    settlement_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(20))
    sender_id: Mapped[str | None] = mapped_column(String(128))
    transcript: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    assignee: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    events: Mapped[list[TicketEvent]] = relationship(back_populates="ticket", order_by="TicketEvent.id", viewonly=True)
    # Consumables and visit tickets: what to deliver or do, where and when (bot.field).
    field_job: Mapped[FieldJob | None] = relationship(back_populates="ticket", uselist=False, lazy="selectin")

    # Optimistic locking: an UPDATE that lost a race matches no row (StaleDataError);
    # on SQLite, where SELECT ... FOR UPDATE does not exist, this is what keeps two
    # concurrent status changes from both passing the state machine check.
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_tickets_channel_sender_id", "channel", "sender_id"),)


class TicketEvent(Base):
    """Append-only history of a ticket; UPDATE and DELETE are refused in code and by triggers."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    type: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class FieldJob(Base):
    """The field work of a ``consumables`` or ``visit`` ticket, one row per ticket.

    Who does it is the ticket's assignee; done is the ticket resolved with the note as its
    resolution. ``scheduled_date`` is the expected delivery day of consumables and the
    booked day of a visit (``half_day`` am / pm): the maintainer's queue sorts by it.
    """

    __tablename__ = "field_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # consumables | installation | repair | relocation | training
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"code", "quantity"}], consumables only
    delivery_method: Mapped[str | None] = mapped_column(String(10))  # delivery | pickup
    address: Mapped[str | None] = mapped_column(Text)
    service_area: Mapped[str | None] = mapped_column(String(40), index=True)
    scheduled_date: Mapped[date | None] = mapped_column(Date, index=True)
    half_day: Mapped[str | None] = mapped_column(String(2))
    outcome: Mapped[str | None] = mapped_column(String(10))  # done | cancelled, None while to do
    parts_used: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    ticket: Mapped[Ticket] = relationship(back_populates="field_job")


class AppendOnlyViolation(RuntimeError):
    pass


@event.listens_for(TicketEvent, "before_update")
@event.listens_for(TicketEvent, "before_delete")
def _refuse_event_change(_mapper, _connection, target: TicketEvent) -> None:
    raise AppendOnlyViolation(f"ticket_events is append-only (event {target.id})")


class OutboxEvent(LeasedOutboxRow, Base):
    """A ticket event waiting for (or done with) delivery to the external webhook.

    Written in the same transaction as the ticket change, so an event exists if and
    only if the change committed. ``status``: pending → delivered | dead; the lease and
    retry columns come from ``LeasedOutboxRow``, events of one ticket go out in order.
    """

    __tablename__ = "outbox_events"
    group_column = "ticket_id"

    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    ticket_number: Mapped[str] = mapped_column(String(20))
    ticket_event_id: Mapped[int] = mapped_column(ForeignKey("ticket_events.id"))
    event_type: Mapped[str] = mapped_column(String(30))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class Notification(Base):
    """A message for the merchant's chat channel (e.g. "your ticket is resolved")."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    ticket_number: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    sender_id: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_notifications_channel_sender_id", "channel", "sender_id", "sent_at"),)


class ApiKey(Base):
    """An API key: only its SHA-256 is stored; ``prefix`` identifies it in lists and logs."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(20), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


TICKET_TABLES = (
    "tickets",
    "ticket_events",
    "outbox_events",
    "notifications",
    "api_keys",
)

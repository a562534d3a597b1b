"""The merchant notification queue: messages for the chat that opened a ticket, kept until sent.

``TicketService`` queues them (``queue``) in the transaction of the staff change they tell
about and records the matching ticket event; the chat reads them back (``pending``) and
marks them delivered (``mark_sent``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.channels.delivery import push_to_conversation
from bot.core.db import Database
from bot.core.settings import Settings
from bot.tickets import NotificationNotFound
from bot.tickets.models import Notification, Ticket
from bot.tickets.outputs import notification_out
from bot.tickets.schemas import NotificationOut


def queue(s: Session, settings: Settings, t: Ticket, text: str, now: datetime) -> Notification | None:
    """Queue one message for the chat that opened the ticket (nobody to tell without one)."""
    if not t.sender_id:
        return None
    n = Notification(
        ticket_id=t.id,
        ticket_number=t.number,
        channel=t.channel,
        sender_id=t.sender_id,
        text=text,
        created_at=now,
    )
    s.add(n)
    s.flush()
    push_to_conversation(s, settings, t.sender_id, n.text, kind="notification", notification_id=n.id)
    return n


def pending(db: Database, channel: str, sender_id: str | None = None, *, limit: int = 100) -> list[NotificationOut]:
    """Unsent notifications of a channel (optionally one chat user), oldest first."""
    q = select(Notification).where(Notification.channel == str(channel), Notification.sent_at.is_(None))
    if sender_id is not None:
        q = q.where(Notification.sender_id == sender_id)
    with db.session() as s:
        return [notification_out(n) for n in s.execute(q.order_by(Notification.id).limit(limit)).scalars()]


def mark_sent(db: Database, notification_id: int, clock: Callable[[], datetime]) -> NotificationOut:
    """Mark delivered to the chat user; idempotent (the first sent_at stays)."""
    with db.session() as s:
        n = s.get(Notification, notification_id)
        if n is None:
            raise NotificationNotFound(notification_id)
        if n.sent_at is None:
            n.sent_at = clock()
        return notification_out(n)

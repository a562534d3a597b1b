"""What staff see and do with the channel outbox: the message DTOs, listings, one conversation's
deliveries (``with_deliveries``, ``summary``) and re-queueing a failed or dead message.

The table, the writing side and the worker are ``bot.channels.outbox``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from bot.channels.outbox import ChannelMessage
from bot.core.db import Database, utcnow
from bot.core.outbox import DEAD, DELIVERED, FAILED, PENDING, requeue
from bot.tickets.cursors import decode_cursor, encode_cursor

log = logging.getLogger(__name__)


class ChannelMessageOut(BaseModel):
    message_id: str
    channel: str
    conversation_id: str
    kind: str = Field(..., description="reply (a slow bot answer) | staff | notice | notification")
    text: str
    part: int
    parts: int
    status: str = Field(..., description="pending | delivered | failed (refused, not retried) | dead")
    attempts: int
    last_errcode: int | None = Field(None, description="The WeChat/WeCom errcode of the last attempt (e.g. 45015).")
    last_error: str | None = None
    conversation_message_id: int | None = None
    created_at: datetime
    delivered_at: datetime | None = None
    next_attempt_at: datetime | None = None


class ChannelMessagePage(BaseModel):
    items: list[ChannelMessageOut]
    next_cursor: str | None = None


def message_out(m: ChannelMessage) -> ChannelMessageOut:
    return ChannelMessageOut(
        message_id=m.message_id,
        channel=m.channel,
        conversation_id=m.conversation_id,
        kind=m.kind,
        text=m.text,
        part=m.part,
        parts=m.parts,
        status=m.status,
        attempts=m.attempts,
        last_errcode=m.last_errcode,
        last_error=m.last_error,
        conversation_message_id=m.conversation_message_id,
        created_at=m.created_at,
        delivered_at=m.delivered_at,
        next_attempt_at=m.next_attempt_at if m.status == PENDING else None,
    )


def for_conversation(db: Database, conversation_id: str, limit: int = 200) -> list[ChannelMessageOut]:
    """The latest active messages of one conversation, oldest first."""
    with db.session() as s:
        rows = s.execute(
            select(ChannelMessage)
            .where(ChannelMessage.conversation_id == conversation_id)
            .order_by(ChannelMessage.id.desc())
            .limit(max(1, min(limit, 1000)))
        ).scalars()
        return [message_out(m) for m in reversed(list(rows))]


def list_messages(db: Database, status: str, *, cursor: str | None = None, limit: int = 50) -> ChannelMessagePage:
    """Rows of one status, oldest first, keyset-paginated."""
    limit = max(1, min(limit, 100))
    with db.session() as s:
        q = select(ChannelMessage).where(ChannelMessage.status == status)
        if cursor:
            q = q.where(ChannelMessage.id > decode_cursor("c1", cursor))
        rows = s.execute(q.order_by(ChannelMessage.id).limit(limit + 1)).scalars().all()
        items = [message_out(m) for m in rows[:limit]]
        nxt = encode_cursor("c1", rows[limit - 1].id) if len(rows) > limit else None
    return ChannelMessagePage(items=items, next_cursor=nxt)


def get_message(db: Database, message_id: str) -> ChannelMessageOut | None:
    with db.session() as s:
        row = s.execute(select(ChannelMessage).where(ChannelMessage.message_id == message_id)).scalar_one_or_none()
        return message_out(row) if row is not None else None


def retry_message(db: Database, message_id: str, now: datetime | None = None) -> ChannelMessageOut | None:
    """Queue a failed or dead message again with a fresh attempt budget; None if unknown.

    A delivered message is returned unchanged: sending it again would reach the merchant twice.
    """
    now = now or utcnow()
    with db.session() as s:
        row = s.execute(select(ChannelMessage).where(ChannelMessage.message_id == message_id)).scalar_one_or_none()
        if row is None:
            return None
        if row.status != DELIVERED:
            requeue(row, now)
            log.info("channel message %s queued again by staff", message_id)
        return message_out(row)


def summary(rows: list[ChannelMessageOut]) -> dict[str, Any]:
    """One delivery state for a message sent in several parts: the least delivered part wins."""
    order = {FAILED: 0, DEAD: 1, PENDING: 2, DELIVERED: 3}
    worst = min(rows, key=lambda r: order.get(r.status, 0))
    return {
        "status": worst.status,
        "errcode": worst.last_errcode,
        "error": worst.last_error,
        "attempts": max(r.attempts for r in rows),
        "delivered_at": worst.delivered_at if worst.status == DELIVERED else None,
        "message_id": worst.message_id,
    }


def with_deliveries(detail, db: Database):
    """A conversation detail (``bot.conversations.schemas``) with each message's active delivery filled in."""
    # local import: import cycle (bot.conversations.schemas embeds ChannelMessageOut)
    from bot.conversations.schemas import DeliveryOut

    rows = for_conversation(db, detail.conversation_id, limit=1000)
    by_message: dict[int, list[ChannelMessageOut]] = {}
    for r in rows:
        if r.conversation_message_id is not None:
            by_message.setdefault(r.conversation_message_id, []).append(r)
    messages = [
        m.model_copy(update={"delivery": DeliveryOut(**summary(by_message[m.id]))}) if m.id in by_message else m
        for m in detail.messages
    ]
    return detail.model_copy(update={"messages": messages, "deliveries": rows})

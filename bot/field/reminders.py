"""Periodic care reminders the merchant opts in to ("提醒我保养"), sent through their own channel.

One row per conversation (``care_reminders``). ``send_due`` writes each due reminder as a
system message of the conversation — the web widget fetches it with its other updates
(``GET /api/chat/updates``), WeChat and WeCom get it pushed through the channel outbox —
and moves the reminder on by its interval. Run it from cron or a timer:
``posbot field remind`` (idempotent: a reminder is due once per interval).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.channels.delivery import push_to_conversation
from bot.conversations.models import Conversation, ConversationMessage
from bot.core.db import Database, utcnow
from bot.core.settings import Settings
from bot.field.care import checklist
from bot.field.models import CareReminder

log = logging.getLogger(__name__)
HEAD = "⏰ 定期保养提醒：花几分钟照着做一遍，机器更耐用～"
FOOT = "不想再收到的话，回复“不用提醒保养了”。"


def opt_in(
    db: Database, conversation_id: str, merchant_id: str | None, days: int, *, now: datetime | None = None
) -> CareReminder:
    """Start (or restart) the reminder of one conversation; the first comes after ``days``."""
    now = now or utcnow()
    with db.session() as s:
        row = s.execute(
            select(CareReminder).where(CareReminder.conversation_id == conversation_id)
        ).scalar_one_or_none()
        if row is None:
            row = CareReminder(conversation_id=conversation_id, created_at=now, interval_days=days, next_due_at=now)
            s.add(row)
        row.merchant_id = merchant_id or row.merchant_id
        row.interval_days = days
        row.next_due_at = now + timedelta(days=days)
        row.cancelled_at = None
        s.flush()
        s.expunge(row)
        return row


def opt_out(db: Database, conversation_id: str, *, now: datetime | None = None) -> bool:
    """Stop the reminder; False when there was none running."""
    with db.session() as s:
        row = s.execute(
            select(CareReminder).where(CareReminder.conversation_id == conversation_id)
        ).scalar_one_or_none()
        if row is None or row.cancelled_at is not None:
            return False
        row.cancelled_at = now or utcnow()
        return True


def active(db: Database, conversation_id: str) -> bool:
    with db.session() as s:
        row = s.execute(
            select(CareReminder).where(CareReminder.conversation_id == conversation_id)
        ).scalar_one_or_none()
        return row is not None and row.cancelled_at is None


def reminder_text() -> str:
    return f"{HEAD}\n{checklist()}\n{FOOT}"


def send_due(db: Database, settings: Settings, *, now: datetime | None = None, limit: int = 500) -> int:
    """Queue every due reminder as a message of its conversation; returns how many were queued."""
    now = now or utcnow()
    sent = 0
    text = reminder_text()
    with db.session() as s:
        rows = s.execute(
            select(CareReminder)
            .where(CareReminder.cancelled_at.is_(None), CareReminder.next_due_at <= now)
            .order_by(CareReminder.next_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
        for row in rows:
            conv = s.get(Conversation, row.conversation_id)
            if conv is None:
                # The conversation was erased (data protection): nobody left to remind.
                row.cancelled_at = now
                continue
            m = ConversationMessage(
                conversation_id=conv.id, direction="out", text=text, author="system", created_at=now
            )
            s.add(m)
            s.flush()
            push_to_conversation(s, settings, conv.id, text, kind="notice", conversation_message_id=m.id)
            row.last_sent_at = now
            while row.next_due_at <= now:  # a missed run does not send a burst of reminders
                row.next_due_at += timedelta(days=row.interval_days)
            sent += 1
    if sent:
        log.info("care reminders queued: %d", sent)
    return sent

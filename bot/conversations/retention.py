"""Retention: delete conversations nobody has written in for a while, everywhere they are kept.

A conversation is old when its last message (or, without one, its start) is older than the
cutoff, no person owns it right now (an open handoff is kept whatever its age) and the merchant
has not asked for care reminders in it (an active ``care_reminders`` row keeps it too). For each
old conversation, in batches of one transaction each:

* the project tables: transcript lines (``conversation_messages``), photos
  (``conversation_attachments``), offered buttons, FAQ feedback, ratings, handoffs, the
  ``conversations`` row itself, the phone vault (``conversation_pii``), cancelled care
  reminders and the channel outbox's finished rows (``channel_outbox``; pending ones are still
  to be delivered and stay);
* Rasa's tracker store (``events``, same database): every event of that sender id.

Besides, Rasa trackers whose newest event is older than the cutoff and that have no
conversation row (written before the app kept transcripts) are deleted, and so are expired
vault rows and WeChat de-duplication rows (``wechat_messages``) older than the cutoff.
Tickets are the company's records and are not touched: they keep their own masked copy of
the transcript. A running Rasa notices a pruned tracker (its cache checks the newest stored
event every turn) and starts afresh if the merchant ever comes back.

``prune(..., dry_run=True)`` counts what would go without deleting anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import MetaData, Table, and_, delete, func, inspect, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.channels.outbox import ChannelMessage
from bot.channels.wechat_dedupe import WeChatMessage
from bot.conversations.models import (
    Conversation,
    ConversationAttachment,
    ConversationMessage,
    ConversationRating,
    FaqFeedback,
    Handoff,
    OfferedButton,
)
from bot.conversations.vault import ConversationPii
from bot.core.db import Database, rowcount, utcnow
from bot.core.outbox import PENDING
from bot.field.models import CareReminder

RASA_EVENTS = "events"  # Rasa's SQLTrackerStore table (bot.rasa_ext.tracker_store)
BATCH = 200

# Tables keyed by conversation id, children before parents. Each label is what `prune` reports.
PER_CONVERSATION = (
    ("photos", ConversationAttachment, ConversationAttachment.conversation_id),
    ("channel_outbox", ChannelMessage, ChannelMessage.conversation_id),
    ("messages", ConversationMessage, ConversationMessage.conversation_id),
    ("buttons", OfferedButton, OfferedButton.conversation_id),
    ("feedback", FaqFeedback, FaqFeedback.conversation_id),
    ("ratings", ConversationRating, ConversationRating.conversation_id),
    ("handoffs", Handoff, Handoff.conversation_id),
    ("phone_vault", ConversationPii, ConversationPii.conversation_id),
    ("care_reminders", CareReminder, CareReminder.conversation_id),
)


LABELS = (
    "conversations",
    *(label for label, _, _ in PER_CONVERSATION),
    "rasa_events",
    "rasa_trackers_without_conversation",
    "wechat_dedupe",
)


@dataclass
class PruneReport:
    cutoff: datetime
    dry_run: bool
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABELS, 0))

    def add(self, label: str, n: int) -> None:
        self.counts[label] = self.counts.get(label, 0) + int(n or 0)


def _chunks(items: list, size: int = BATCH):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _events_table(db: Database) -> Table | None:
    """Rasa's events table, when Rasa ever ran on this database."""
    if not inspect(db.engine).has_table(RASA_EVENTS):
        return None
    return Table(RASA_EVENTS, MetaData(), autoload_with=db.engine)


def _old(cutoff: datetime):
    """The conversations retention removes: quiet since before ``cutoff``, nobody handling them."""
    last = func.coalesce(Conversation.last_message_at, Conversation.created_at)
    reminded = select(CareReminder.conversation_id).where(CareReminder.cancelled_at.is_(None))
    return select(Conversation.id).where(
        last < cutoff, Conversation.handoff_active.is_(False), Conversation.id.not_in(reminded)
    )


def old_conversations(s: Session, cutoff: datetime) -> list[str]:
    return list(s.scalars(_old(cutoff).order_by(Conversation.id)))


def _count_or_delete(s: Session, model, condition, dry_run: bool) -> int:
    if dry_run:
        return s.scalar(select(func.count()).select_from(model).where(condition)) or 0
    return rowcount(s.execute(delete(model).where(condition)))


def prune(
    db: Database, older_than: timedelta, *, dry_run: bool = False, clock: Callable[[], datetime] = utcnow
) -> PruneReport:
    """Delete (or with ``dry_run`` count) what retention removes; see the module docstring."""
    if older_than <= timedelta(0):
        raise ValueError("older_than must be positive")
    cutoff = clock() - older_than
    report = PruneReport(cutoff=cutoff, dry_run=dry_run)
    events = _events_table(db)
    with db.session() as s:
        conv_ids = old_conversations(s, cutoff)
    for batch in _chunks(conv_ids):
        with db.session() as s:
            for label, model, column in PER_CONVERSATION:
                condition: ColumnElement[bool] = column.in_(batch)
                if model is ChannelMessage:  # still to be delivered: not ours to drop
                    condition = and_(condition, ChannelMessage.status != PENDING)
                report.add(label, _count_or_delete(s, model, condition, dry_run))
            if events is not None:
                report.add("rasa_events", _count_or_delete(s, events, events.c.sender_id.in_(batch), dry_run))
            report.add("conversations", _count_or_delete(s, Conversation, Conversation.id.in_(batch), dry_run))
    if events is not None:
        _prune_orphan_trackers(db, events, cutoff, report)
    with db.session() as s:
        expired = and_(
            or_(ConversationPii.expires_at < clock(), ConversationPii.created_at < cutoff),
            ~ConversationPii.conversation_id.in_(_old(cutoff)),  # counted above (dry run: still there)
        )
        report.add("phone_vault", _count_or_delete(s, ConversationPii, expired, dry_run))
        report.add("wechat_dedupe", _count_or_delete(s, WeChatMessage, WeChatMessage.created_at < cutoff, dry_run))
    return report


def _prune_orphan_trackers(db: Database, events: Table, cutoff: datetime, report: PruneReport) -> None:
    """Rasa trackers without a conversation row whose newest event is older than the cutoff."""
    with db.session() as s:
        senders = list(
            s.scalars(
                select(events.c.sender_id)
                .where(~events.c.sender_id.in_(select(Conversation.id)))
                .group_by(events.c.sender_id)
                .having(func.max(events.c.timestamp) < cutoff.timestamp())
            )
        )
    for batch in _chunks(senders):
        with db.session() as s:
            report.add("rasa_events", _count_or_delete(s, events, events.c.sender_id.in_(batch), report.dry_run))
    report.add("rasa_trackers_without_conversation", len(senders))

"""Active messages to WeChat followers and WeCom members: the channel outbox.

Whatever reaches a merchant outside a passive reply goes through here: a bot answer that took
longer than WeChat waits, staff replies during 转人工, the hand-back notice, ticket
notifications. ``enqueue`` adds one ``channel_outbox`` row per part (long texts are split at
the channel's length limit) in the caller's transaction, so the message exists if and only if
what it announces committed. ``ChannelOutboxWorker`` (the shared loop of ``bot.core.outbox``)
sends the rows through the channel's API client (``bot.channels.tencent``) in order per
conversation, retries transient errors with backoff, dead-letters after
``push_max_attempts``, and records a refusal that retrying cannot fix (WeChat's 45015: the
merchant has not written for 48 hours; 45047: the send quota of the merchant's last message
is used up) as ``failed`` with the error code, for staff to see. Those two are sent again
when the merchant next writes (``requeue_blocked``).

Each row has its own ``message_id``; an optional ``dedupe_key`` makes enqueueing idempotent
(a retried request never queues a message twice). A row is sent at most once per claim: the
only window for a second send is a process killed after WeChat accepted the message and
before the result was committed (WeCom's duplicate check covers that window there).

What staff see of these rows (listings, per-conversation deliveries, retry) is
``bot.channels.outbox_staff``.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Literal, Protocol, cast

from sqlalchemy import ForeignKey, Integer, String, Table, Text, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.channels.text import split_text
from bot.conversations.models import ConversationMessage
from bot.core.db import Base, Database, rowcount, utcnow
from bot.core.outbox import (
    FAILED,
    PENDING,
    Attempt,
    LeasedOutboxRow,
    LeasedOutboxWorker,
    RetryPolicy,
)
from bot.core.settings import Settings
from bot.tickets.models import Notification

log = logging.getLogger(__name__)

CANCELLED_UNSUBSCRIBED = "unsubscribed: the follower left the Official Account"
# WeChat refusals that end when the merchant writes again (see requeue_blocked).
BLOCKED_CODES = (45015, 45047)
Kind = Literal["reply", "staff", "notice", "notification"]
KINDS = ("reply", "staff", "notice", "notification")


class ChannelMessage(LeasedOutboxRow, Base):
    """One text for one recipient on WeChat or WeCom; ``status``: pending → delivered | failed | dead.

    The lease and retry columns come from ``LeasedOutboxRow``; messages of one conversation go
    out in order, and a recipient's rows are found by ``requeue_blocked`` and ``cancel_pending``.
    """

    __tablename__ = "channel_outbox"
    group_column = "conversation_id"
    extra_indexes = (("recipient", "status"),)

    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    conversation_id: Mapped[str] = mapped_column(String(160))
    recipient: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    part: Mapped[int] = mapped_column(Integer)
    parts: Mapped[int] = mapped_column(Integer)
    conversation_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversation_messages.id", ondelete="SET NULL")
    )
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id", ondelete="SET NULL"))
    # The WeChat/WeCom errcode of the last attempt (45015, 45047: see BLOCKED_CODES).
    last_errcode: Mapped[int | None] = mapped_column(Integer, sort_order=1)


# --- writing side ---------------------------------------------------------------------------


def enqueue(
    s: Session,
    *,
    channel: str,
    conversation_id: str,
    recipient: str,
    text: str,
    kind: Kind,
    max_bytes: int,
    now: datetime,
    conversation_message_id: int | None = None,
    notification_id: int | None = None,
    dedupe_key: str | None = None,
) -> list[ChannelMessage]:
    """Add the rows of one message (one per part) to the caller's transaction; idempotent per ``dedupe_key``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    parts = split_text(text, max_bytes)
    if dedupe_key is not None:
        existing = (
            s.execute(
                select(ChannelMessage).where(ChannelMessage.dedupe_key.startswith(f"{dedupe_key}#", autoescape=True))
            )
            .scalars()
            .all()
        )
        if existing:
            return list(existing)
    rows = []
    for i, part in enumerate(parts, 1):
        row = ChannelMessage(
            message_id=str(uuid.uuid4()),
            dedupe_key=f"{dedupe_key}#{i}"[:200] if dedupe_key else None,
            channel=channel,
            conversation_id=conversation_id,
            recipient=recipient,
            kind=kind,
            text=part,
            part=i,
            parts=len(parts),
            conversation_message_id=conversation_message_id,
            notification_id=notification_id,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        s.add(row)
        rows.append(row)
    s.flush()
    return rows


def requeue_blocked(db: Database, channel: str, recipient: str, since: datetime, now: datetime) -> int:
    """The merchant wrote again: messages WeChat refused for their absence (45015/45047) go out now."""
    with db.session() as s:
        done = s.execute(
            update(ChannelMessage)
            .where(
                ChannelMessage.channel == channel,
                ChannelMessage.recipient == recipient,
                ChannelMessage.status == FAILED,
                ChannelMessage.last_errcode.in_(BLOCKED_CODES),
                ChannelMessage.created_at >= since,
            )
            .values(status=PENDING, attempts=0, next_attempt_at=now)
        )
        n = rowcount(done)
    if n:
        log.info("%s %s is back: %d refused message(s) queued again", channel, recipient, n)
    return n


def cancel_pending(db: Database, channel: str, recipient: str, reason: str) -> int:
    """Stop sending to a recipient who left (unsubscribed): pending rows end ``failed`` with ``reason``."""
    with db.session() as s:
        done = s.execute(
            update(ChannelMessage)
            .where(
                ChannelMessage.channel == channel,
                ChannelMessage.recipient == recipient,
                ChannelMessage.status == PENDING,
            )
            .values(status=FAILED, last_error=reason, locked_until=None, locked_by=None)
        )
        return rowcount(done)


# --- delivery side ---------------------------------------------------------------------------


class ChannelSender(Protocol):
    """One channel's API client, as the worker uses it (``bot.channels.tencent``)."""

    async def send_text(self, recipient: str, text: str) -> Attempt: ...

    async def aclose(self) -> None: ...


def push_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.push_max_attempts,
        backoff_base_s=settings.push_backoff_base_s,
        backoff_max_s=settings.push_backoff_max_s,
        poll_interval_s=settings.push_poll_interval_s,
        # a send may refresh the access token first: two HTTP calls
        timeout_s=settings.push_timeout_s * 2,
    )


class ChannelOutboxWorker(LeasedOutboxWorker):
    """Sends due ``channel_outbox`` rows through the sender of their channel."""

    table = cast(Table, ChannelMessage.__table__)
    group_column = ChannelMessage.group_column
    claim_columns = (
        "message_id",
        "channel",
        "recipient",
        "text",
        "kind",
        "part",
        "parts",
        "conversation_message_id",
        "notification_id",
    )
    task_name = "posbot-channel-outbox"

    def __init__(
        self,
        db: Database,
        settings: Settings,
        senders: Mapping[str, ChannelSender],
        *,
        clock: Callable[[], datetime] = utcnow,
        batch_size: int = 10,
        lease_seconds: float | None = None,
        worker_id: str | None = None,
        rand: Callable[[], float] = random.random,
    ):
        super().__init__(
            db,
            push_policy(settings),
            clock=clock,
            batch_size=batch_size,
            lease_seconds=lease_seconds,
            worker_id=worker_id,
            rand=rand,
            log=log,
        )
        self.settings = settings
        self.senders = dict(senders)

    def ready(self) -> bool:
        return bool(self.senders)

    def describe(self, row: Row) -> str:
        return f"{row.channel} message {row.message_id} ({row.kind} {row.part}/{row.parts})"

    async def start(self) -> bool:
        started = await super().start()
        if started:
            log.info("channel outbox %s sending to %s", self.worker_id, ", ".join(sorted(self.senders)))
        return started

    async def deliver(self, row: Row) -> Attempt:
        sender = self.senders.get(row.channel)
        if sender is None:
            return Attempt(False, None, f"channel {row.channel} has no API credentials configured")
        return await sender.send_text(row.recipient, row.text)

    def on_delivered(self, s: Session, row: Row, attempts: int, attempt: Attempt, now: datetime) -> None:
        if row.part != row.parts:
            return
        # The whole message reached the merchant: what it announces is delivered too.
        if row.conversation_message_id is not None:
            s.execute(
                update(ConversationMessage)
                .where(
                    ConversationMessage.id == row.conversation_message_id, ConversationMessage.delivered_at.is_(None)
                )
                .values(delivered_at=now)
            )
        if row.notification_id is not None:
            s.execute(
                update(Notification)
                .where(Notification.id == row.notification_id, Notification.sent_at.is_(None))
                .values(sent_at=now)
            )

    async def aclose(self) -> None:
        for sender in self.senders.values():
            await sender.aclose()


def blocked_since(settings: Settings, now: datetime) -> datetime:
    return now - timedelta(days=settings.push_resend_days)

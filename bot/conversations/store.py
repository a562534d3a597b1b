"""What every part of the conversation service shares: the base class, row helpers, row→DTO converters.

The parts (``transcript``, ``buttons``, ``handoff``, ``outgoing``, ``photos``, ``feedback``) each
subclass ``ConversationStore`` and work inside one ``with self.db.session()`` per public
method. The helpers here take that session: they are for this package's parts only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.conversations.models import CONV_ID_MAX, Conversation, ConversationAttachment, ConversationMessage, Handoff
from bot.conversations.schemas import AttachmentOut, ConversationState, HandoffOut, MessageOut
from bot.core.db import Database, utcnow
from bot.vocabulary import channel_of


class ConversationNotFound(LookupError):
    def __init__(self, conv_id: str):
        super().__init__(f"会话 {conv_id} 不存在 / conversation {conv_id} not found")
        self.conv_id = conv_id


class ConversationStore:
    """The database, the settings (timezone, active delivery) and the clock every part works with.

    Every text a part stores (transcript lines, staff replies, feedback reasons) is masked first.
    """

    def __init__(self, db: Database, settings=None, *, clock: Callable[[], datetime] = utcnow):
        self.db = db
        self.settings = settings
        self.clock = clock


# --- rows -----------------------------------------------------------------------------------


def upsert_insert(s: Session):
    """The dialect's ``insert`` (with ``on_conflict_do_update``) for the session's database."""
    dialect = s.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def check_conv_id(conv_id: str) -> str:
    if not conv_id or len(conv_id) > CONV_ID_MAX:
        raise ValueError(f"conversation id must be 1-{CONV_ID_MAX} characters")
    return conv_id


def new_conversation(conv_id: str, channel: str | None, now: datetime) -> Conversation:
    return Conversation(id=conv_id, channel=channel or channel_of(conv_id), handoff_active=False, created_at=now)


def ensure(s: Session, conv_id: str, now: datetime, channel: str | None = None) -> Conversation:
    """The conversation's row, created when this is its first line."""
    conv = s.get(Conversation, check_conv_id(conv_id))
    if conv is not None:
        return conv
    try:
        # Savepoint: the app service and the action endpoint may create the row at once.
        with s.begin_nested():
            conv = new_conversation(conv_id, channel, now)
            s.add(conv)
    except IntegrityError:
        conv = s.get(Conversation, conv_id)
        if conv is None:
            raise
    return conv


def lock(s: Session, conv: Conversation) -> None:
    """Serialize writers of one conversation until this transaction ends.

    A no-op UPDATE takes the row lock (PostgreSQL) or the database's write lock (SQLite)
    before the caller looks at the current state, so a concurrent caller waits and then sees
    what the first one committed: two simultaneous start_handoff calls open one handoff.
    """
    s.execute(
        update(Conversation)
        .where(Conversation.id == conv.id)
        .values(handoff_active=Conversation.handoff_active)
        .execution_options(synchronize_session=False)
    )
    s.refresh(conv)


def load(s: Session, conv_id: str) -> Conversation:
    """An existing conversation's row, else ``ConversationNotFound``."""
    conv = s.get(Conversation, conv_id)
    if conv is None:
        raise ConversationNotFound(conv_id)
    return conv


def latest_handoff(s: Session, conv_id: str) -> Handoff | None:
    return s.execute(
        select(Handoff).where(Handoff.conversation_id == conv_id).order_by(Handoff.id.desc()).limit(1)
    ).scalar_one_or_none()


# --- row → DTO --------------------------------------------------------------------------------


def attachment_out(a: ConversationAttachment) -> AttachmentOut:
    return AttachmentOut(
        id=a.id, content_type=a.content_type, size=a.size, width=a.width, height=a.height, created_at=a.created_at
    )


def message_out(m: ConversationMessage, attachment: ConversationAttachment | None = None) -> MessageOut:
    return MessageOut(
        id=m.id,
        direction=m.direction,
        text=m.text,
        author=m.author,
        actor=m.actor,
        created_at=m.created_at,
        delivered_at=m.delivered_at,
        attachment=attachment_out(attachment) if attachment is not None else None,
    )


def handoff_out(h: Handoff) -> HandoffOut:
    return HandoffOut(
        id=h.id,
        ticket_number=h.ticket_number,
        reason=h.reason,
        started_at=h.started_at,
        ended_at=h.ended_at,
        ended_by=h.ended_by,
    )


def state_out(s: Session, conv: Conversation) -> ConversationState:
    """The conversation with its latest handoff (what the handoff calls and the staff API return)."""
    h = latest_handoff(s, conv.id)
    return ConversationState(
        conversation_id=conv.id,
        channel=conv.channel,
        handoff_active=conv.handoff_active,
        handoff=handoff_out(h) if h is not None else None,
        created_at=conv.created_at,
        last_message_at=conv.last_message_at,
    )

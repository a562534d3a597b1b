"""ORM tables of conversations: handoff state, message log, FAQ feedback and ratings.

The matching DDL is migrations ``0002_conversations`` and ``0005_web_chat`` (offered buttons,
photos); tests/conversations/test_service.py checks the two stay identical. A conversation id is Rasa's sender id, ``<channel>:<id>``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime
from bot.vocabulary import CONV_ID_MAX


class Conversation(Base):
    """One merchant conversation; ``handoff_active`` is what keeps the bot silent."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(CONV_ID_MAX), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), index=True)
    # Denormalised from the open Handoff row so the per-message gate is one primary-key read.
    handoff_active: Mapped[bool] = mapped_column(default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Handoff(Base):
    """One period during which a person owned the conversation (ended_at null: still active)."""

    __tablename__ = "conversation_handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    ticket_number: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(100))
    # When the merchant got the "passed to a person" acknowledgement: once per handoff.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ConversationMessage(Base):
    """Message log: merchant ('in'), bot ('out') and staff ('staff') lines.

    ``delivered_at`` null means queued for the merchant (staff replies, hand-back notices);
    the chat layer delivers them and calls ``mark_delivered``.
    """

    __tablename__ = "conversation_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(100))  # the name the merchant sees on a staff line
    # Who queued a staff line: the staff account's username, or api:<key name> (migration 0007).
    actor: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("direction IN ('in', 'out', 'staff')", name="direction"),
        Index("ix_conversation_messages_conversation_id_id", "conversation_id", "id"),
    )


class FaqFeedback(Base):
    """👍/👎 on one FAQ answer, one row per conversation and entry (a second vote replaces the first)."""

    __tablename__ = "faq_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    faq_id: Mapped[str] = mapped_column(String(128), index=True)
    vote: Mapped[str] = mapped_column(String(4))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("vote IN ('up', 'down')", name="vote"),
        Index("uq_faq_feedback_conversation_id_faq_id", "conversation_id", "faq_id", unique=True),
    )


class ConversationRating(Base):
    """A 1-5 satisfaction rating; ``dedupe_key`` (the rated message) makes a retried action harmless."""

    __tablename__ = "conversation_ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    rating: Mapped[int] = mapped_column(SmallInteger)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),)


class OfferedButton(Base):
    """A button the bot showed in a conversation; only these payloads and titles come back as clicks.

    One row per distinct (payload, title) of a conversation, however often it was shown.
    ``payload_hash`` (SHA-256 hex of the payload) keeps the unique index small on PostgreSQL.
    """

    __tablename__ = "conversation_buttons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    payload_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(String(200))
    first_offered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_offered_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("uq_conversation_buttons_conversation_id", "conversation_id", "payload_hash", "title", unique=True),
    )


class ConversationAttachment(Base):
    """A photo the merchant sent during a handoff, re-encoded (metadata stripped); staff only."""

    __tablename__ = "conversation_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("conversation_messages.id", ondelete="CASCADE"), index=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

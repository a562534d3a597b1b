"""ORM table of the FAQ turn log: one row per merchant question the FAQ engine decided on.

The matching DDL is migration ``0010_faq_turns``; tests/tickets/test_migration.py checks the two
stay identical. ``query`` is the merchant's text with phones, card and ID numbers masked.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime

# What the bot did with a question, in three: it answered (an entry or the response-code
# table), it offered candidates (suggest / closest), or it had no answer (none / clarify).
DECISIONS = ("answer", "suggest", "none")
RESOLUTIONS = ("wording", "new_entry", "ignored")


class FaqTurn(Base):
    """One FAQ decision in a conversation and what became of it.

    ``kind`` is the triage plan (bot/faq/triage.py KINDS), ``decision`` its three-way summary.
    ``taken_entry_id``: the entry the merchant reached from the offered choices afterwards.
    ``vote``: the merchant's 👍/👎 on the answer. ``resolved_*``: staff dealt with it in the
    unanswered queue (``resolution``: wording added, new entry, or ignored as out of scope).
    """

    __tablename__ = "faq_turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    query: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(12))
    decision: Mapped[str] = mapped_column(String(8))
    entry_id: Mapped[str | None] = mapped_column(String(128))
    top_score: Mapped[float | None] = mapped_column(Float)
    # [{"id": ..., "score": ...}, ...] best first: what the engine found, offered or not.
    candidates: Mapped[list] = mapped_column(JSON)
    taken_entry_id: Mapped[str | None] = mapped_column(String(128))
    vote: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolution: Mapped[str | None] = mapped_column(String(12))
    resolved_entry_id: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (
        CheckConstraint("decision IN ('answer', 'suggest', 'none')", name="decision"),
        CheckConstraint("vote IS NULL OR vote IN ('up', 'down')", name="vote"),
        CheckConstraint("resolution IS NULL OR resolution IN ('wording', 'new_entry', 'ignored')", name="resolution"),
        Index("ix_faq_turns_conversation_id_id", "conversation_id", "id"),
    )

"""The conversation record and its transcript: one row per conversation, one line per message.

The chat layer calls ``log_turn`` for each side of a turn (its lines and buttons in one
transaction), others ``log_message`` for one line; the web chat ``claim``s a conversation
for one browser session. Staff read the lines through ``transcript`` (photos described, not
their bytes).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from bot.conversations.buttons import button_rows, remember_buttons
from bot.conversations.models import Conversation, ConversationAttachment, ConversationMessage
from bot.conversations.schemas import MessageOut
from bot.conversations.store import ConversationStore, check_conv_id, ensure, message_out, new_conversation
from bot.masking import mask_pii

DIRECTIONS = ("in", "out", "staff")


def read_transcript(s: Session, conv_id: str, limit: int = 200) -> list[MessageOut]:
    """The last ``limit`` lines, oldest first, each photo line with its attachment's description."""
    rows = list(
        s.execute(
            select(ConversationMessage)
            .where(ConversationMessage.conversation_id == conv_id)
            .order_by(ConversationMessage.id.desc())
            .limit(max(1, min(int(limit), 1000)))
        ).scalars()
    )
    photos = {}
    if rows:
        for a in s.execute(
            select(ConversationAttachment)
            .options(defer(ConversationAttachment.data))
            .where(
                ConversationAttachment.conversation_id == conv_id,
                ConversationAttachment.message_id.in_([m.id for m in rows]),
            )
        ).scalars():
            photos[a.message_id] = a
    return [message_out(m, photos.get(m.id)) for m in reversed(rows)]


def add_line(
    s: Session, conv: Conversation, direction: str, text: str, now: datetime, author: str | None = None
) -> ConversationMessage:
    """One transcript line of ``conv`` in the caller's transaction. 'in'/'out' are delivered as they
    happen; 'staff' lines are queued. The text is masked: the chat masked merchant text already,
    this covers every writer."""
    conv.last_message_at = now
    m = ConversationMessage(
        conversation_id=conv.id,
        direction=direction,
        text=mask_pii(text),
        author=author,
        created_at=now,
        delivered_at=None if direction == "staff" else now,
    )
    s.add(m)
    return m


class Transcript(ConversationStore):
    def log_message(self, conv_id: str, direction: str, text: str, *, author: str | None = None) -> MessageOut:
        """Append one line (``add_line``)."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        with self.db.session() as s:
            now = self.clock()
            m = add_line(s, ensure(s, conv_id, now), direction, text, now, author)
            s.flush()
            return message_out(m)

    def log_turn(self, conv_id: str, direction: str, texts: list[str], buttons: Iterable[dict[str, str]] = ()) -> bool:
        """One side of a turn in one transaction: its lines ('in' or 'out') and the buttons shown
        with them. Returns whether a person owns the conversation now (its handoff flag, read in
        the same transaction): the chat stays silent then."""
        if direction not in ("in", "out"):
            raise ValueError(f"direction must be 'in' or 'out', got {direction!r}")
        rows = button_rows(conv_id, buttons)
        with self.db.session() as s:
            now = self.clock()
            conv = ensure(s, conv_id, now)
            for text in texts:
                if text:
                    add_line(s, conv, direction, text, now)
            remember_buttons(s, conv, rows, now)
            s.flush()
            return bool(conv.handoff_active)

    def transcript(self, conv_id: str, limit: int = 200) -> list[MessageOut]:
        """The last ``limit`` lines, oldest first (photos described, not their bytes)."""
        with self.db.session() as s:
            return read_transcript(s, conv_id, limit)

    def claim(self, conv_id: str, channel: str | None = None) -> bool:
        """Create the conversation for a new session; False when it exists already (someone else's)."""
        with self.db.session() as s:
            if s.get(Conversation, check_conv_id(conv_id)) is not None:
                return False
            try:
                with s.begin_nested():
                    s.add(new_conversation(conv_id, channel, self.clock()))
            except IntegrityError:
                return False  # another request claimed it a moment ago
            return True

    def exists(self, conv_id: str) -> bool:
        with self.db.session() as s:
            return s.get(Conversation, conv_id) is not None

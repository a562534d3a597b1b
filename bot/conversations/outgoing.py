"""The merchant's outgoing queue: staff replies and notices waiting to be delivered.

A staff reply is a 'staff' line with no ``delivered_at``; the hand-back notice an 'out' line
the same way. Channels that send actively get the text pushed in the same transaction
(``push_to_conversation``); the web widget polls ``pending_outgoing`` and acknowledges with
``mark_delivered``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, select, update

from bot.channels.delivery import push_to_conversation
from bot.conversations.models import ConversationMessage
from bot.conversations.schemas import MessageOut
from bot.conversations.store import ConversationStore, load, message_out
from bot.core.db import rowcount
from bot.masking import mask_pii


class OutgoingQueue(ConversationStore):
    def staff_reply(self, conv_id: str, text: str, by: str | None = None, *, actor: str | None = None) -> MessageOut:
        """Queue a staff message for the merchant (delivered by the chat layer).

        ``by`` is the signature the merchant sees; ``actor`` who sent it (account username or api:<key>)."""
        text = mask_pii((text or "").strip())
        if not text:
            raise ValueError("staff reply must not be empty")
        with self.db.session() as s:
            conv = load(s, conv_id)
            now = self.clock()
            conv.last_message_at = now
            m = ConversationMessage(
                conversation_id=conv.id,
                direction="staff",
                text=text,
                author=by,
                actor=actor or by,
                created_at=now,
                delivered_at=None,
            )
            s.add(m)
            s.flush()
            push_to_conversation(s, self.settings, conv.id, text, kind="staff", conversation_message_id=m.id)
            return message_out(m)

    def pending_outgoing(self, conv_id: str) -> list[MessageOut]:
        """Messages queued for the merchant and not delivered yet, oldest first."""
        with self.db.session() as s:
            rows = s.execute(
                select(ConversationMessage)
                .where(
                    ConversationMessage.conversation_id == conv_id,
                    ConversationMessage.direction.in_(("staff", "out")),
                    ConversationMessage.delivered_at.is_(None),
                )
                .order_by(ConversationMessage.id)
            ).scalars()
            return [message_out(m) for m in rows]

    def mark_delivered(self, message_ids: int | Iterable[int], conv_id: str | None = None) -> int:
        """Mark queued messages delivered; idempotent. With ``conv_id`` only that conversation's lines.

        Returns how many changed."""
        ids = [message_ids] if isinstance(message_ids, int) else list(message_ids)
        if not ids:
            return 0
        conds: list[ColumnElement[bool]] = [ConversationMessage.id.in_(ids), ConversationMessage.delivered_at.is_(None)]
        if conv_id is not None:
            conds.append(ConversationMessage.conversation_id == conv_id)
        with self.db.session() as s:
            result = s.execute(update(ConversationMessage).where(*conds).values(delivered_at=self.clock()))
            return rowcount(result)

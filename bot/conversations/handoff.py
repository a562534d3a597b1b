"""Handoff: a person takes the conversation over from the bot, and gives it back.

The custom actions call ``start_handoff``; the chat layer checks ``handoff_active`` before
forwarding a message to Rasa and tells the merchant once per handoff that a person will answer
(``acknowledge_handoff``); staff see the queue (``handoff_queue``, ``active_handoffs``), read a
conversation (``get_state``, ``get_detail``) and ``hand_back`` to the bot. ``handoff_before`` and
``get_handoff`` find the handoff a satisfaction rating is about.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select, update

from bot.channels.delivery import push_to_conversation
from bot.conversations.models import Conversation, ConversationMessage, Handoff
from bot.conversations.schemas import ConversationDetail, ConversationState, HandoffOut, LastMessage, QueueItem
from bot.conversations.store import ConversationStore, ensure, handoff_out, latest_handoff, load, lock, state_out
from bot.conversations.transcript import read_transcript
from bot.core.db import rowcount

log = logging.getLogger(__name__)

# Queued for the merchant when staff hand the conversation back, so the silence ends visibly.
HAND_BACK_NOTICE = "人工客服已结束本次服务，接下来由智能助手继续为您服务。还有问题直接问我就行～"


class Handoffs(ConversationStore):
    def start_handoff(
        self, conv_id: str, channel: str | None = None, ticket_number: str | None = None, reason: str = "request_human"
    ) -> ConversationState:
        """Give the conversation to a person; the chat layer keeps the bot silent from now on.

        Idempotent: while a handoff is active a second call only fills in a missing ticket number.
        """
        with self.db.session() as s:
            now = self.clock()
            conv = ensure(s, conv_id, now, channel)
            lock(s, conv)
            current = latest_handoff(s, conv.id)
            if conv.handoff_active and current is not None and current.ended_at is None:
                if ticket_number and not current.ticket_number:
                    current.ticket_number = ticket_number
            else:
                s.add(
                    Handoff(
                        conversation_id=conv.id,
                        ticket_number=ticket_number,
                        reason=(reason or "request_human")[:32],
                        started_at=now,
                    )
                )
                conv.handoff_active = True
            s.flush()
            log.info("conversation %s handed to a person (%s, ticket %s)", conv_id, reason, ticket_number or "-")
            return state_out(s, conv)

    def hand_back(self, conv_id: str, by: str, *, notice: str | None = HAND_BACK_NOTICE) -> ConversationState:
        """End the handoff: the bot answers again. A no-op when no handoff is active."""
        with self.db.session() as s:
            conv = load(s, conv_id)
            if conv.handoff_active:
                now = self.clock()
                s.execute(
                    update(Handoff)
                    .where(Handoff.conversation_id == conv.id, Handoff.ended_at.is_(None))
                    .values(ended_at=now, ended_by=(by or "staff")[:100])
                )
                conv.handoff_active = False
                if notice:
                    m = ConversationMessage(
                        conversation_id=conv.id, direction="out", text=notice, author="system", created_at=now
                    )
                    s.add(m)
                    s.flush()
                    push_to_conversation(s, self.settings, conv.id, notice, kind="notice", conversation_message_id=m.id)
                s.flush()
                log.info("conversation %s handed back to the bot by %s", conv_id, by)
            return state_out(s, conv)

    def handoff_active(self, conv_id: str) -> bool:
        with self.db.session() as s:
            conv = s.get(Conversation, conv_id)
            return bool(conv and conv.handoff_active)

    def acknowledge_handoff(self, conv_id: str) -> bool:
        """True only the first time during the current handoff: the merchant is told once that a person will answer."""
        with self.db.session() as s:
            done = s.execute(
                update(Handoff)
                .where(
                    Handoff.conversation_id == conv_id, Handoff.ended_at.is_(None), Handoff.acknowledged_at.is_(None)
                )
                .values(acknowledged_at=self.clock())
            )
            return bool(rowcount(done))

    def get_state(self, conv_id: str) -> ConversationState | None:
        with self.db.session() as s:
            conv = s.get(Conversation, conv_id)
            return state_out(s, conv) if conv is not None else None

    def get_detail(self, conv_id: str, limit: int = 200) -> ConversationDetail | None:
        """The state with the last ``limit`` transcript lines, read in one transaction."""
        with self.db.session() as s:
            conv = s.get(Conversation, conv_id)
            if conv is None:
                return None
            return ConversationDetail(**state_out(s, conv).model_dump(), messages=read_transcript(s, conv_id, limit))

    def active_handoffs(self, limit: int = 100) -> list[ConversationState]:
        """Conversations a person owns right now, longest waiting first."""
        with self.db.session() as s:
            rows = s.execute(
                select(Conversation)
                .join(Handoff, Handoff.conversation_id == Conversation.id)
                .where(Conversation.handoff_active.is_(True), Handoff.ended_at.is_(None))
                .order_by(Handoff.started_at)
                .limit(max(1, min(int(limit), 500)))
            ).scalars()
            return [state_out(s, c) for c in rows]

    def handoff_queue(self, limit: int = 100) -> list[QueueItem]:
        """The staff queue: each conversation a person owns now, once, longest waiting first,
        with its latest message and how many merchant messages wait for an answer."""
        with self.db.session() as s:
            first = (
                select(Handoff.conversation_id, func.min(Handoff.id).label("handoff_id"))
                .join(Conversation, Conversation.id == Handoff.conversation_id)
                .where(Conversation.handoff_active.is_(True), Handoff.ended_at.is_(None))
                .group_by(Handoff.conversation_id)
                .subquery()
            )
            rows = s.execute(
                select(Conversation, Handoff)
                .join(first, first.c.conversation_id == Conversation.id)
                .join(Handoff, Handoff.id == first.c.handoff_id)
                .order_by(Handoff.started_at, Conversation.id)
                .limit(max(1, min(int(limit), 500)))
            ).all()
            items = []
            for conv, h in rows:
                last = s.execute(
                    select(ConversationMessage)
                    .where(ConversationMessage.conversation_id == conv.id)
                    .order_by(ConversationMessage.id.desc())
                    .limit(1)
                ).scalar_one_or_none()
                last_staff_id = s.execute(
                    select(func.max(ConversationMessage.id)).where(
                        ConversationMessage.conversation_id == conv.id,
                        ConversationMessage.direction == "staff",
                        ConversationMessage.created_at >= h.started_at,
                    )
                ).scalar()
                merchant = select(ConversationMessage).where(
                    ConversationMessage.conversation_id == conv.id,
                    ConversationMessage.direction == "in",
                    ConversationMessage.created_at >= h.started_at,
                )
                if last_staff_id is not None:
                    merchant = merchant.where(ConversationMessage.id > last_staff_id)
                unanswered = s.execute(select(func.count()).select_from(merchant.subquery())).scalar() or 0
                last_in = s.execute(
                    select(func.max(ConversationMessage.created_at)).where(
                        ConversationMessage.conversation_id == conv.id, ConversationMessage.direction == "in"
                    )
                ).scalar()
                items.append(
                    QueueItem(
                        conversation_id=conv.id,
                        channel=conv.channel,
                        reason=h.reason,
                        ticket_number=h.ticket_number,
                        waiting_since=h.started_at,
                        last_message=LastMessage(
                            direction=last.direction, text=last.text[:120], created_at=last.created_at
                        )
                        if last is not None
                        else None,
                        last_merchant_at=last_in,
                        unanswered=int(unanswered),
                    )
                )
            return items

    def handoff_before(self, conv_id: str, moment: datetime) -> HandoffOut | None:
        """The latest handoff of the conversation that ended at or before ``moment``."""
        with self.db.session() as s:
            h = s.execute(
                select(Handoff)
                .where(Handoff.conversation_id == conv_id, Handoff.ended_at.is_not(None), Handoff.ended_at <= moment)
                .order_by(Handoff.ended_at.desc(), Handoff.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            return handoff_out(h) if h is not None else None

    def get_handoff(self, conv_id: str, handoff_id: int) -> HandoffOut | None:
        with self.db.session() as s:
            h = s.get(Handoff, handoff_id)
            return handoff_out(h) if h is not None and h.conversation_id == conv_id else None

"""Buttons the bot offered in a conversation: only those come back as clicks.

The web chat stores every button it shows (``offer_buttons``) and accepts a click, or a
typed text equal to a payload, only when that button was offered here (``is_offered``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.conversations.models import Conversation, OfferedButton
from bot.conversations.store import ConversationStore, ensure, upsert_insert

log = logging.getLogger(__name__)

BUTTON_TITLE_MAX = 200
BUTTON_PAYLOAD_MAX = 2000


def payload_hash(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()


def button_rows(conv_id: str, buttons: Iterable[dict[str, str]]) -> list[dict]:
    """The buttons worth remembering (payload and title within their limits), each once."""
    rows: dict[tuple[str, str], dict] = {}
    for b in buttons:
        payload, title = str(b.get("payload") or ""), str(b.get("title") or "")
        if not payload or len(payload) > BUTTON_PAYLOAD_MAX or len(title) > BUTTON_TITLE_MAX:
            if payload:
                log.warning("button of %s not remembered (too long): %.60r", conv_id, payload)
            continue
        rows[(payload, title)] = {"payload": payload, "title": title, "payload_hash": payload_hash(payload)}
    return list(rows.values())


def remember_buttons(s: Session, conv: Conversation, rows: list[dict], now: datetime) -> None:
    """Upsert ``button_rows`` of ``conv`` in the caller's transaction (``last_offered_at`` moves on)."""
    if not rows:
        return
    insert = upsert_insert(s)
    stmt = insert(OfferedButton).values(
        [{**r, "conversation_id": conv.id, "first_offered_at": now, "last_offered_at": now} for r in rows]
    )
    s.execute(
        stmt.on_conflict_do_update(
            index_elements=[OfferedButton.conversation_id, OfferedButton.payload_hash, OfferedButton.title],
            set_={"last_offered_at": stmt.excluded.last_offered_at},
        )
    )


class OfferedButtons(ConversationStore):
    def offer_buttons(self, conv_id: str, buttons: Iterable[dict[str, str]]) -> int:
        """Remember buttons the bot showed; a click may later send exactly these. Returns how many."""
        rows = button_rows(conv_id, buttons)
        if not rows:
            return 0
        with self.db.session() as s:
            now = self.clock()
            remember_buttons(s, ensure(s, conv_id, now), rows, now)
        return len(rows)

    def is_offered(self, conv_id: str, payload: str, title: str | None = None) -> bool:
        """Did the bot ever offer a button with this payload (and, when given, this title) here?"""
        if not payload or len(payload) > BUTTON_PAYLOAD_MAX:
            return False
        q = select(OfferedButton.id).where(
            OfferedButton.conversation_id == conv_id,
            OfferedButton.payload_hash == payload_hash(payload),
            OfferedButton.payload == payload,
        )
        if title is not None:
            q = q.where(OfferedButton.title == title)
        with self.db.session() as s:
            return s.execute(q.limit(1)).first() is not None

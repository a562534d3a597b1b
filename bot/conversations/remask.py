"""Mask personal data that was stored before masking at the door existed (issue 14).

New text is masked before it is stored (``bot.masking``; docs/operations.md, "Data
protection"). Rows written by older versions may still hold phone, bank-card and resident ID
numbers in clear. ``mask_existing`` rewrites them with the same rules, wherever free text was
kept:

* transcripts (``conversation_messages.text``), FAQ feedback reasons, the channel outbox's
  texts, ticket notifications, stored WeChat replies;
* tickets: description and transcript lines. The ticket's ``contact_phone`` is a validated
  contact field and stays as it is, and so does the outbox payload that carries it to the
  ticketing system. The ticket history (``ticket_events``: notes, comments) is append-only by
  a database trigger (migration 0001) and is left as it is: it ages out with its ticket;
* Rasa's tracker events (``events.data``, same database): every string of the event's JSON
  (the merchant's text, parse data, entities, slot values).

Idempotent (masked text is left as it is), in batches of one transaction each, keyed by
primary key so it can run while the service is up; ``dry_run`` only counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Column, MetaData, Table, inspect, select, update

from bot.channels.outbox import ChannelMessage
from bot.channels.wechat_dedupe import WeChatMessage
from bot.conversations.models import ConversationMessage, FaqFeedback
from bot.core.db import Database
from bot.masking import mask_pii, mask_pii_deep
from bot.tickets.models import Notification, Ticket

BATCH = 500


def _mask_text(value: Any) -> Any:
    return mask_pii(value) if isinstance(value, str) else value


def _mask_json_text(value: Any) -> Any:
    """A JSON document stored as text (Rasa's events.data): masked strings, Rasa's own encoding."""
    if not isinstance(value, str):
        return value
    try:
        doc = json.loads(value)
    except ValueError:
        return mask_pii(value)
    masked = mask_pii_deep(doc)
    return value if masked == doc else json.dumps(masked)


def _columns() -> list[tuple[str, Table, Column, Column, Callable[[Any], Any]]]:
    """(label, table, primary key, column, masking function) of every place free text is kept."""

    def t(model) -> Table:
        return model.__table__

    return [
        (
            "conversation_messages.text",
            t(ConversationMessage),
            t(ConversationMessage).c.id,
            t(ConversationMessage).c.text,
            _mask_text,
        ),
        ("faq_feedback.reason", t(FaqFeedback), t(FaqFeedback).c.id, t(FaqFeedback).c.reason, _mask_text),
        ("channel_outbox.text", t(ChannelMessage), t(ChannelMessage).c.id, t(ChannelMessage).c.text, _mask_text),
        ("notifications.text", t(Notification), t(Notification).c.id, t(Notification).c.text, _mask_text),
        ("wechat_messages.reply", t(WeChatMessage), t(WeChatMessage).c.key, t(WeChatMessage).c.reply, _mask_text),
        ("tickets.description", t(Ticket), t(Ticket).c.id, t(Ticket).c.description, _mask_text),
        ("tickets.transcript", t(Ticket), t(Ticket).c.id, t(Ticket).c.transcript, mask_pii_deep),
    ]


def _rasa_events(db: Database) -> tuple[str, Table, Column, Column, Callable[[Any], Any]] | None:
    if not inspect(db.engine).has_table("events"):
        return None
    events = Table("events", MetaData(), autoload_with=db.engine)
    return ("rasa events.data", events, events.c.id, events.c.data, _mask_json_text)


def mask_existing(db: Database, *, dry_run: bool = False, batch: int = BATCH) -> dict[str, int]:
    """Mask every stored text that still holds personal data in clear; returns changed rows per place."""
    places = _columns()
    rasa = _rasa_events(db)
    if rasa is not None:
        places.append(rasa)
    changed: dict[str, int] = {}
    for label, table, pk, column, fn in places:
        changed[label] = 0
        last = None
        while True:
            with db.session() as s:
                query = select(pk, column).order_by(pk).limit(batch)
                if last is not None:
                    query = query.where(pk > last)
                rows = s.execute(query).all()
                if not rows:
                    break
                last = rows[-1][0]
                for key, value in rows:
                    masked = fn(value)
                    if masked == value:
                        continue
                    changed[label] += 1
                    if not dry_run:
                        s.execute(update(table).where(pk == key).values({column.name: masked}))
    return changed

"""`posbot conversations mask-existing` (bot/conversations/remask.py), on SQLite and PostgreSQL.

Rows as a version before masking at the door left them: a bank-card number, a resident ID
number and a phone in clear in a transcript, FAQ feedback, a ticket's description and transcript,
a ticket notification, a channel message, a stored WeChat reply and Rasa's tracker
(text, entities, a slot). Afterwards no table holds any of them in clear; the ticket's contact
phone (its validated contact field) is unchanged; a second run changes nothing.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from click.testing import CliRunner

from bot.conversations.remask import mask_existing
from bot.conversations.service import ConversationService
from bot.tickets.service import TicketService
from tests.support import rasa_events_table
from tests.tickets.helpers import PHONE, ticket_data

CARD = "6222021234567890128"
RESIDENT_ID = "11010519491231002X"
OTHER_PHONE = "13912345678"
CLEAR = f"我的卡号{CARD}，身份证{RESIDENT_ID}，电话{OTHER_PHONE}"
CLEAR_VALUES = (CARD, RESIDENT_ID, OTHER_PHONE)
CONV = "web:legacy1"


def seed_legacy_rows(db, settings=None) -> str:
    """Today's services mask on write: write through them, then put the clear text back as old versions had it."""
    from bot.channels.outbox import ChannelMessage
    from bot.channels.wechat_dedupe import WeChatMessage
    from bot.tickets.models import Notification

    now = datetime.now(UTC)
    convs = ConversationService(db, settings)
    convs.log_message(CONV, "in", "placeholder")
    convs.record_faq_feedback(CONV, "faq-settlement", "down", "placeholder")
    ticket = TicketService(db, settings).create(ticket_data(sender_id=CONV, description="placeholder"))
    events = rasa_events_table(db.engine)
    user_event = {
        "event": "user",
        "text": CLEAR,
        "timestamp": now.timestamp(),
        "parse_data": {
            "text": CLEAR,
            "intent": {"name": "inform", "confidence": 0.9},
            "entities": [{"entity": "phone", "value": CARD}, {"entity": "amount", "value": RESIDENT_ID}],
        },
    }
    slot_event = {"event": "slot", "name": "amount", "value": RESIDENT_ID, "timestamp": now.timestamp()}
    with db.engine.begin() as c:
        c.execute(
            sa.text("UPDATE conversation_messages SET text = :t WHERE conversation_id = :c"), {"t": CLEAR, "c": CONV}
        )
        c.execute(sa.text("UPDATE faq_feedback SET reason = :t"), {"t": CLEAR[:60]})
        t = sa.table("tickets", sa.column("number"), sa.column("description"), sa.column("transcript", sa.JSON))
        c.execute(
            sa.update(t)
            .where(t.c.number == ticket.number)
            .values(description=CLEAR, transcript=[{"role": "user", "text": CLEAR}])
        )
        c.execute(
            events.insert(),
            [
                {
                    "sender_id": CONV,
                    "type_name": "user",
                    "timestamp": now.timestamp(),
                    "intent_name": "inform",
                    "action_name": None,
                    "data": json.dumps(user_event),
                },
                {
                    "sender_id": CONV,
                    "type_name": "slot",
                    "timestamp": now.timestamp(),
                    "intent_name": None,
                    "action_name": None,
                    "data": json.dumps(slot_event),
                },
            ],
        )
    with db.session() as s:
        tid = s.execute(sa.text("SELECT id FROM tickets WHERE number = :n"), {"n": ticket.number}).scalar_one()
        s.add(
            Notification(
                ticket_id=tid, ticket_number=ticket.number, channel="web", sender_id=CONV, text=CLEAR, created_at=now
            )
        )
        s.add(
            ChannelMessage(
                message_id=str(uuid.uuid4()),
                channel="wechat",
                conversation_id="wechat:o1",
                recipient="o" + "x" * 27,
                kind="text",
                text=CLEAR,
                part=1,
                parts=1,
                status="delivered",
                attempts=1,
                next_attempt_at=now,
                created_at=now,
                delivered_at=now,
            )
        )
        s.add(WeChatMessage(key="msg:1", openid="o" + "x" * 27, reply=CLEAR, created_at=now, replied_at=now))
    return ticket.number


def clear_hits(db) -> list[str]:
    """``table: value`` for every personal number found in clear in any table of the database."""
    hits = []
    with db.engine.connect() as c:
        for table in sa.inspect(db.engine).get_table_names():
            if table == "alembic_version":
                continue
            for row in c.execute(sa.text(f'SELECT * FROM "{table}"')):
                dump = " ".join(str(v) for v in row)
                hits += [f"{table}: {v}" for v in CLEAR_VALUES if v in dump]
    return hits


def test_mask_existing_leaves_nothing_in_clear_and_keeps_the_contact_phone(database):
    number = seed_legacy_rows(database)
    assert len(clear_hits(database)) >= 10

    counted = mask_existing(database, dry_run=True)
    assert len(clear_hits(database)) >= 10  # a dry run changes nothing
    assert counted["rasa events.data"] == 2 and counted["conversation_messages.text"] == 1

    changed = mask_existing(database, batch=2)  # small batches: the keyset paging is exercised
    assert changed == counted
    assert clear_hits(database) == []
    assert TicketService(database).get(number).contact_phone == PHONE  # the contact field stays
    with database.engine.connect() as c:
        text = c.execute(sa.text("SELECT text FROM conversation_messages")).scalar_one()
        slot = json.loads(c.execute(sa.text("SELECT data FROM events WHERE type_name = 'slot'")).scalar_one())
    assert text == "我的卡号6222***********0128，身份证110***********002X，电话139****5678"
    assert slot["value"] == "110***********002X" and slot["name"] == "amount"
    assert set(mask_existing(database).values()) == {0}  # idempotent


def test_cli_mask_existing(db_url, monkeypatch):
    from bot.cli import main
    from bot.core.db import Database, upgrade
    from bot.core.settings import get_settings

    upgrade(db_url)
    db = Database(db_url)
    try:
        seed_legacy_rows(db)
        monkeypatch.setenv("POSBOT_DATABASE_URL", db_url)
        get_settings.cache_clear()
        runner = CliRunner()
        dry = runner.invoke(main, ["conversations", "mask-existing", "--dry-run"])
        assert dry.exit_code == 0 and "would mask 1" in dry.output, dry.output
        assert clear_hits(db)
        real = runner.invoke(main, ["conversations", "mask-existing"])
        assert real.exit_code == 0 and "masked 2" in real.output, real.output  # the two Rasa events
        assert clear_hits(db) == []
    finally:
        get_settings.cache_clear()
        db.dispose()

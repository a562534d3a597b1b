"""Retention (bot/conversations/retention.py, `posbot conversations prune`), on SQLite and PostgreSQL.

An old conversation goes everywhere it was kept: transcript, photo, buttons, feedback, rating,
handoff, phone vault, finished channel messages and Rasa's tracker events. What is recent, still
handled by a person, still to be delivered, or a ticket, stays. A dry run counts and deletes nothing.
"""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from PIL import Image

from bot.conversations.photos import normalize_photo
from bot.conversations.retention import prune
from bot.conversations.service import ConversationService
from bot.conversations.vault import PhoneVault
from bot.tickets.service import TicketService
from tests.tickets.helpers import ticket_data

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=200)
LATELY = NOW - timedelta(days=3)
TABLES = (
    "conversations",
    "conversation_messages",
    "conversation_attachments",
    "conversation_buttons",
    "faq_feedback",
    "conversation_ratings",
    "conversation_handoffs",
    "conversation_pii",
    "channel_outbox",
)


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def rasa_events_table(db) -> sa.Table:
    from tests.support import rasa_events_table as create

    return create(db.engine)


def add_rasa_turn(db, events, sender: str, at: datetime, text: str) -> None:
    with db.engine.begin() as c:
        c.execute(
            events.insert(),
            [
                {
                    "sender_id": sender,
                    "type_name": "user",
                    "timestamp": at.timestamp(),
                    "intent_name": "greet",
                    "data": json.dumps({"event": "user", "text": text, "timestamp": at.timestamp()}),
                },
                {
                    "sender_id": sender,
                    "type_name": "bot",
                    "timestamp": at.timestamp() + 1,
                    "intent_name": None,
                    "data": json.dumps({"event": "bot", "text": "您好", "timestamp": at.timestamp() + 1}),
                },
            ],
        )


def photo():
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 20)).save(buf, "JPEG")
    return normalize_photo(buf.getvalue(), max_bytes=1_000_000, max_pixels=10_000_000)


def add_channel_message(db, conv: str, status: str, at: datetime) -> None:
    from bot.channels.outbox import ChannelMessage

    with db.session() as s:
        s.add(
            ChannelMessage(
                message_id=str(uuid.uuid4()),
                channel="wechat",
                conversation_id=conv,
                recipient="o" + "x" * 27,
                kind="text",
                text="您好，我是客服小王",
                part=1,
                parts=1,
                status=status,
                attempts=1,
                next_attempt_at=at,
                created_at=at,
                delivered_at=at if status == "delivered" else None,
            )
        )


def add_reminder(db, conv: str, cancelled: bool) -> None:
    from bot.field.models import CareReminder

    with db.session() as s:
        s.add(
            CareReminder(
                conversation_id=conv,
                interval_days=30,
                next_due_at=NOW,
                created_at=LONG_AGO,
                cancelled_at=LONG_AGO if cancelled else None,
            )
        )


def seed(db, settings):
    """Old, recent and still-handled conversations, an old and a recent tracker without one, a ticket."""
    events = rasa_events_table(db)
    old = Clock(LONG_AGO)
    convs = ConversationService(db, settings, clock=old)
    # web:new's phone first: keeping a number also deletes expired ones, and web:old's is long expired.
    PhoneVault(db, b"k" * 32, 86_400, clock=Clock(NOW - timedelta(hours=1))).keep("web:new", "13900001111")
    vault = PhoneVault(db, b"k" * 32, 86_400, clock=old)
    # web:old - everything a conversation leaves behind, last touched 200 days ago
    convs.log_message("web:old", "in", "打印机不出纸，电话 138****5678")
    vault.keep("web:old", "13812345678")
    convs.offer_buttons("web:old", [{"title": "转人工", "payload": "/request_human"}])
    convs.record_faq_feedback("web:old", "faq-printer", "down", "没用")
    convs.start_handoff("web:old", "web")
    convs.add_photo("web:old", photo())
    convs.staff_reply("web:old", "您好，我是客服小王", by="小王")
    convs.hand_back("web:old", by="小王")
    convs.record_rating("web:old", 4, dedupe_key="rate|web:old|handoff:1")
    add_rasa_turn(db, events, "web:old", LONG_AGO, "打印机不出纸")
    add_channel_message(db, "wechat:old", "delivered", LONG_AGO)
    convs.log_message("wechat:old", "in", "你好")
    add_channel_message(db, "wechat:old", "pending", LONG_AGO)  # not delivered yet: kept
    # web:busy - as old, but a person is handling it right now
    convs.log_message("web:busy", "in", "转人工")
    convs.start_handoff("web:busy", "web")
    # web:care - as old, but the merchant asked for care reminders there (still active)
    convs.log_message("web:care", "in", "提醒我保养")
    add_reminder(db, "web:care", cancelled=False)
    add_reminder(db, "web:old", cancelled=True)
    # web:new - recent
    recent = ConversationService(db, settings, clock=Clock(LATELY))
    recent.log_message("web:new", "in", "怎么结算")
    add_rasa_turn(db, events, "web:new", LATELY, "怎么结算")
    # trackers without a conversation row (from before transcripts were kept)
    add_rasa_turn(db, events, "web:ancient", LONG_AGO, "你好")
    add_rasa_turn(db, events, "web:orphan-recent", LATELY, "你好")
    ticket = TicketService(db, settings).create(ticket_data(sender_id="web:old"))
    return events, ticket


def counts(db) -> dict[str, int]:
    with db.engine.connect() as c:
        return {t: c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in (*TABLES, "events", "tickets")}


def senders(db) -> set[str]:
    with db.engine.connect() as c:
        return set(c.execute(sa.text("SELECT DISTINCT sender_id FROM events")).scalars())


def conversation_ids(db) -> set[str]:
    with db.engine.connect() as c:
        return set(c.execute(sa.text("SELECT id FROM conversations")).scalars())


@pytest.fixture
def settings(tmp_path):
    from bot.core.settings import Settings

    return Settings(_env_file=None, data_dir=tmp_path / "var")


def test_dry_run_counts_and_deletes_nothing(database, settings):
    seed(database, settings)
    before = counts(database)
    report = prune(database, timedelta(days=180), dry_run=True, clock=lambda: NOW)
    assert counts(database) == before
    c = report.counts
    # web:old and wechat:old; web:busy is being handled, web:care has reminders on, web:new is recent
    assert c["conversations"] == 2 and c["care_reminders"] == 1
    # web:old: the merchant, the photo, the staff reply, the hand-back notice; wechat:old: one line
    assert c["messages"] == 5 and c["photos"] == 1 and c["handoffs"] == 1 and c["ratings"] == 1
    assert c["feedback"] == 1 and c["buttons"] == 1 and c["channel_outbox"] == 1
    assert c["phone_vault"] == 1  # web:old's; web:new's is still valid
    assert c["rasa_events"] == 4 and c["rasa_trackers_without_conversation"] == 1


def test_prune_removes_old_conversations_everywhere_and_keeps_the_rest(database, settings):
    _, ticket = seed(database, settings)
    report = prune(database, timedelta(days=180), clock=lambda: NOW)
    assert report.counts["conversations"] == 2 and report.counts["messages"] == 5
    assert conversation_ids(database) == {"web:busy", "web:care", "web:new"}
    assert senders(database) == {"web:new", "web:orphan-recent"}
    with database.engine.connect() as c:
        assert (
            c.execute(
                sa.text("SELECT count(*) FROM conversation_messages WHERE conversation_id = 'web:old'")
            ).scalar_one()
            == 0
        )
        assert c.execute(sa.text("SELECT count(*) FROM conversation_attachments")).scalar_one() == 0
        assert c.execute(sa.text("SELECT conversation_id FROM conversation_pii")).scalars().all() == ["web:new"]
        assert c.execute(sa.text("SELECT status FROM channel_outbox")).scalars().all() == ["pending"]
        assert (
            c.execute(
                sa.text("SELECT count(*) FROM conversation_handoffs WHERE conversation_id = 'web:busy'")
            ).scalar_one()
            == 1
        )
    assert TicketService(database, settings).get(ticket.number).sender_id == "web:old"  # tickets are records
    with database.engine.connect() as c:
        assert c.execute(sa.text("SELECT conversation_id FROM care_reminders")).scalars().all() == ["web:care"]
    # The recent conversation is whole: its transcript still reads the same.
    assert [m.text for m in ConversationService(database, settings).transcript("web:new")] == ["怎么结算"]
    # A second run finds nothing more.
    again = prune(database, timedelta(days=180), clock=lambda: NOW)
    assert again.counts["conversations"] == 0 and again.counts["rasa_events"] == 0


def test_cli_prune_with_dry_run_then_for_real(db_url, settings, monkeypatch):
    from bot.cli import main
    from bot.core.db import Database, upgrade
    from bot.core.settings import get_settings

    upgrade(db_url)
    db = Database(db_url)
    try:
        # 200 days old by the real clock: the CLI prunes as of now.
        convs = ConversationService(db, settings, clock=Clock(datetime.now(UTC) - timedelta(days=200)))
        convs.log_message("web:cli-old", "in", "你好")
        monkeypatch.setenv("POSBOT_DATABASE_URL", db_url)
        get_settings.cache_clear()
        runner = CliRunner()
        dry = runner.invoke(main, ["conversations", "prune", "--older-than", "90d", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "conversations" in dry.output and "would delete 1" in dry.output
        assert conversation_ids(db) == {"web:cli-old"}
        assert (
            runner.invoke(main, ["conversations", "prune", "--older-than", "1y"]).exit_code == 2
        )  # a clear usage error
        real = runner.invoke(main, ["conversations", "prune", "--older-than", "26w"])
        assert real.exit_code == 0, real.output
        assert conversation_ids(db) == set()
    finally:
        get_settings.cache_clear()
        db.dispose()

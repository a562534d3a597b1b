"""ConversationService on a migrated SQLite database, the migration itself, and service hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.conversations.hours import ServiceHours
from bot.conversations.service import HAND_BACK_NOTICE, ConversationNotFound, ConversationService
from bot.vocabulary import channel_of

CONV = "web:merchant-1"


class FakeClock:
    def __init__(self):
        self.now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)

    def __call__(self):
        return self.now

    def tick(self, seconds=1):
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def convs(db, clock):
    return ConversationService(db, clock=clock)


def test_migration_matches_the_models(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import bot.core.models  # noqa: F401  (all tables on Base.metadata)
    from bot.core.db import Base

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert [d for d in diff if "conversation" in repr(d) or "faq_feedback" in repr(d)] == []


def test_migration_downgrades_to_tickets_only(tmp_path):
    import sqlalchemy as sa
    from alembic import command

    from bot.core.db import alembic_config, upgrade

    url = f"sqlite:///{tmp_path / 'down.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "0001_tickets")
    tables = set(sa.inspect(sa.create_engine(url)).get_table_names())
    assert "tickets" in tables
    assert not tables & {"conversations", "conversation_messages", "faq_feedback", "conversation_ratings"}


def test_channel_comes_from_the_sender_prefix():
    assert channel_of("web:abc") == "web"
    assert channel_of("wechat:oAbC123") == "wechat"
    assert channel_of("abc") == "unknown"


def test_log_message_creates_the_conversation_and_keeps_order(convs, clock):
    convs.log_message(CONV, "in", "你好")
    clock.tick()
    convs.log_message(CONV, "out", "您好！")
    state = convs.get_state(CONV)
    assert state.channel == "web"
    assert state.handoff_active is False
    assert [(m.direction, m.text) for m in convs.transcript(CONV)] == [("in", "你好"), ("out", "您好！")]
    assert all(m.delivered_at is not None for m in convs.transcript(CONV))


def test_log_message_refuses_an_unknown_direction(convs):
    with pytest.raises(ValueError):
        convs.log_message(CONV, "sideways", "x")


def test_log_turn_keeps_a_turns_lines_and_buttons_together_and_says_who_owns_the_conversation(convs, clock):
    assert convs.log_turn(CONV, "in", ["打印机不出纸，电话13812345678"]) is False
    clock.tick()
    shown = [{"payload": "/affirm", "title": "好了"}, {"payload": "/deny", "title": "还是不行"}]
    assert convs.log_turn(CONV, "out", ["请先检查纸卷", "", "好了吗？"], shown) is False
    lines = [(m.direction, m.text) for m in convs.transcript(CONV)]
    assert lines[1:] == [("out", "请先检查纸卷"), ("out", "好了吗？")]  # an empty text is no line
    assert "13812345678" not in lines[0][1]  # masked, as every writer's lines are
    assert convs.is_offered(CONV, "/deny", "还是不行") and not convs.is_offered(CONV, "/restart")
    convs.start_handoff(CONV, "web", "GD20261125-0001", "request_human")
    assert convs.log_turn(CONV, "in", ["在吗"]) is True  # a person owns it: the bot stays silent
    with pytest.raises(ValueError):
        convs.log_turn(CONV, "staff", ["x"])  # staff lines are queued for delivery (OutgoingQueue)


def test_handoff_then_hand_back(convs, clock):
    convs.log_message(CONV, "in", "转人工")
    state = convs.start_handoff(CONV, "web", "GD20261125-0001", "request_human")
    assert state.handoff_active is True
    assert state.handoff.ticket_number == "GD20261125-0001"
    assert state.handoff.reason == "request_human"
    assert convs.handoff_active(CONV) is True
    assert [c.conversation_id for c in convs.active_handoffs()] == [CONV]

    clock.tick(60)
    back = convs.hand_back(CONV, by="王客服")
    assert back.handoff_active is False
    assert back.handoff.ended_by == "王客服"
    assert back.handoff.ended_at == clock.now
    assert convs.handoff_active(CONV) is False
    assert convs.active_handoffs() == []
    # The merchant is told the assistant is back, through the queue the chat layer delivers.
    assert [(m.direction, m.text, m.author) for m in convs.pending_outgoing(CONV)] == [
        ("out", HAND_BACK_NOTICE, "system")
    ]


def test_start_handoff_twice_keeps_one_handoff_and_fills_the_ticket(convs):
    convs.start_handoff(CONV, "web", None, "fallback")
    state = convs.start_handoff(CONV, "web", "GD20261125-0002", "request_human")
    assert state.handoff.ticket_number == "GD20261125-0002"
    assert state.handoff.reason == "fallback"
    convs.hand_back(CONV, by="staff", notice=None)
    assert convs.pending_outgoing(CONV) == []
    # A later handoff is a new period.
    again = convs.start_handoff(CONV, "web", None, "urgent")
    assert again.handoff.reason == "urgent" and again.handoff.ended_at is None


def test_hand_back_of_unknown_conversation_raises(convs):
    with pytest.raises(ConversationNotFound):
        convs.hand_back("web:nobody", by="staff")


def test_hand_back_without_handoff_is_a_no_op(convs):
    convs.log_message(CONV, "in", "你好")
    state = convs.hand_back(CONV, by="staff")
    assert state.handoff_active is False and state.handoff is None
    assert convs.pending_outgoing(CONV) == []


def test_staff_reply_is_queued_until_delivered(convs):
    convs.start_handoff(CONV, "web", None, "request_human")
    first = convs.staff_reply(CONV, "您好，我是客服小王", by="王客服")
    second = convs.staff_reply(CONV, "请问您的商户号是？", by="王客服")
    assert [m.text for m in convs.pending_outgoing(CONV)] == ["您好，我是客服小王", "请问您的商户号是？"]
    assert convs.mark_delivered(first.id) == 1
    assert convs.mark_delivered([first.id, second.id]) == 1  # idempotent
    assert convs.pending_outgoing(CONV) == []
    assert [m.direction for m in convs.transcript(CONV)] == ["staff", "staff"]


def test_staff_reply_needs_a_known_conversation_and_text(convs):
    with pytest.raises(ConversationNotFound):
        convs.staff_reply("web:nobody", "hi")
    convs.log_message(CONV, "in", "你好")
    with pytest.raises(ValueError):
        convs.staff_reply(CONV, "   ")


def test_faq_feedback_is_one_row_per_entry_and_keeps_the_reason(convs):
    convs.record_faq_feedback(CONV, "fees-rate-how-much", "down")
    fb = convs.record_faq_feedback(CONV, "fees-rate-how-much", "down", "答非所问")
    assert (fb.vote, fb.reason) == ("down", "答非所问")
    fb = convs.record_faq_feedback(CONV, "fees-rate-how-much", "down")  # a retry without reason keeps it
    assert fb.reason == "答非所问"
    fb = convs.record_faq_feedback(CONV, "fees-rate-how-much", "up")
    assert (fb.vote, fb.reason) == ("up", None)
    with pytest.raises(ValueError):
        convs.record_faq_feedback(CONV, "x", "meh")


def test_rating_dedupe_key_makes_retries_harmless(convs):
    convs.record_rating(CONV, 5, dedupe_key="k1")
    convs.record_rating(CONV, 5, dedupe_key="k1")
    convs.record_rating(CONV, 3)
    summary = convs.feedback_summary()
    assert summary.ratings == {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1}
    assert summary.ratings_count == 2
    assert summary.ratings_average == 4.0
    for bad in (0, 6, "5", True):
        with pytest.raises(ValueError):
            convs.record_rating(CONV, bad)


def test_feedback_summary_counts_votes_and_reasons(convs, clock):
    convs.record_faq_feedback("web:a", "fault-printer-no-paper", "down", "没解决问题")
    convs.record_faq_feedback("web:b", "fault-printer-no-paper", "down", "没解决问题")
    convs.record_faq_feedback("web:c", "fault-printer-no-paper", "up")
    convs.record_faq_feedback("web:a", "fees-rate-how-much", "up")
    summary = convs.feedback_summary()
    assert [(f.faq_id, f.up, f.down, f.reasons) for f in summary.faq] == [
        ("fault-printer-no-paper", 1, 2, {"没解决问题": 2}),
        ("fees-rate-how-much", 1, 0, {}),
    ]
    later = convs.feedback_summary(since=clock.now + timedelta(seconds=1))
    assert later.faq == [] and later.ratings_count == 0
    # Naive bounds are local time (Asia/Shanghai): 10:00 local is 02:00 UTC, the clock's time.
    naive = ConversationService(convs.db, type("S", (), {"timezone": "Asia/Shanghai"})(), clock=clock)
    assert len(naive.feedback_summary(since=datetime(2026, 11, 25, 10, 0)).faq) == 2


@pytest.mark.parametrize(
    "local, open_now, next_open",
    [
        ("2026-11-25 08:59", False, "今天 09:00"),
        ("2026-11-25 09:00", True, "今天 09:00"),
        ("2026-11-25 20:59", True, "今天 20:59"),
        ("2026-11-25 21:00", False, "明天 09:00"),
        ("2026-11-25 23:30", False, "明天 09:00"),
    ],
)
def test_service_hours(local, open_now, next_open):
    from zoneinfo import ZoneInfo

    hours = ServiceHours.parse("09:00-21:00", "Asia/Shanghai")
    now = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
    assert hours.is_open(now) is open_now
    assert hours.describe_next_open(now) == next_open
    assert hours.label == "09:00-21:00"


def test_service_hours_over_midnight_and_bad_spec():
    hours = ServiceHours.parse("20:00-02:00", "UTC")
    assert hours.is_open(datetime(2026, 1, 1, 1, 0, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 1, 1, 3, 0, tzinfo=UTC))
    with pytest.raises(ValueError):
        ServiceHours.parse("9-21", "UTC")

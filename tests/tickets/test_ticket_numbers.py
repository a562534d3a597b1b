"""Ticket numbers: format, local-day sequence, uniqueness under concurrent creation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.tickets.models import Ticket
from bot.tickets.numbers import format_number, is_ticket_number, local_day
from bot.tickets.service import TicketService

from .helpers import FakeClock, ticket_data


def test_format_and_parse():
    assert format_number("20240601", 7) == "GD20240601-0007"
    assert format_number("20240601", 12345) == "GD20240601-12345"  # widens, never wraps
    assert is_ticket_number("GD20240601-0007")
    assert not is_ticket_number("GD2024061-0007")
    assert not is_ticket_number("gd20240601-0007")


def test_local_day_uses_the_configured_timezone():
    moment = datetime(2024, 5, 31, 16, 30, tzinfo=UTC)  # 00:30 on June 1st in Shanghai
    assert local_day(moment, "Asia/Shanghai") == "20240601"
    assert local_day(moment, "UTC") == "20240531"
    with pytest.raises(ValueError):
        local_day(datetime(2024, 5, 31, 16, 30), "UTC")


def test_sequence_restarts_each_local_day(database, settings):
    clock = FakeClock(datetime(2024, 5, 31, 15, 59, 58, tzinfo=UTC))  # 23:59:58 in Shanghai
    service = TicketService(database, settings, clock=clock)
    first = service.create(ticket_data())
    second = service.create(ticket_data())
    clock.advance(2)  # midnight in Shanghai, still May 31st in UTC
    third = service.create(ticket_data())
    fourth = service.create(ticket_data())
    assert [t.number for t in (first, second, third, fourth)] == [
        "GD20240531-0001",
        "GD20240531-0002",
        "GD20240601-0001",
        "GD20240601-0002",
    ]


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
    # Gap-free too: the counter only moves in committed transactions.
    assert sorted(numbers) == [f"GD20240601-{i:04d}" for i in range(1, 51)]
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 50

"""A process dies between committing a ticket and delivering its event: nothing is lost or doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.tickets.models import OutboxEvent, TicketEvent
from bot.tickets.outbox import OutboxWorker

from .conftest import SECRET, make_settings
from .helpers import FakeClock

REPO = Path(__file__).resolve().parents[2]


def _spawn(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.tickets._outbox_child", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL


def _state(database):
    with database.session() as s:
        rows = list(s.execute(select(OutboxEvent)).scalars())
        delivered = [e.data["event_id"] for e in s.execute(select(TicketEvent)).scalars() if e.type == "delivered"]
    return rows, delivered


async def test_killed_after_commit_before_delivery(database, db_url, service, receiver):
    database.engine.dispose()  # no pooled connection shared with the child
    proc = _spawn(db_url, "idle")
    try:
        number = proc.stdout.readline().strip()
        assert number.startswith("GD"), "child did not create a ticket"
    finally:
        _kill(proc)
    assert service.get(number).status == "open"

    worker = OutboxWorker(database, make_settings(ticket_webhook_url=receiver.url))
    try:
        assert await worker.run_once() == 1
        assert await worker.run_once() == 0
    finally:
        await worker.stop()
    [row], delivered = _state(database)
    assert row.status == "delivered" and row.attempts == 1
    assert delivered == [row.event_id]
    assert [r["headers"]["x-posbot-event-id"] for r in receiver.requests] == [row.event_id]
    assert receiver.processed[row.event_id]["ticket"]["number"] == number


async def test_killed_during_delivery(database, db_url, service, receiver):
    """The child's POST reached the receiver but its result was never recorded: after the
    lease a fresh worker delivers again; the receiver sees the event id twice and keeps one."""
    receiver.mode = "hang"
    database.engine.dispose()
    proc = _spawn(db_url, "deliver", receiver.url, SECRET)
    try:
        number = proc.stdout.readline().strip()
        assert number.startswith("GD")
        assert receiver.got_request.wait(60), "child never posted"
    finally:
        _kill(proc)
    receiver.mode = "ok"

    [row], _ = _state(database)
    assert row.status == "pending" and row.locked_by is not None and row.attempts == 0

    clock = FakeClock()
    worker = OutboxWorker(database, make_settings(ticket_webhook_url=receiver.url), clock=clock)
    try:
        assert await worker.run_once() == 0  # the dead child's lease still holds
        clock.advance(timedelta(seconds=61).total_seconds())
        assert await worker.run_once() == 1
        assert await worker.run_once() == 0
    finally:
        await worker.stop()

    [row], delivered = _state(database)
    assert row.status == "delivered" and row.attempts == 1 and row.locked_by is None
    assert delivered == [row.event_id]  # one delivered event, however many POSTs
    ids = [r["headers"]["x-posbot-event-id"] for r in receiver.requests]
    assert ids == [row.event_id, row.event_id]  # at least once on the wire ...
    assert list(receiver.processed) == [row.event_id]  # ... exactly once after dedup
    assert receiver.processed[row.event_id]["ticket"]["number"] == number

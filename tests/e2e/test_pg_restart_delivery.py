"""PostgreSQL restarted while the outbox worker delivers ticket events to the ticketing webhook.

The worker (bot.core.outbox, shared by the ticket webhooks and the WeChat/WeCom active messages)
runs its real loop against a private PostgreSQL cluster of this test and delivers to a real
HTTP receiver that checks signatures and de-duplicates on ``X-Posbot-Event-Id``
(tests/tickets/helpers.Receiver). Defined behaviour (docs/operations.md, "Faults"):

* restart while requests are in flight: every event is delivered exactly once, and the
  worker goes on by itself (pooled connections are checked before use);
* PostgreSQL down at the moment a delivery is to be recorded: the row keeps its lease, the
  lease runs out after PostgreSQL is back and the event is sent again with the same event id
  and the same body (at least once; the receiver's de-duplication makes it once). None is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import pytest
from sqlalchemy import select

from bot.core.db import Database, upgrade
from bot.core.settings import Settings
from bot.tickets.models import OutboxEvent
from bot.tickets.outbox import OutboxWorker
from bot.tickets.service import TicketService
from tests.private_services import private_pg  # noqa: F401 - fixture
from tests.tickets.helpers import Receiver, ticket_data

pytestmark = pytest.mark.integration
SECRET = "fault-test-webhook-secret"


@pytest.fixture
def pg_db(private_pg):  # noqa: F811
    url = private_pg.create_database(f"posbot_{uuid.uuid4().hex[:8]}")
    upgrade(url)
    db = Database(url)
    yield db
    db.dispose()


@pytest.fixture
def receiver():
    r = Receiver(SECRET).start()
    yield r
    r.stop()


def settings_for(receiver: Receiver) -> Settings:
    return Settings(
        _env_file=None,
        ticket_webhook_url=receiver.url,
        ticket_webhook_secret=SECRET,
        outbox_poll_interval_s=0.1,
        outbox_backoff_base_s=0.2,
        outbox_backoff_max_s=1.0,
        outbox_timeout_s=30,
    )


def open_tickets(db: Database, settings: Settings, n: int) -> set[str]:
    tickets = TicketService(db, settings)
    for i in range(n):
        tickets.create(ticket_data(description=f"刷卡后打印机不出纸（第 {i + 1} 台）"))
    with db.session() as s:
        return set(s.scalars(select(OutboxEvent.event_id)))


async def wait_for(condition, what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        await asyncio.sleep(0.2)


def all_delivered(db: Database) -> bool:
    try:
        with db.session() as s:
            return all(st == "delivered" for st in s.scalars(select(OutboxEvent.status)))
    except Exception:  # still reconnecting
        return False


def same_body_per_event(receiver: Receiver) -> bool:
    bodies: dict[str, set[bytes]] = {}
    for r in receiver.requests:
        bodies.setdefault(r["headers"]["x-posbot-event-id"], set()).add(r["body"])
    return all(len(b) == 1 for b in bodies.values())


async def test_restart_during_deliveries_delivers_each_event_once(pg_db, receiver, private_pg):  # noqa: F811
    settings = settings_for(receiver)
    events = open_tickets(pg_db, settings, 6)
    receiver.mode = "hold"  # the receiver keeps the first requests open while PostgreSQL restarts
    worker = OutboxWorker(pg_db, settings, batch_size=2)
    await worker.start()
    assert worker.running
    try:
        await asyncio.to_thread(receiver.got_request.wait, 60)
        await asyncio.to_thread(private_pg.restart)
        receiver.mode = "ok"
        receiver.release.set()
        await wait_for(lambda: all_delivered(pg_db), "every outbox row delivered")
    finally:
        await worker.stop()
    assert set(receiver.processed) == events  # none lost
    assert receiver.duplicates == 0 and len(receiver.requests) == len(events)  # none twice
    with pg_db.session() as s:
        assert {r.attempts for r in s.scalars(select(OutboxEvent))} == {1}


async def test_database_down_when_recording_a_delivery_resends_it_with_its_event_id(
    pg_db,
    receiver,
    private_pg,  # noqa: F811 - the fixture imported above
    caplog,
):
    settings = settings_for(receiver)
    events = open_tickets(pg_db, settings, 4)
    receiver.mode = "hold"
    # A short lease, so the test does not wait the production 70 s for the unrecorded rows.
    worker = OutboxWorker(pg_db, settings, batch_size=2, lease_seconds=10)
    caplog.set_level(logging.WARNING, logger="bot.tickets.outbox")
    await worker.start()
    assert worker.running
    try:
        await asyncio.to_thread(receiver.got_request.wait, 60)
        await asyncio.to_thread(private_pg.stop)
        held = len(receiver.requests)
        receiver.mode = "ok"
        receiver.release.set()  # the receiver accepts them while PostgreSQL is down
        await wait_for(
            lambda: any("could not record the delivery result" in r.getMessage() for r in caplog.records),
            "the worker failing to record a delivery",
        )
        await asyncio.to_thread(private_pg.start)
        await wait_for(lambda: all_delivered(pg_db), "every outbox row delivered")
    finally:
        await worker.stop()
    assert set(receiver.processed) == events  # none lost
    assert receiver.duplicates >= 1 and receiver.duplicates <= held  # only the unrecorded ones again
    assert same_body_per_event(receiver)  # a repeat is the same event: same id, same signed body
    assert receiver.bad_signatures == 0

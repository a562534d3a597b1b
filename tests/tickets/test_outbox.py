"""Webhook delivery through the transactional outbox, against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.tickets.models import OutboxEvent
from bot.tickets.outbox import OutboxWorker, backoff_delay, render_body, sign, verify_signature
from bot.tickets.schemas import TicketPatch

from .conftest import SECRET, make_settings
from .helpers import FakeClock, Receiver, free_port, ticket_data


def _rows(database) -> list[OutboxEvent]:
    with database.session() as s:
        return list(s.execute(select(OutboxEvent).order_by(OutboxEvent.id)).scalars())


async def _drain(worker: OutboxWorker, rounds: int = 20) -> None:
    """run_once until nothing is due (the per-ticket order releases one event per round)."""
    for _ in range(rounds):
        if await worker.run_once() == 0:
            return
    raise AssertionError("outbox did not drain")


def test_signature_helpers():
    body = render_body({"b": "工单", "a": 1})
    assert body == '{"a":1,"b":"工单"}'.encode()
    sig = sign(body, "k")
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert verify_signature(body, sig, "k")
    assert not verify_signature(body + b" ", sig, "k")
    assert not verify_signature(body, sig, "other")
    assert not verify_signature(body, None, "k")


def test_backoff_grows_caps_and_jitters():
    assert [backoff_delay(n, 1, 30, rand=lambda: 1.0) for n in (1, 2, 3, 4, 5, 6, 7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff_delay(3, 1, 30, rand=lambda: 0.0) == 2  # never less than half
    assert backoff_delay(30, 1, 30, rand=lambda: 0.5) == 22.5


async def test_delivers_signed_events_in_order(database, service, receiver):
    settings = make_settings(ticket_webhook_url=receiver.url)
    t = service.create(ticket_data(channel="wechat", sender_id="oD", transcript=[{"role": "user", "text": "坏了"}]))
    service.update(t.number, TicketPatch(status="in_progress", assignee="alice"), actor="staff")
    service.add_comment(t.number, "alice", "上门中")
    worker = OutboxWorker(database, settings)
    try:
        await _drain(worker)
    finally:
        await worker.stop()

    rows = _rows(database)
    assert [r.status for r in rows] == ["delivered"] * 4
    assert receiver.bad_signatures == 0 and receiver.duplicates == 0
    assert [req["headers"]["x-posbot-event-id"] for req in receiver.requests] == [r.event_id for r in rows]
    first = receiver.requests[0]
    assert verify_signature(first["body"], first["headers"]["x-posbot-signature"], SECRET)
    assert first["headers"]["x-posbot-timestamp"].isdigit()
    assert first["headers"]["content-type"].startswith("application/json")
    payload = json.loads(first["body"])
    assert payload["type"] == "ticket.created" and payload["event_id"] == rows[0].event_id
    assert payload["ticket"]["number"] == t.number and payload["ticket"]["transcript"][0]["text"] == "坏了"
    types = [json.loads(req["body"])["type"] for req in receiver.requests]
    assert types == ["ticket.created", "ticket.status_changed", "ticket.assigned", "ticket.commented"]
    seqs = [json.loads(req["body"])["sequence"] for req in receiver.requests]
    assert seqs == sorted(seqs)

    delivered = [e for e in service.events(t.number) if e.type == "delivered"]
    assert sorted(e.data["event_id"] for e in delivered) == sorted(r.event_id for r in rows)
    assert all(e.actor == "outbox" for e in delivered)
    # Nothing left to do, and delivered events are not sent again.
    worker2 = OutboxWorker(database, settings)
    assert await worker2.run_once() == 0
    await worker2.stop()
    assert len(receiver.requests) == 4


async def test_background_loop_delivers_and_stops(database, service, receiver):
    settings = make_settings(ticket_webhook_url=receiver.url)
    worker = OutboxWorker(database, settings)
    await worker.start()
    try:
        assert worker.running
        t = service.create(ticket_data())
        service.update(t.number, TicketPatch(status="resolved", note="好了"), actor="staff")
        for _ in range(600):  # bounded wait for the loop; no assertion on how long it took
            if len(receiver.processed) == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
    assert not worker.running
    assert [r.status for r in _rows(database)] == ["delivered", "delivered"]


async def test_without_webhook_events_stay_pending(database, service):
    service.create(ticket_data())
    worker = OutboxWorker(database, make_settings(ticket_webhook_url=""))
    await worker.start()  # refuses to start: nothing to deliver to
    assert not worker.running
    assert await worker.run_once() == 0
    await worker.stop()
    assert [(r.status, r.attempts) for r in _rows(database)] == [("pending", 0)]


async def test_receiver_errors_retry_with_backoff_then_dead_letter_then_retry_endpoint(
    database, service, receiver, api, caplog
):
    caplog.set_level(logging.WARNING, logger="bot.tickets.outbox")
    receiver.mode = "fail"
    settings = make_settings(ticket_webhook_url=receiver.url, outbox_max_attempts=3)
    t = service.create(ticket_data())
    clock = FakeClock()  # after the ticket: its event is due at the clock's start
    worker = OutboxWorker(database, settings, clock=clock, rand=lambda: 1.0)
    try:
        assert await worker.run_once() == 1
        [row] = _rows(database)
        assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 500)
        assert row.next_attempt_at == clock.now + timedelta(seconds=1)
        assert await worker.run_once() == 0  # not due yet: backoff holds it
        clock.advance(1)
        assert await worker.run_once() == 1
        assert _rows(database)[0].attempts == 2
        clock.advance(1.5)
        assert await worker.run_once() == 0  # second delay is 2 s
        clock.advance(0.5)
        assert await worker.run_once() == 1
        [row] = _rows(database)
        assert (row.status, row.attempts) == ("dead", 3)
        assert "HTTP 500" in row.last_error
        clock.advance(3600)
        assert await worker.run_once() == 0  # dead letters are not retried on their own
        assert len(receiver.requests) == 3
        assert "dead-lettered" in caplog.text

        dead = api.client.get("/api/outbox/dead", headers=api.ro).json()
        assert [d["event_id"] for d in dead["items"]] == [row.event_id]
        assert dead["items"][0]["ticket_number"] == t.number and dead["items"][0]["attempts"] == 3

        receiver.mode = "ok"
        r = api.client.post(f"/api/outbox/{row.event_id}/retry", headers=api.rw)
        assert r.status_code == 200 and r.json()["status"] == "pending" and r.json()["attempts"] == 0
        assert api.client.get("/api/outbox/dead", headers=api.ro).json()["items"] == []
        assert await worker.run_once() == 1
    finally:
        await worker.stop()
    [row] = _rows(database)
    assert row.status == "delivered" and row.attempts == 1
    assert list(receiver.processed) == [row.event_id]
    assert api.client.post(f"/api/outbox/{row.event_id}/retry", headers=api.rw).status_code == 409


async def test_receiver_timeout_counts_as_a_failed_attempt(database, service, receiver):
    receiver.mode = "hang"
    settings = make_settings(ticket_webhook_url=receiver.url, outbox_timeout_s=0.3, outbox_max_attempts=2)
    service.create(ticket_data())
    clock = FakeClock()
    worker = OutboxWorker(database, settings, clock=clock)
    try:
        assert await worker.run_once() == 1
        [row] = _rows(database)
        assert row.status == "pending" and row.attempts == 1 and "Timeout" in row.last_error
        clock.advance(10)
        assert await worker.run_once() == 1
    finally:
        await worker.stop()
    assert _rows(database)[0].status == "dead"


async def test_unreachable_receiver_dead_letters(database, service):
    settings = make_settings(ticket_webhook_url=f"http://127.0.0.1:{free_port()}/hook", outbox_max_attempts=2)
    service.create(ticket_data())
    clock = FakeClock()
    worker = OutboxWorker(database, settings, clock=clock)
    try:
        await worker.run_once()
        clock.advance(10)
        await worker.run_once()
    finally:
        await worker.stop()
    [row] = _rows(database)
    assert row.status == "dead" and row.attempts == 2 and "ConnectError" in row.last_error
    assert row.last_status_code is None


async def test_a_receiver_back_before_the_attempts_run_out_gets_every_event_on_its_own(database, service):
    """The ticketing system is down for a while: tickets opened meanwhile wait, nothing is dead-lettered,
    and once it is back the running worker delivers each event once, without anyone pressing retry."""
    port = free_port()
    settings = make_settings(
        ticket_webhook_url=f"http://127.0.0.1:{port}/hooks/posbot",
        outbox_max_attempts=8,
        outbox_backoff_base_s=0.1,
        outbox_backoff_max_s=0.4,
    )
    worker = OutboxWorker(database, settings)
    await worker.start()
    receiver = None
    try:
        first = service.create(ticket_data()).number
        for _ in range(200):  # the worker has tried and failed at least once
            if any(r.attempts >= 1 for r in _rows(database)):
                break
            await asyncio.sleep(0.05)
        second = service.create(ticket_data()).number  # opened while the receiver is down
        rows = _rows(database)
        assert {r.status for r in rows} == {"pending"}, [(r.status, r.attempts) for r in rows]
        assert "ConnectError" in max(rows, key=lambda r: r.attempts).last_error
        receiver = Receiver(SECRET, port=port).start()  # back on the same address
        for _ in range(400):
            if len(receiver.processed) == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
        if receiver is not None:
            receiver.stop()
    rows = _rows(database)
    assert [r.status for r in rows] == ["delivered", "delivered"], [(r.status, r.last_error) for r in rows]
    assert all(r.attempts < settings.outbox_max_attempts for r in rows)
    assert sorted(b["ticket"]["number"] for b in receiver.processed.values()) == sorted([first, second])
    assert receiver.duplicates == 0 and receiver.bad_signatures == 0


async def test_api_stays_responsive_while_the_receiver_hangs(database, service, receiver, api):
    receiver.mode = "hang"
    settings = make_settings(ticket_webhook_url=receiver.url, outbox_timeout_s=30)
    number = service.create(ticket_data()).number
    worker = OutboxWorker(database, settings)
    await worker.start()
    try:
        assert await asyncio.to_thread(receiver.got_request.wait, 30)
        # The worker is stuck in a POST; the API (its own threads) answers anyway.
        r = await asyncio.to_thread(api.client.get, f"/api/tickets/{number}", headers=api.ro)
        assert r.status_code == 200
        r = await asyncio.to_thread(
            api.client.post, "/api/tickets", json=ticket_data().model_dump(mode="json"), headers=api.rw
        )
        assert r.status_code == 201
        assert not receiver.release.is_set()  # the receiver was hanging all along
    finally:
        receiver.mode = "ok"
        receiver.release.set()
        await worker.stop()


async def test_two_workers_never_deliver_the_same_event(database, service, receiver):
    settings = make_settings(ticket_webhook_url=receiver.url)
    for i in range(12):
        service.create(ticket_data(description=f"第{i}单"))
    workers = [OutboxWorker(database, settings, batch_size=4) for _ in range(2)]
    try:
        for _ in range(10):
            done = await asyncio.gather(*(w.run_once() for w in workers))
            if sum(done) == 0:
                break
    finally:
        for w in workers:
            await w.stop()
    rows = _rows(database)
    assert all(r.status == "delivered" and r.attempts == 1 for r in rows)
    assert len(receiver.requests) == 12 and receiver.duplicates == 0
    assert len(receiver.processed) == 12


async def test_expired_lease_is_taken_over(database, service, receiver):
    """A worker that claimed rows and vanished: after its lease another worker delivers them."""
    settings = make_settings(ticket_webhook_url=receiver.url)
    service.create(ticket_data())
    clock = FakeClock()
    ghost = OutboxWorker(database, settings, clock=clock, lease_seconds=60)
    assert len(await asyncio.to_thread(ghost._claim)) == 1  # claims, then "crashes"
    heir = OutboxWorker(database, settings, clock=clock)
    assert await heir.run_once() == 0  # still leased
    clock.advance(61)
    assert await heir.run_once() == 1
    await heir.stop()
    assert _rows(database)[0].status == "delivered"
    assert len(receiver.processed) == 1


async def test_unsigned_when_no_secret(database, service, receiver, caplog):
    caplog.set_level(logging.WARNING, logger="bot.tickets.outbox")
    settings = make_settings(ticket_webhook_url=receiver.url, ticket_webhook_secret="")
    service.create(ticket_data())
    worker = OutboxWorker(database, settings)
    assert await worker.run_once() == 1
    await worker.stop()
    # The receiver insists on a signature: the event is not taken for delivered.
    assert "x-posbot-signature" not in receiver.requests[0]["headers"]
    assert receiver.bad_signatures == 1
    [row] = _rows(database)
    assert (row.status, row.last_status_code) == ("pending", 401)
    await worker.start()
    await worker.stop()
    assert "unsigned" in caplog.text


@pytest.mark.parametrize("url", ["http://user:pw@example.invalid:8080/hook?token=abc"])
def test_logged_url_has_no_credentials(url):
    from bot.tickets.outbox import _safe_url

    assert _safe_url(url) == "http://example.invalid:8080/hook"

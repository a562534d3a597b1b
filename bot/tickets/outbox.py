"""Transactional outbox: ticket events delivered to the external ticketing webhook.

Writing side (``enqueue``): the ticket service adds one ``outbox_events`` row per
externally relevant ticket event, in the transaction that changes the ticket. A
committed change therefore always has its event, a rolled-back one never has.

Delivery side (``OutboxWorker``): an asyncio task in the app service that

1. claims due rows with a lease (``locked_until``/``locked_by``) in one UPDATE:
   on PostgreSQL the candidate rows are picked ``FOR UPDATE SKIP LOCKED``, on SQLite
   the statement runs under the database write lock; either way two workers (or two
   app instances) never hold the same row, and a crashed worker's lease runs out;
2. POSTs the JSON body, signed with HMAC-SHA256, with httpx.AsyncClient and a timeout;
3. on 2xx marks the row delivered and appends a ``delivered`` ticket event; otherwise
   schedules a retry with exponential backoff and jitter, and after
   ``outbox_max_attempts`` failures marks it ``dead`` (listed by the API, re-triable).

Delivery is at least once: a worker killed between the receiver's 2xx and our commit
delivers again after the lease. Receivers deduplicate on ``X-Posbot-Event-Id``.
Events of one ticket go out in order: a row waits while an earlier row of the same
ticket is still pending (dead rows do not block, each body carries the full ticket).

Database work runs in worker threads (``asyncio.to_thread``), so neither a slow
receiver nor a busy database blocks the event loop serving the API.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from bot.db import Database
from bot.settings import Settings
from bot.tickets.cursors import decode_cursor, encode_cursor
from bot.tickets import InvalidCursor, OutboxEventDelivered, OutboxEventNotFound
from bot.tickets.models import OutboxEvent, Ticket, TicketEvent, utcnow
from bot.tickets.schemas import OutboxEventOut, OutboxPage
from bot.tickets.states import EventType

log = logging.getLogger(__name__)

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
USER_AGENT = "posbot-outbox/1"


# --- writing side ---------------------------------------------------------------------


def enqueue(session, ticket: Ticket, event: TicketEvent, ticket_snapshot: dict[str, Any]) -> OutboxEvent:
    """Add the outbox row of ``event`` to the session (the caller's transaction)."""
    event_id = str(uuid.uuid4())
    payload = {
        "event_id": event_id,
        "type": f"ticket.{event.type}",
        "sequence": event.id,
        "occurred_at": event.created_at.isoformat(),
        "actor": event.actor,
        "data": event.data,
        "ticket": ticket_snapshot,
    }
    row = OutboxEvent(
        event_id=event_id,
        ticket_id=ticket.id,
        ticket_number=ticket.number,
        ticket_event_id=event.id,
        event_type=f"ticket.{event.type}",
        payload=payload,
        status=PENDING,
        attempts=0,
        next_attempt_at=event.created_at,
        created_at=event.created_at,
    )
    session.add(row)
    return row


# --- wire format ----------------------------------------------------------------------


def render_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact, sorted keys, UTF-8 without escapes."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def sign(body: bytes, secret: str) -> str:
    """Value of X-Posbot-Signature: ``sha256=<hex HMAC-SHA256 of the raw body>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secret: str) -> bool:
    """What a receiver does (kept here for tests and as the documented reference)."""
    if not header:
        return False
    return hmac.compare_digest(sign(body, secret), header)


def backoff_delay(attempts: int, base: float, maximum: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds before retry number ``attempts`` (1-based): base·2^(n-1), capped, "equal jitter".

    Half the delay is fixed so retries never bunch up at zero, the other half random so
    many events failing together do not retry in lockstep.
    """
    delay = min(maximum, base * (2 ** max(0, attempts - 1)))
    return delay / 2 + rand() * delay / 2


# --- operations used by the service / API ---------------------------------------------


def _out(row: OutboxEvent) -> OutboxEventOut:
    return OutboxEventOut(
        event_id=row.event_id,
        ticket_number=row.ticket_number,
        event_type=row.event_type,
        status=row.status,  # type: ignore[arg-type]
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        last_status_code=row.last_status_code,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def _encode_cursor(last_id: int) -> str:
    return encode_cursor("o1", last_id)


def _decode_cursor(cursor: str) -> int:
    return decode_cursor("o1", cursor)


def list_events(db: Database, status: str, *, cursor: str | None = None, limit: int = 50) -> OutboxPage:
    """Outbox rows of one status, oldest first."""
    limit = max(1, min(limit, 100))
    with db.session() as s:
        q = select(OutboxEvent).where(OutboxEvent.status == status)
        if cursor:
            q = q.where(OutboxEvent.id > _decode_cursor(cursor))
        rows = s.execute(q.order_by(OutboxEvent.id).limit(limit + 1)).scalars().all()
        items = [_out(r) for r in rows[:limit]]
        nxt = _encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return OutboxPage(items=items, next_cursor=nxt)


def get_event(db: Database, event_id: str) -> OutboxEventOut:
    with db.session() as s:
        row = s.execute(select(OutboxEvent).where(OutboxEvent.event_id == event_id)).scalar_one_or_none()
        if row is None:
            raise OutboxEventNotFound(event_id)
        return _out(row)


def retry_event(db: Database, event_id: str, now: datetime | None = None) -> OutboxEventOut:
    """Re-queue a dead (or waiting) event: due now, with a fresh attempt budget."""
    now = now or utcnow()
    with db.session() as s:
        row = s.execute(select(OutboxEvent).where(OutboxEvent.event_id == event_id)).scalar_one_or_none()
        if row is None:
            raise OutboxEventNotFound(event_id)
        if row.status == DELIVERED:
            raise OutboxEventDelivered(event_id)
        # A pending row may be leased by a worker right now: its lease is left alone,
        # only the schedule and the attempt budget change.
        row.status = PENDING
        row.attempts = 0
        row.next_attempt_at = now
        log.info("outbox event %s re-queued for delivery", event_id)
        return _out(row)


def counts(db: Database) -> dict[str, int]:
    from sqlalchemy import func

    with db.session() as s:
        rows = s.execute(select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status)).all()
    result = {PENDING: 0, DELIVERED: 0, DEAD: 0}
    result.update({status: n for status, n in rows})
    return result


# --- delivery side --------------------------------------------------------------------


@dataclass(frozen=True)
class _Claimed:
    id: int
    event_id: str
    event_type: str
    ticket_id: int
    ticket_event_id: int
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class _Result:
    ok: bool
    status_code: int | None
    error: str | None


class OutboxWorker:
    """Delivers due outbox rows; ``start()``/``stop()`` in the app lifespan, ``run_once()`` in tests.

    ``clock`` lets tests move time (backoff, lease expiry) without sleeping.
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        batch_size: int = 10,
        lease_seconds: float | None = None,
        worker_id: str | None = None,
        rand: Callable[[], float] = random.random,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.db = db
        self.settings = settings
        self.clock = clock
        self.batch_size = batch_size
        # Long enough for one HTTP timeout plus bookkeeping; a dead worker's rows come back after it.
        self.lease_seconds = lease_seconds if lease_seconds is not None else settings.outbox_timeout_s * 2 + 30
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.rand = rand
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Event | None = None

    # -- lifecycle --

    @property
    def url(self) -> str:
        return self.settings.ticket_webhook_url

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the background loop (no-op when disabled or without a webhook URL)."""
        if self.running:
            return
        if not self.settings.outbox_worker_enabled:
            log.info("outbox worker disabled (outbox_worker_enabled=false)")
            return
        if not self.url:
            log.info("no ticket_webhook_url: outbox events stay pending, tickets stay local")
            return
        if not self.settings.ticket_webhook_secret.get_secret_value():
            log.warning("ticket_webhook_secret is empty: webhook bodies are sent unsigned")
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="posbot-outbox-worker")
        log.info("outbox worker %s delivering to %s", self.worker_id, _safe_url(self.url))

    async def stop(self) -> None:
        """Stop the loop, letting an in-flight delivery finish (bounded by the HTTP timeout)."""
        if self._task is not None and self._stopping is not None:
            self._stopping.set()
            done, _ = await asyncio.wait({self._task}, timeout=self.settings.outbox_timeout_s + 10)
            if not done:
                # Its leases expire and another worker (or the next start) delivers those rows.
                log.warning("outbox worker did not stop in time; cancelling it")
                self._task.cancel()
                await asyncio.wait({self._task})
            self._task = None
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _loop(self) -> None:
        assert self._stopping is not None
        poll = max(0.05, self.settings.outbox_poll_interval_s)
        while not self._stopping.is_set():
            try:
                handled = await self.run_once()
            except Exception:  # keep the loop alive: a DB hiccup must not end delivery for good
                log.exception("outbox worker iteration failed")
                handled = 0
            if handled == 0:  # idle (or everything due is backing off): poll again later
                try:
                    await asyncio.wait_for(self._stopping.wait(), timeout=poll)
                except TimeoutError:
                    pass

    # -- one pass --

    async def run_once(self) -> int:
        """Claim and deliver the due rows once; returns how many were attempted."""
        if not self.url:
            return 0
        claimed = await asyncio.to_thread(self._claim)
        if not claimed:
            return 0
        client = self._http()
        results = await asyncio.gather(*(self._deliver_one(client, row) for row in claimed), return_exceptions=True)
        for row, result in zip(claimed, results):
            if isinstance(result, BaseException):  # its lease runs out, then it is tried again
                log.error("outbox event %s: delivery crashed", row.event_id, exc_info=result)
        return len(claimed)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.settings.outbox_timeout_s),
                follow_redirects=False,  # a redirect is a misconfiguration, not a delivery
                transport=self._transport,
                headers={"User-Agent": USER_AGENT},
            )
        return self._client

    def _claim(self) -> list[_Claimed]:
        now = self.clock()
        o = OutboxEvent.__table__
        earlier = aliased(OutboxEvent)
        blocked = exists().where(
            earlier.ticket_id == o.c.ticket_id,
            earlier.id < o.c.id,
            earlier.status == PENDING,
        )
        due = (
            select(o.c.id)
            .where(
                o.c.status == PENDING,
                o.c.next_attempt_at <= now,
                or_(o.c.locked_until.is_(None), o.c.locked_until < now),
                ~blocked,
            )
            .order_by(o.c.id)
            .limit(self.batch_size)
        )
        with self.db.session() as s:
            if s.get_bind().dialect.name == "postgresql":
                # Rows another worker is claiming right now are skipped, not waited for; once
                # its claim commits, PostgreSQL re-checks locked_until and drops them too.
                due = due.with_for_update(skip_locked=True, of=o)
            stmt = (
                update(o)
                .where(o.c.id.in_(due.scalar_subquery()))
                .values(locked_until=now + timedelta(seconds=self.lease_seconds), locked_by=self.worker_id)
                .returning(
                    o.c.id, o.c.event_id, o.c.event_type, o.c.ticket_id, o.c.ticket_event_id, o.c.payload, o.c.attempts
                )
            )
            rows = s.execute(stmt).all()
        return sorted(
            (_Claimed(r.id, r.event_id, r.event_type, r.ticket_id, r.ticket_event_id, r.payload, r.attempts) for r in rows),
            key=lambda c: c.id,
        )

    async def _deliver_one(self, client: httpx.AsyncClient, row: _Claimed) -> None:
        body = render_body(row.payload)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Posbot-Event-Id": row.event_id,
            "X-Posbot-Event-Type": row.event_type,
            "X-Posbot-Timestamp": str(int(time.time())),
        }
        secret = self.settings.ticket_webhook_secret.get_secret_value()
        if secret:
            headers["X-Posbot-Signature"] = sign(body, secret)
        try:
            resp = await client.post(self.url, content=body, headers=headers)
            if 200 <= resp.status_code < 300:
                result = _Result(True, resp.status_code, None)
            else:
                result = _Result(False, resp.status_code, f"HTTP {resp.status_code}: {resp.text[:200]}")
        except httpx.HTTPError as exc:
            result = _Result(False, None, f"{type(exc).__name__}: {exc}"[:500])
        try:
            await asyncio.to_thread(self._finish, row, result)
        except Exception:
            # The lease runs out and the row is delivered again: at least once, never lost.
            log.exception("could not record outbox delivery result of %s", row.event_id)

    def _finish(self, row: _Claimed, result: _Result) -> None:
        now = self.clock()
        o = OutboxEvent.__table__
        mine = and_(o.c.id == row.id, o.c.locked_by == self.worker_id, o.c.status == PENDING)
        attempts = row.attempts + 1
        with self.db.session() as s:
            if result.ok:
                done = s.execute(
                    update(o)
                    .where(mine)
                    .values(
                        status=DELIVERED,
                        attempts=attempts,
                        delivered_at=now,
                        locked_until=None,
                        locked_by=None,
                        last_status_code=result.status_code,
                        last_error=None,
                    )
                )
                if done.rowcount == 1:
                    s.add(
                        TicketEvent(
                            ticket_id=row.ticket_id,
                            type=EventType.DELIVERED.value,
                            actor="outbox",
                            data={
                                "event_id": row.event_id,
                                "event_type": row.event_type,
                                "status_code": result.status_code,
                                "attempts": attempts,
                            },
                            created_at=now,
                        )
                    )
                    log.info("outbox event %s delivered (attempt %d)", row.event_id, attempts)
                else:
                    log.info("outbox event %s: lease lost before recording delivery", row.event_id)
                return
            dead = attempts >= self.settings.outbox_max_attempts
            delay = backoff_delay(
                attempts, self.settings.outbox_backoff_base_s, self.settings.outbox_backoff_max_s, self.rand
            )
            s.execute(
                update(o)
                .where(mine)
                .values(
                    status=DEAD if dead else PENDING,
                    attempts=attempts,
                    next_attempt_at=now if dead else now + timedelta(seconds=delay),
                    locked_until=None,
                    locked_by=None,
                    last_status_code=result.status_code,
                    last_error=result.error,
                )
            )
        if dead:
            log.error(
                "outbox event %s dead-lettered after %d attempts: %s", row.event_id, attempts, result.error
            )
        else:
            log.warning(
                "outbox event %s attempt %d failed (%s); retry in %.1fs", row.event_id, attempts, result.error, delay
            )


def _safe_url(url: str) -> str:
    """The URL without credentials or query (either may hold a token) for logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"

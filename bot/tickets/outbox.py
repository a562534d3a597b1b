"""Transactional outbox: ticket events delivered to the external ticketing webhook.

Writing side (``enqueue``): the ticket service adds one ``outbox_events`` row per
externally relevant ticket event, in the transaction that changes the ticket. A
committed change therefore always has its event, a rolled-back one never has.

Delivery side (``OutboxWorker``, on the shared loop of ``bot.core.outbox``): claims due rows
with a lease, POSTs the JSON body signed with HMAC-SHA256 (httpx.AsyncClient, timeout),
on 2xx marks the row delivered and appends a ``delivered`` ticket event; otherwise
schedules a retry with exponential backoff and jitter, and after ``outbox_max_attempts``
failures marks it ``dead`` (listed by the API, re-triable).

Delivery is at least once: a worker killed between the receiver's 2xx and our commit
delivers again after the lease. Receivers deduplicate on ``X-Posbot-Event-Id``.
Events of one ticket go out in order: a row waits while an earlier row of the same
ticket is still pending (dead rows do not block, each body carries the full ticket).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Table, func, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from bot.core.db import Database, utcnow
from bot.core.outbox import (
    DEAD,
    DELIVERED,
    PENDING,
    Attempt,
    LeasedOutboxWorker,
    RetryPolicy,
    backoff_delay,
    requeue,
)
from bot.core.settings import Settings
from bot.tickets import OutboxEventDelivered, OutboxEventNotFound
from bot.tickets.cursors import decode_cursor, encode_cursor
from bot.tickets.models import OutboxEvent, Ticket, TicketEvent
from bot.tickets.schemas import OutboxEventOut, OutboxPage
from bot.tickets.states import EventType

log = logging.getLogger(__name__)

__all__ = ["DEAD", "DELIVERED", "PENDING", "OutboxWorker", "backoff_delay", "enqueue", "render_body", "sign"]
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


# --- operations used by the service / API ---------------------------------------------


def _out(row: OutboxEvent) -> OutboxEventOut:
    return OutboxEventOut(
        event_id=row.event_id,
        ticket_number=row.ticket_number,
        event_type=row.event_type,
        status=row.status,
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
        requeue(row, now)
        log.info("outbox event %s re-queued for delivery", event_id)
        return _out(row)


def counts(db: Database) -> dict[str, int]:
    with db.session() as s:
        rows = s.execute(select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status)).all()
    result = {PENDING: 0, DELIVERED: 0, DEAD: 0}
    result.update({status: n for status, n in rows})
    return result


# --- delivery side --------------------------------------------------------------------


class OutboxWorker(LeasedOutboxWorker):
    """Delivers due ticket events to ``ticket_webhook_url``; ``start()``/``stop()`` in the app lifespan."""

    table = cast(Table, OutboxEvent.__table__)
    group_column = OutboxEvent.group_column
    claim_columns = ("event_id", "event_type", "ticket_id", "ticket_event_id", "payload")
    task_name = "posbot-outbox-worker"

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
        policy = RetryPolicy(
            max_attempts=settings.outbox_max_attempts,
            backoff_base_s=settings.outbox_backoff_base_s,
            backoff_max_s=settings.outbox_backoff_max_s,
            poll_interval_s=settings.outbox_poll_interval_s,
            timeout_s=settings.outbox_timeout_s,
        )
        super().__init__(
            db,
            policy,
            clock=clock,
            batch_size=batch_size,
            lease_seconds=lease_seconds,
            worker_id=worker_id,
            rand=rand,
            log=log,
        )
        self.settings = settings
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    @property
    def url(self) -> str:
        return self.settings.ticket_webhook_url

    def ready(self) -> bool:
        return bool(self.url)

    def describe(self, row: Row) -> str:
        return f"outbox event {row.event_id}"

    async def start(self) -> bool:
        """Start the background loop; False (a no-op) when disabled or without a webhook URL."""
        if self.running:
            return True
        if not self.settings.outbox_worker_enabled:
            log.info("outbox worker disabled (outbox_worker_enabled=false)")
            return False
        if not self.url:
            log.info("no ticket_webhook_url: outbox events stay pending, tickets stay local")
            return False
        if not self.settings.ticket_webhook_secret.get_secret_value():
            log.warning("ticket_webhook_secret is empty: webhook bodies are sent unsigned")
        started = await super().start()
        log.info("outbox worker %s delivering to %s", self.worker_id, _safe_url(self.url))
        return started

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.settings.outbox_timeout_s),
                follow_redirects=False,  # a redirect is a misconfiguration, not a delivery
                transport=self._transport,
                headers={"User-Agent": USER_AGENT},
            )
        return self._client

    async def deliver(self, row: Row) -> Attempt:
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
            resp = await self._http().post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Attempt(False, None, f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= resp.status_code < 300:
            return Attempt(True, resp.status_code)
        return Attempt(False, resp.status_code, f"HTTP {resp.status_code}: {resp.text[:200]}")

    def on_delivered(self, s: Session, row: Row, attempts: int, attempt: Attempt, now: datetime) -> None:
        s.add(
            TicketEvent(
                ticket_id=row.ticket_id,
                type=EventType.DELIVERED.value,
                actor="outbox",
                data={
                    "event_id": row.event_id,
                    "event_type": row.event_type,
                    "status_code": attempt.status_code,
                    "attempts": attempts,
                },
                created_at=now,
            )
        )


def _safe_url(url: str) -> str:
    """The URL without credentials or query (either may hold a token) for logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"

"""The transactional-outbox delivery loop, shared by every outbox table.

An outbox row is written in the transaction that creates what it announces, so a committed
change always has its row and a rolled-back one never has. A worker (an asyncio task in the
app service, one per process and table) then:

1. claims due rows with a lease (``locked_until``/``locked_by``) in one UPDATE: on PostgreSQL
   the candidates are picked ``FOR UPDATE SKIP LOCKED``, on SQLite the statement runs under
   the database write lock; either way two workers (or two app instances) never hold the same
   row, and a crashed worker's lease runs out so another one takes the row over;
2. delivers each row (``deliver``, the subclass's part) with a timeout;
3. records the outcome in an UPDATE that only matches while it still holds the lease:
   delivered; retried later with exponential backoff and jitter; ``dead`` after
   ``max_attempts`` failures (listed by the API, re-triable); ``failed`` when the receiver
   refused it for good (not retried); or, when the receiver asked us to slow down, retried
   after its pause without using up an attempt.

Rows of one group (``group_column``: a ticket, a conversation) go out in order: a row waits
while an earlier row of its group is still pending. Database work runs in worker threads so
neither a slow receiver nor a busy database blocks the event loop serving the API.

An outbox table is a model with the ``LeasedOutboxRow`` columns and indexes; staff re-queue
a dead or failed row with ``requeue``. Tables and workers: ``bot.tickets.models.OutboxEvent``
with ``bot.tickets.outbox.OutboxWorker`` (ticket webhooks), ``bot.channels.outbox.ChannelMessage``
with ``bot.channels.outbox.ChannelOutboxWorker`` (active WeChat / WeCom messages).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import Index, Integer, String, Table, Text, and_, exists, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from bot.core.db import Database, UTCDateTime, rowcount, utcnow

PENDING, DELIVERED, DEAD, FAILED = "pending", "delivered", "dead", "failed"


class LeasedOutboxRow:
    """The columns and indexes every outbox table has; a model adds its payload and its group column.

    ``status``: pending → delivered | failed | dead; ``locked_until``/``locked_by`` are the lease
    of the worker delivering the row right now. The indexes serve the worker's "what is due"
    scan and its per-group ordering check (``group_column``), plus the model's
    ``extra_indexes`` (column tuples); each is named ``ix_<table>_<columns>``.

    Columns keep the order of the migrations (``sort_order``): ``id`` first, then the model's
    own columns, the lease columns, a model column with ``sort_order=1`` (the last attempt's
    details), and the two timestamps last.
    """

    group_column: ClassVar[str]
    extra_indexes: ClassVar[tuple[tuple[str, ...], ...]] = ()

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-1)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), sort_order=2)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), sort_order=2)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, ...]:
        table = cls.__tablename__  # type: ignore[attr-defined]
        columns = (("status", "next_attempt_at"), (cls.group_column, "status"), *cls.extra_indexes)
        return tuple(Index(f"ix_{table}_{'_'.join(cols)}", *cols) for cols in columns)


def requeue(row: LeasedOutboxRow, now: datetime) -> None:
    """Make a row due now with a fresh attempt budget (staff retrying a dead or failed row).

    A pending row may be leased by a worker right now: its lease is left alone, only the
    schedule and the attempt budget change. Whether the row may be re-queued at all (not once
    delivered) is the caller's decision.
    """
    row.status = PENDING
    row.attempts = 0
    row.next_attempt_at = now


def backoff_delay(attempts: int, base: float, maximum: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds before retry number ``attempts`` (1-based): base·2^(n-1), capped, "equal jitter".

    Half the delay is fixed so retries never bunch up at zero, the other half random so
    many rows failing together do not retry in lockstep.
    """
    delay = min(maximum, base * (2 ** max(0, attempts - 1)))
    return delay / 2 + rand() * delay / 2


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff_base_s: float
    backoff_max_s: float
    poll_interval_s: float
    timeout_s: float


@dataclass(frozen=True)
class Attempt:
    """The outcome of delivering one row once."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    # False: the receiver refused the row for good (it becomes ``failed``, never retried).
    retriable: bool = True
    # Set when the receiver asked us to slow down: retry after this long, attempt not counted.
    throttle_s: float | None = None
    # Columns the subclass wants stored with the outcome (e.g. a provider error code).
    extra: dict[str, Any] | None = None


class LeasedOutboxWorker:
    """Claims, delivers and records rows of one outbox table; ``start()``/``stop()`` in the app lifespan.

    ``run_once()`` is one pass (tests drive it directly); ``clock`` lets tests move time
    (backoff, lease expiry) without sleeping.
    """

    table: ClassVar[Table]
    group_column: ClassVar[str]
    # Columns handed to ``deliver`` (``id``, ``attempts`` and the group column are always included).
    claim_columns: ClassVar[tuple[str, ...]] = ()
    task_name: ClassVar[str] = "posbot-outbox"

    def __init__(
        self,
        db: Database,
        policy: RetryPolicy,
        *,
        clock: Callable[[], datetime] = utcnow,
        batch_size: int = 10,
        lease_seconds: float | None = None,
        worker_id: str | None = None,
        rand: Callable[[], float] = random.random,
        log: logging.Logger | None = None,
    ):
        self.db = db
        self.policy = policy
        self.clock = clock
        self.batch_size = batch_size
        # Long enough for one delivery timeout plus bookkeeping; a dead worker's rows come back after it.
        self.lease_seconds = lease_seconds if lease_seconds is not None else policy.timeout_s * 2 + 30
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.rand = rand
        self.log = log or logging.getLogger(type(self).__module__)
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Event | None = None

    # -- what subclasses provide --

    def ready(self) -> bool:
        """Whether there is anywhere to deliver to (no receiver configured: rows stay pending)."""
        return True

    async def deliver(self, row: Row) -> Attempt:
        raise NotImplementedError

    def describe(self, row: Row) -> str:
        return f"outbox row {row.id}"

    def on_delivered(self, s: Session, row: Row, attempts: int, attempt: Attempt, now: datetime) -> None:
        """Extra writes in the transaction that records a delivery (e.g. a history event)."""

    def on_failed(self, s: Session, row: Row, status: str, attempt: Attempt, now: datetime) -> None:
        """Extra writes when a row ends ``failed`` or ``dead``."""

    async def aclose(self) -> None:
        """Release clients (HTTP connections) after the loop stopped."""

    # -- lifecycle --

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> bool:
        """Start the background loop; False when there is nothing to deliver to."""
        if self.running:
            return True
        if not self.ready():
            return False
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name=self.task_name)
        return True

    async def stop(self) -> None:
        """Stop the loop, letting an in-flight delivery finish (bounded by the delivery timeout)."""
        if self._task is not None and self._stopping is not None:
            self._stopping.set()
            done, _ = await asyncio.wait({self._task}, timeout=self.policy.timeout_s + 10)
            if not done:
                # Its leases expire and another worker (or the next start) delivers those rows.
                self.log.warning("%s did not stop in time; cancelling it", self.task_name)
                self._task.cancel()
                await asyncio.wait({self._task})
            self._task = None
        await self.aclose()

    async def _loop(self) -> None:
        assert self._stopping is not None
        poll = max(0.05, self.policy.poll_interval_s)
        while not self._stopping.is_set():
            try:
                handled = await self.run_once()
            except Exception:  # keep the loop alive: a DB hiccup must not end delivery for good
                self.log.exception("%s iteration failed", self.task_name)
                handled = 0
            if handled == 0:  # idle (or everything due is backing off): poll again later
                try:
                    await asyncio.wait_for(self._stopping.wait(), timeout=poll)
                except TimeoutError:
                    pass

    # -- one pass --

    async def run_once(self) -> int:
        """Claim and deliver the due rows once; returns how many were attempted."""
        if not self.ready():
            return 0
        claimed = await asyncio.to_thread(self._claim)
        if not claimed:
            return 0
        results = await asyncio.gather(*(self._deliver_one(row) for row in claimed), return_exceptions=True)
        for row, result in zip(claimed, results):
            if isinstance(result, BaseException):  # its lease runs out, then it is tried again
                self.log.error("%s: delivery crashed", self.describe(row), exc_info=result)
        return len(claimed)

    def _columns(self) -> Sequence[Any]:
        c = self.table.c
        names = dict.fromkeys(("id", "attempts", self.group_column, *self.claim_columns))
        return [c[n] for n in names]

    def _claim(self) -> list[Row]:
        now = self.clock()
        o = self.table
        earlier = o.alias("earlier")
        blocked = exists().where(
            earlier.c[self.group_column] == o.c[self.group_column],
            earlier.c.id < o.c.id,
            earlier.c.status == PENDING,
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
                .returning(*self._columns())
            )
            rows = s.execute(stmt).all()
        return sorted(rows, key=lambda r: r.id)

    async def _deliver_one(self, row: Row) -> None:
        try:
            attempt = await self.deliver(row)
        except Exception as exc:  # a bug or an unexpected client error: a failed attempt, logged
            self.log.exception("%s: deliver() raised", self.describe(row))
            attempt = Attempt(False, None, f"{type(exc).__name__}: {exc}"[:500])
        try:
            await asyncio.to_thread(self._finish, row, attempt)
        except Exception:
            # The lease runs out and the row is delivered again: at least once, never lost.
            self.log.exception("could not record the delivery result of %s", self.describe(row))

    def _finish(self, row: Row, attempt: Attempt) -> None:
        now = self.clock()
        o = self.table
        mine = and_(o.c.id == row.id, o.c.locked_by == self.worker_id, o.c.status == PENDING)
        extra = dict(attempt.extra or {})
        with self.db.session() as s:
            if attempt.ok:
                attempts = row.attempts + 1
                done = s.execute(
                    update(o)
                    .where(mine)
                    .values(
                        status=DELIVERED,
                        attempts=attempts,
                        delivered_at=now,
                        locked_until=None,
                        locked_by=None,
                        last_status_code=attempt.status_code,
                        last_error=None,
                        **extra,
                    )
                )
                if rowcount(done) == 1:
                    self.on_delivered(s, row, attempts, attempt, now)
                    self.log.info("%s delivered (attempt %d)", self.describe(row), attempts)
                else:
                    self.log.info("%s: lease lost before recording delivery", self.describe(row))
                return
            if attempt.throttle_s is not None:
                s.execute(
                    update(o)
                    .where(mine)
                    .values(
                        next_attempt_at=now + timedelta(seconds=attempt.throttle_s),
                        locked_until=None,
                        locked_by=None,
                        last_status_code=attempt.status_code,
                        last_error=attempt.error,
                        **extra,
                    )
                )
                self.log.warning(
                    "%s throttled (%s); retry in %.0fs", self.describe(row), attempt.error, attempt.throttle_s
                )
                return
            attempts = row.attempts + 1
            if not attempt.retriable:
                status = FAILED
            elif attempts >= self.policy.max_attempts:
                status = DEAD
            else:
                status = PENDING
            delay = backoff_delay(attempts, self.policy.backoff_base_s, self.policy.backoff_max_s, self.rand)
            done = s.execute(
                update(o)
                .where(mine)
                .values(
                    status=status,
                    attempts=attempts,
                    next_attempt_at=now + timedelta(seconds=delay) if status == PENDING else now,
                    locked_until=None,
                    locked_by=None,
                    last_status_code=attempt.status_code,
                    last_error=attempt.error,
                    **extra,
                )
            )
            if rowcount(done) == 1 and status != PENDING:
                self.on_failed(s, row, status, attempt, now)
        if status == DEAD:
            self.log.error("%s dead-lettered after %d attempts: %s", self.describe(row), attempts, attempt.error)
        elif status == FAILED:
            self.log.warning("%s refused, not retried: %s", self.describe(row), attempt.error)
        else:
            self.log.warning(
                "%s attempt %d failed (%s); retry in %.1fs", self.describe(row), attempts, attempt.error, delay
            )

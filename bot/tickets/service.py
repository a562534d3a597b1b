"""TicketService: the one entry point to tickets, for the chat actions (in process) and the API.

Plain synchronous Python over ``bot.core.db.Database``: each public method is one
transaction. Inputs are the pydantic schemas of ``bot.tickets.schemas`` (already
validated), outputs are schema objects detached from the session. Errors are the
``bot.tickets.TicketError`` family (404 / 409 / 422 in the API).

One class on purpose, though long: creating, reading and changing a ticket share one
transaction discipline and the same row helpers (``_load``, ``_record``, ``_notify``).
What is an idea of its own lives beside it: rows to outputs (``outputs``), the merchant's
texts (``notices``), the notification queue (``notifications``), the webhook outbox
(``outbox``), numbers (``numbers``) and the field job (``bot.field.jobs``).
"""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot.core.db import Database, utcnow
from bot.core.settings import Settings, get_settings
from bot.field.jobs import new_job
from bot.tickets import (
    ConcurrentUpdate,
    InvalidIdempotencyKey,
    TicketNotFound,
    notices,
    notifications,
    outbox,
)
from bot.tickets.cursors import decode_cursor, encode_cursor
from bot.tickets.models import Ticket, TicketEvent
from bot.tickets.numbers import new_number
from bot.tickets.outputs import event_out, ticket_out
from bot.tickets.schemas import (
    CommentCreate,
    CreateResult,
    EventOut,
    MerchantPreviewIn,
    MerchantPreviewOut,
    NotificationOut,
    OutboxEventOut,
    OutboxPage,
    TicketCreate,
    TicketFilters,
    TicketOut,
    TicketPage,
    TicketPatch,
)
from bot.tickets.states import ACTIVE_STATUSES, OUTBOX_EVENT_TYPES, EventType, Status, check_transition
from bot.vocabulary import ticket_channel_of

log = logging.getLogger(__name__)

_KEY_RE = re.compile(r"[\x21-\x7e]{1,128}")
_UPDATE_RETRIES = 5
_NUMBER_DRAWS = 5


def _encode_cursor(last_id: int) -> str:
    return encode_cursor("t1", last_id)


def _decode_cursor(cursor: str) -> int:
    return decode_cursor("t1", cursor)


class TicketService:
    def __init__(
        self,
        db: Database,
        settings: Settings | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.db = db
        self.settings = settings or get_settings()
        self.clock = clock
        self._tz = ZoneInfo(self.settings.timezone)

    # --- creation -----------------------------------------------------------------------

    def create(self, data: TicketCreate, *, idempotency_key: str | None = None, actor: str = "system") -> TicketOut:
        """Create a ticket; with ``idempotency_key`` a repeated call returns the first ticket."""
        return self.create_ex(data, idempotency_key=idempotency_key, actor=actor).ticket

    def create_ex(
        self, data: TicketCreate, *, idempotency_key: str | None = None, actor: str = "system"
    ) -> CreateResult:
        """Like ``create``, also telling whether the ticket is new (the API answers 201 vs 200)."""
        if idempotency_key is not None and not _KEY_RE.fullmatch(idempotency_key):
            raise InvalidIdempotencyKey()
        if idempotency_key:
            existing = self._by_key(idempotency_key)
            if existing is not None:
                return CreateResult(ticket=existing, created=False)
        try:
            with self.db.session() as s:
                now = self.clock()
                number = self._free_number(s, now)
                t = Ticket(
                    number=number,
                    category=data.category.value,
                    status=Status.OPEN.value,
                    priority=data.priority.value,
                    merchant_id=data.merchant_id,
                    terminal_id=data.terminal_id,
                    device_serial=data.device_serial,
                    contact_phone=data.contact_phone,
                    description=data.description,
                    settlement_date=data.settlement_date,
                    settlement_amount_fen=data.settlement_amount_fen,
                    channel=data.channel.value,
                    sender_id=data.sender_id,
                    transcript=[line.model_dump(mode="json") for line in data.transcript],
                    assignee=None,
                    resolution=None,
                    idempotency_key=idempotency_key,
                    created_at=now,
                    updated_at=now,
                )
                s.add(t)
                s.flush()
                if data.field is not None:
                    s.add(new_job(t.id, data.field, now, self.settings))
                    s.flush()
                    s.refresh(t, ["field_job"])
                self._record(
                    s,
                    t,
                    EventType.CREATED,
                    actor,
                    {"category": t.category, "priority": t.priority, "channel": t.channel},
                    now,
                )
                result = ticket_out(t)
        except IntegrityError:
            # Lost the race for this idempotency key: the winner's ticket is the answer.
            if idempotency_key:
                existing = self._by_key(idempotency_key)
                if existing is not None:
                    return CreateResult(ticket=existing, created=False)
            raise
        log.info("ticket %s created (%s, channel %s)", result.number, result.category, result.channel)
        return CreateResult(ticket=result, created=True)

    def _free_number(self, s: Session, now: datetime) -> str:
        """A random number not used yet (a clash is about one in a hundred million per draw)."""
        for _ in range(_NUMBER_DRAWS):
            number = new_number(now, self.settings.timezone)
            if s.execute(select(Ticket.id).where(Ticket.number == number)).first() is None:
                return number
        raise RuntimeError("no free ticket number after several draws")  # pragma: no cover

    def find_by_idempotency_key(self, key: str) -> TicketOut | None:
        """The ticket created with ``key``, if any (the chat uses its own stable keys)."""
        return self._by_key(key)

    def _by_key(self, key: str) -> TicketOut | None:
        with self.db.session() as s:
            t = s.execute(select(Ticket).where(Ticket.idempotency_key == key)).scalar_one_or_none()
            return ticket_out(t) if t is not None else None

    # --- reading ------------------------------------------------------------------------

    def get(self, number: str) -> TicketOut:
        with self.db.session() as s:
            return ticket_out(self._load(s, number))

    def list(self, filters: TicketFilters | None = None, *, cursor: str | None = None, limit: int = 20) -> TicketPage:
        """Newest first, keyset-paginated: pass ``next_cursor`` back as ``cursor``."""
        f = filters or TicketFilters()
        limit = max(1, min(int(limit), 100))
        q = select(Ticket)
        if f.status is not None:
            q = q.where(Ticket.status == f.status.value)
        if f.category is not None:
            q = q.where(Ticket.category == f.category.value)
        if f.merchant_id is not None:
            q = q.where(Ticket.merchant_id == f.merchant_id)
        if f.assignee is not None:
            q = q.where(Ticket.assignee == f.assignee)
        if f.channel is not None:
            q = q.where(Ticket.channel == f.channel.value)
        if f.created_from is not None:
            q = q.where(Ticket.created_at >= self._aware(f.created_from))
        if f.created_to is not None:
            q = q.where(Ticket.created_at < self._aware(f.created_to))
        if cursor:
            q = q.where(Ticket.id < _decode_cursor(cursor))
        q = q.order_by(Ticket.id.desc()).limit(limit + 1)
        with self.db.session() as s:
            rows = s.execute(q).scalars().all()
            items = [ticket_out(t) for t in rows[:limit]]
            nxt = _encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
        return TicketPage(items=items, next_cursor=nxt)

    def find_open_for_merchant(self, merchant_id: str, *, limit: int = 20) -> builtins.list[TicketOut]:
        """The merchant's tickets still being worked on (open or in_progress), newest first."""
        with self.db.session() as s:
            rows = s.execute(
                select(Ticket)
                .where(Ticket.merchant_id == merchant_id, Ticket.status.in_([x.value for x in ACTIVE_STATUSES]))
                .order_by(Ticket.id.desc())
                .limit(limit)
            ).scalars()
            return [ticket_out(t) for t in rows]

    def list_for_sender(self, channel: str, sender_id: str, *, limit: int = 20) -> builtins.list[TicketOut]:
        """Tickets opened from one chat user (any status), newest first."""
        with self.db.session() as s:
            rows = s.execute(
                select(Ticket)
                .where(Ticket.channel == str(channel), Ticket.sender_id == sender_id)
                .order_by(Ticket.id.desc())
                .limit(limit)
            ).scalars()
            return [ticket_out(t) for t in rows]

    def list_for_conversation(self, conv_id: str, *, limit: int = 20) -> builtins.list[TicketOut]:
        """Tickets opened from one chat conversation (``<channel>:<id>``), any status, newest first."""
        return self.list_for_sender(ticket_channel_of(conv_id), conv_id, limit=limit)

    def events(self, number: str) -> builtins.list[EventOut]:
        with self.db.session() as s:
            t = self._load(s, number)
            rows = s.execute(
                select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id)
            ).scalars()
            return [event_out(ev, t.number) for ev in rows]

    # --- changes ------------------------------------------------------------------------

    def update(self, number: str, patch: TicketPatch, *, actor: str) -> TicketOut:
        """Apply status / assignee / priority changes; illegal moves raise IllegalTransition."""
        for _ in range(_UPDATE_RETRIES):
            try:
                return self._update_once(number, patch, actor)
            except StaleDataError:
                # SQLite only (PostgreSQL holds a row lock): another writer won; re-read and re-check.
                continue
        raise ConcurrentUpdate(number)

    def _update_once(self, number: str, patch: TicketPatch, actor: str) -> TicketOut:
        fields = patch.model_fields_set
        with self.db.session() as s:
            t = self._load(s, number, lock=True)
            now = self.clock()
            changes: builtins.list[tuple[EventType, dict[str, Any]]] = []
            status_change: tuple[str, str] | None = None
            if "status" in fields and patch.status is not None and check_transition(t.status, patch.status):
                status_change = (t.status, patch.status.value)
                changes.append(
                    (
                        EventType.STATUS_CHANGED,
                        {
                            "from": t.status,
                            "to": patch.status.value,
                            "note": patch.note,
                            "reply_to_merchant": patch.reply_to_merchant,
                        },
                    )
                )
                if patch.status == Status.RESOLVED:
                    t.resolution = patch.note
                elif patch.status == Status.OPEN:
                    t.resolution = None  # reopened: the old resolution no longer holds
                t.status = patch.status.value
            if "assignee" in fields and patch.assignee != t.assignee:
                changes.append((EventType.ASSIGNED, {"from": t.assignee, "to": patch.assignee}))
                t.assignee = patch.assignee
            if "priority" in fields and patch.priority is not None and patch.priority.value != t.priority:
                changes.append((EventType.PRIORITY_CHANGED, {"from": t.priority, "to": patch.priority.value}))
                t.priority = patch.priority.value
            if patch.note and status_change is None:
                # A note without a status change is still worth keeping: as a comment.
                changes.append(
                    (
                        EventType.COMMENTED,
                        {"author": actor, "body": patch.note, "reply_to_merchant": patch.reply_to_merchant},
                    )
                )
            if changes:
                if any(kind != EventType.COMMENTED for kind, _ in changes):
                    t.updated_at = now
                s.flush()  # bumps the version; raises StaleDataError if we lost a race
                for kind, data in changes:
                    self._record(s, t, kind, actor, data, now)
                for text in notices.merchant_messages(t.number, status_change, patch.note, patch.reply_to_merchant):
                    self._notify(s, t, actor, now, text)
            result = ticket_out(t)
        if changes:
            log.info("ticket %s updated by %s: %s", number, actor, ", ".join(k.value for k, _ in changes))
        return result

    def add_comment(self, number: str, author: str, body: str, *, reply_to_merchant: bool = False) -> EventOut:
        """An internal note; with ``reply_to_merchant`` it is also sent to the merchant's chat."""
        data = CommentCreate(author=author, body=body, reply_to_merchant=reply_to_merchant)
        with self.db.session() as s:
            t = self._load(s, number)
            now = self.clock()
            ev = self._record(
                s,
                t,
                EventType.COMMENTED,
                data.author or "unknown",
                {"author": data.author, "body": data.body, "reply_to_merchant": data.reply_to_merchant},
                now,
            )
            for text in notices.merchant_messages(t.number, None, data.body, data.reply_to_merchant):
                self._notify(s, t, data.author or "unknown", now, text)
            return event_out(ev, t.number)

    def preview(self, number: str, change: MerchantPreviewIn) -> MerchantPreviewOut:
        """What the merchant would read if staff saved ``change`` now; nothing is written.

        An illegal status move raises IllegalTransition, exactly as saving it would.
        """
        with self.db.session() as s:
            t = self._load(s, number)
            status_change = None
            if change.status is not None and check_transition(t.status, change.status):
                status_change = (t.status, change.status.value)
            messages = notices.merchant_messages(t.number, status_change, change.note, change.reply_to_merchant)
            recipient = t.sender_id if t.sender_id else None
            return MerchantPreviewOut(recipient=recipient, messages=messages if recipient else [])

    def told_resolution(self, number: str) -> str | None:
        """The resolution the merchant was told: the resolving note, if staff sent it to them."""
        with self.db.session() as s:
            t = self._load(s, number)
            if t.status not in (Status.RESOLVED.value, Status.CLOSED.value):
                return None
            rows = s.execute(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == t.id, TicketEvent.type == EventType.STATUS_CHANGED.value)
                .order_by(TicketEvent.id.desc())
            ).scalars()
            for ev in rows:
                if (ev.data or {}).get("to") == Status.RESOLVED.value:
                    data = ev.data or {}
                    return data.get("note") if data.get("reply_to_merchant") else None
            return None

    # --- merchant notifications -------------------------------------------------------

    def pending_notifications(
        self, channel: str, sender_id: str | None = None, *, limit: int = 100
    ) -> builtins.list[NotificationOut]:
        """Unsent notifications of a channel (optionally one chat user), oldest first."""
        return notifications.pending(self.db, channel, sender_id, limit=limit)

    def mark_sent(self, notification_id: int) -> NotificationOut:
        """Mark delivered to the chat user; idempotent (the first sent_at stays)."""
        return notifications.mark_sent(self.db, notification_id, self.clock)

    def _notify(self, s: Session, t: Ticket, actor: str, now: datetime, text: str) -> None:
        """Queue one message for the chat that opened the ticket and record it on the ticket."""
        n = notifications.queue(s, self.settings, t, text, now)
        if n is None:
            return
        self._record(
            s, t, EventType.NOTIFICATION, actor, {"notification_id": n.id, "channel": n.channel, "text": text}, now
        )

    # --- outbox operations ------------------------------------------------------------

    def dead_events(self, *, cursor: str | None = None, limit: int = 50) -> OutboxPage:
        return outbox.list_events(self.db, outbox.DEAD, cursor=cursor, limit=limit)

    def outbox_event(self, event_id: str) -> OutboxEventOut:
        return outbox.get_event(self.db, event_id)

    def retry_event(self, event_id: str) -> OutboxEventOut:
        return outbox.retry_event(self.db, event_id, self.clock())

    def outbox_counts(self) -> dict[str, int]:
        return outbox.counts(self.db)

    # --- internals ----------------------------------------------------------------------

    def _load(self, s: Session, number: str, *, lock: bool = False) -> Ticket:
        q = select(Ticket).where(Ticket.number == number)
        if lock:
            q = q.with_for_update()  # PostgreSQL row lock; SQLite relies on the version column
        t = s.execute(q).scalar_one_or_none()
        if t is None:
            raise TicketNotFound(number)
        return t

    def _record(
        self, s: Session, t: Ticket, kind: EventType, actor: str, data: dict[str, Any], now: datetime
    ) -> TicketEvent:
        """Append an event; externally relevant ones get their outbox row in the same transaction."""
        ev = TicketEvent(ticket_id=t.id, type=kind.value, actor=actor[:100], data=data, created_at=now)
        s.add(ev)
        s.flush()
        if kind in OUTBOX_EVENT_TYPES:
            snapshot = ticket_out(t).model_dump(mode="json")
            if kind != EventType.CREATED:
                snapshot.pop("transcript")  # sent once, with ticket.created
            outbox.enqueue(s, t, ev, snapshot)
        return ev

    def _aware(self, moment: datetime) -> datetime:
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=self._tz)

"""Field jobs on tickets: the maintainer's queue, assignment, done with parts, reschedule, cancel.

Each change is one transaction on the ticket (row lock / version, like TicketService.update)
with its events: ``status_changed`` / ``assigned`` as for any ticket, and ``field_changed``
(rescheduled, cancelled, done with the parts used), which the webhook delivers like the
others, each with the full ticket snapshot including ``field``.
"""

from __future__ import annotations

import builtins
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot.field.schemas import FieldDone
from bot.field.when import Window
from bot.staff.accounts import StaffNotFound, StaffStore
from bot.tickets import (
    ConcurrentUpdate,
    FieldJobFinished,
    NotAFieldJob,
    UnknownMaintainer,
)
from bot.tickets.models import FieldJob, Ticket
from bot.tickets.notices import merchant_messages
from bot.tickets.outputs import ticket_out
from bot.tickets.schemas import TicketOut, TicketPatch
from bot.tickets.service import TicketService
from bot.tickets.states import ACTIVE_STATUSES, EventType, Status, check_transition

VISIT_KINDS = ("installation", "repair", "relocation", "training")
CARE_OFFER = "需要日常保养清单的话，回复“保养清单”就可以收到；回复“提醒我保养”，每{days}天提醒您一次。"
CANCELLED_NOTE = "商户取消了上门服务"
_RETRIES = 5
_HALF_ORDER = {"am": 0, "pm": 1, None: 2}


class FieldService:
    def __init__(self, tickets: TicketService):
        self.tickets = tickets
        self.db = tickets.db
        self.settings = tickets.settings

    # --- the queue ----------------------------------------------------------------------

    def queue(
        self,
        *,
        kind: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        area: str | None = None,
        maintainer: str | None = None,
        include_finished: bool = False,
        limit: int = 200,
    ) -> builtins.list[TicketOut]:
        """Field tickets by day, half-day and area. ``kind``: visit | delivery (consumables)."""
        q = select(Ticket).join(FieldJob, FieldJob.ticket_id == Ticket.id)
        if kind == "delivery":
            q = q.where(FieldJob.kind == "consumables")
        elif kind == "visit":
            q = q.where(FieldJob.kind.in_(VISIT_KINDS))
        if date_from is not None:
            q = q.where(FieldJob.scheduled_date >= date_from)
        if date_to is not None:
            q = q.where(FieldJob.scheduled_date <= date_to)
        if area:
            q = q.where(FieldJob.service_area == area)
        if maintainer:
            q = q.where(Ticket.assignee == maintainer)
        if not include_finished:
            q = q.where(FieldJob.outcome.is_(None), Ticket.status.in_([x.value for x in ACTIVE_STATUSES]))
        q = q.order_by(FieldJob.scheduled_date, FieldJob.service_area, Ticket.id).limit(max(1, min(limit, 500)))
        with self.db.session() as s:
            rows = [ticket_out(t) for t in s.execute(q).scalars()]
        rows.sort(key=_queue_order)
        return rows

    def areas(self) -> builtins.list[str]:
        with self.db.session() as s:
            rows = s.execute(
                select(FieldJob.service_area)
                .where(FieldJob.service_area.is_not(None))
                .distinct()
                .order_by(FieldJob.service_area)
            ).scalars()
            return [r for r in rows if r]

    def latest_for(self, tickets: builtins.list[TicketOut], *, visit: bool | None = None) -> TicketOut | None:
        """The newest field ticket among ``tickets`` (a merchant's own), of visits or deliveries."""
        mine = [
            t for t in tickets if t.field is not None and (visit is None or (t.field.kind != "consumables") == visit)
        ]
        return max(mine, key=lambda t: t.created_at, default=None)

    # --- changes ------------------------------------------------------------------------

    def assign(self, number: str, maintainer: str | None, *, actor: str) -> TicketOut:
        """Give the job to a maintainer (an active staff account); an open ticket goes in progress."""
        if maintainer is not None:
            try:
                account = StaffStore(self.db).get(maintainer)
            except StaffNotFound:
                raise UnknownMaintainer(maintainer) from None
            if not account.active or "field:write" not in account.scopes:
                raise UnknownMaintainer(maintainer)
        current = self._job_ticket(number)
        fields: dict[str, Any] = {"assignee": maintainer}
        if maintainer is not None and current.status == Status.OPEN.value:
            fields["status"] = Status.IN_PROGRESS
        return self.tickets.update(number, TicketPatch(**fields), actor=actor)

    def done(self, number: str, done: FieldDone, *, actor: str) -> TicketOut:
        """The work is done: the ticket is resolved with the note, the parts are recorded, and the
        merchant is told (with the care checklist on offer)."""

        def change(s: Session, t: Ticket, now) -> None:
            job = _job_of(t)
            check_transition(t.status, Status.RESOLVED)
            parts = [p.model_dump() for p in done.parts_used]
            old = t.status
            t.status, t.resolution, t.updated_at = Status.RESOLVED.value, done.note, now
            job.outcome, job.parts_used, job.finished_at = "done", parts, now
            s.flush()
            self.tickets._record(
                s,
                t,
                EventType.STATUS_CHANGED,
                actor,
                {"from": old, "to": t.status, "note": done.note, "reply_to_merchant": done.reply_to_merchant},
                now,
            )
            self.tickets._record(s, t, EventType.FIELD_CHANGED, actor, {"change": "done", "parts_used": parts}, now)
            for text in merchant_messages(t.number, (old, t.status), done.note, done.reply_to_merchant):
                self.tickets._notify(s, t, actor, now, text)
            self.tickets._notify(s, t, actor, now, CARE_OFFER.format(days=self.settings.field_care_reminder_days))

        return self._change(number, change)

    def reschedule(self, number: str, day: date, half: str, *, actor: str, tell_merchant: bool) -> TicketOut:
        def change(s: Session, t: Ticket, now) -> None:
            job = _job_of(t)
            if job.kind == "consumables":
                raise NotAFieldJob(number)
            before = {
                "scheduled_date": job.scheduled_date.isoformat() if job.scheduled_date else None,
                "half_day": job.half_day,
            }
            job.scheduled_date, job.half_day, t.updated_at = day, half, now
            s.flush()
            data = {
                "change": "rescheduled",
                "from": before,
                "to": {"scheduled_date": day.isoformat(), "half_day": half},
            }
            self.tickets._record(s, t, EventType.FIELD_CHANGED, actor, data, now)
            if tell_merchant:
                text = f"您的上门服务（工单 {t.number}）改到了 {Window(day, half).label()}。"
                self.tickets._notify(s, t, actor, now, text)

        return self._change(number, change)

    def cancel(self, number: str, *, actor: str, tell_merchant: bool) -> TicketOut:
        """The visit is called off: the ticket is resolved as cancelled (the merchant asked in the chat)."""

        def change(s: Session, t: Ticket, now) -> None:
            job = _job_of(t)
            old = t.status
            check_transition(t.status, Status.RESOLVED)
            t.status, t.resolution, t.updated_at = Status.RESOLVED.value, CANCELLED_NOTE, now
            job.outcome, job.finished_at = "cancelled", now
            s.flush()
            self.tickets._record(
                s,
                t,
                EventType.STATUS_CHANGED,
                actor,
                {"from": old, "to": t.status, "note": CANCELLED_NOTE, "reply_to_merchant": False},
                now,
            )
            self.tickets._record(s, t, EventType.FIELD_CHANGED, actor, {"change": "cancelled"}, now)
            if tell_merchant:
                self.tickets._notify(s, t, actor, now, f"您的上门服务（工单 {t.number}）已取消。")

        return self._change(number, change)

    # --- internals ----------------------------------------------------------------------

    def _job_ticket(self, number: str) -> TicketOut:
        t = self.tickets.get(number)
        if t.field is None:
            raise NotAFieldJob(number)
        return t

    def _change(self, number: str, change) -> TicketOut:
        for _ in range(_RETRIES):
            try:
                with self.db.session() as s:
                    t = self.tickets._load(s, number, lock=True)
                    if t.field_job is None:
                        raise NotAFieldJob(number)
                    if t.field_job.outcome is not None or t.status not in {x.value for x in ACTIVE_STATUSES}:
                        raise FieldJobFinished(number, t.field_job.outcome or "done")
                    change(s, t, self.tickets.clock())
                    return ticket_out(t)
            except StaleDataError:
                continue
        raise ConcurrentUpdate(number)


def _job_of(t: Ticket) -> FieldJob:
    """The ticket's field job (``FieldService._change`` has checked there is one)."""
    if t.field_job is None:
        raise NotAFieldJob(t.number)
    return t.field_job


def _queue_order(t: TicketOut) -> tuple[date, int]:
    """Day first (jobs without a day last), then morning before afternoon."""
    if t.field is None:
        return date.max, 2
    return t.field.scheduled_date or date.max, _HALF_ORDER.get(t.field.half_day or "", 2)

"""Ticket rows as the output schemas the service returns, detached from the session."""

from __future__ import annotations

from decimal import Decimal

from bot.field.catalog import BY_CODE
from bot.field.schemas import FieldOut
from bot.tickets.models import FieldJob, Notification, Ticket, TicketEvent
from bot.tickets.schemas import EventOut, NotificationOut, TicketOut
from bot.vocabulary import FIELD_KIND_LABELS


def field_out(job: FieldJob | None) -> FieldOut | None:
    if job is None:
        return None
    items = []
    for entry in job.items or []:
        item = BY_CODE.get(entry.get("code", ""))
        items.append(
            {
                "code": entry.get("code"),
                "label": item.label if item else entry.get("code"),
                "unit": item.unit if item else "",
                "quantity": entry.get("quantity"),
            }
        )
    return FieldOut(
        kind=job.kind,
        kind_label=FIELD_KIND_LABELS.get(job.kind, job.kind),
        items=items,
        delivery_method=job.delivery_method,
        address=job.address,
        service_area=job.service_area,
        scheduled_date=job.scheduled_date,
        half_day=job.half_day,
        outcome=job.outcome,
        parts_used=list(job.parts_used or []),
        finished_at=job.finished_at,
    )


def ticket_out(t: Ticket) -> TicketOut:
    amount = (
        None if t.settlement_amount_fen is None else (Decimal(t.settlement_amount_fen) / 100).quantize(Decimal("0.01"))
    )
    return TicketOut(
        number=t.number,
        category=t.category,
        status=t.status,
        priority=t.priority,
        merchant_id=t.merchant_id,
        terminal_id=t.terminal_id,
        device_serial=t.device_serial,
        contact_phone=t.contact_phone,
        description=t.description,
        settlement_date=t.settlement_date,
        settlement_amount=amount,
        channel=t.channel,
        sender_id=t.sender_id,
        transcript=list(t.transcript or []),
        assignee=t.assignee,
        resolution=t.resolution,
        field=field_out(t.field_job),
        version=t.version,
        created_at=t.created_at,
        updated_at=t.updated_at,
    )


def event_out(ev: TicketEvent, number: str) -> EventOut:
    return EventOut(
        id=ev.id, ticket_number=number, type=ev.type, actor=ev.actor, data=ev.data, created_at=ev.created_at
    )


def notification_out(n: Notification) -> NotificationOut:
    return NotificationOut(
        id=n.id,
        ticket_number=n.ticket_number,
        channel=n.channel,
        sender_id=n.sender_id,
        text=n.text,
        created_at=n.created_at,
        sent_at=n.sent_at,
    )

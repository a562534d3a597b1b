"""The field job row a consumables or visit ticket gets when it is created."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.settings import Settings
from bot.field.schemas import FieldIn
from bot.field.when import add_working_days
from bot.tickets.models import FieldJob


def new_job(ticket_id: int, f: FieldIn, now: datetime, settings: Settings) -> FieldJob:
    """The job as asked for; a delivery's or pickup's day, when not given, is the promised one."""
    day = f.scheduled_date
    if f.kind == "consumables" and day is None:
        lead = settings.field_delivery_lead_days if f.delivery_method == "delivery" else settings.field_pickup_lead_days
        day = add_working_days(now.astimezone(ZoneInfo(settings.timezone)).date(), lead)
    return FieldJob(
        ticket_id=ticket_id,
        kind=f.kind,
        items=[{"code": i.code, "quantity": i.quantity} for i in f.items],
        delivery_method=f.delivery_method,
        address=f.address,
        service_area=f.service_area,
        scheduled_date=day,
        half_day=f.half_day,
        outcome=None,
        parts_used=[],
        finished_at=None,
    )

"""The maintainer's queue: field jobs (consumables deliveries, on-site visits) by day and area.

``field:read`` lists the queue, ``field:write`` assigns a maintainer, reschedules a visit and
marks a job done with its note and parts. Every change is a ticket change too: the events
and webhooks of docs/tickets.md carry it, with the ticket's ``field`` block.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel

from bot.api.auth import FieldRead, FieldWrite
from bot.api.deps import DbDep, FieldDep, SettingsDep
from bot.api.errors import ApiError, Responses
from bot.api.tickets import BodyLimitRoute
from bot.field.schemas import FieldAssign, FieldDone, FieldReschedule
from bot.staff.accounts import StaffStore
from bot.tickets.schemas import TicketOut

router = APIRouter(route_class=BodyLimitRoute, prefix="/api/field", tags=["field"])

_ERRORS: Responses = {
    404: {"description": "Unknown ticket number"},
    409: {"description": "Not a field ticket, or the job is already done or cancelled"},
}


class FieldQueue(BaseModel):
    items: list[TicketOut]
    areas: list[str]


class Maintainer(BaseModel):
    username: str
    display_name: str


@router.get("/jobs", response_model=FieldQueue, responses={401: {}, 403: {}})
def queue(
    settings: SettingsDep,
    service: FieldDep,
    _caller: FieldRead,
    kind: Literal["visit", "delivery"] | None = None,
    date_from: Annotated[date | None, Query(description="Inclusive; default: 7 days ago")] = None,
    date_to: Annotated[date | None, Query(description="Inclusive")] = None,
    area: Annotated[str | None, Query(max_length=40)] = None,
    maintainer: Annotated[str | None, Query(max_length=64)] = None,
    include_finished: bool = False,
) -> FieldQueue:
    """Visits and deliveries still to do, by day, half-day and area (finished ones on request)."""
    if date_from is None:
        today = datetime.now(ZoneInfo(settings.timezone)).date()
        date_from = today - timedelta(days=7)
    items = service.queue(
        kind=kind,
        date_from=date_from,
        date_to=date_to,
        area=area,
        maintainer=maintainer,
        include_finished=include_finished,
    )
    return FieldQueue(items=items, areas=service.areas())


@router.get("/maintainers", response_model=list[Maintainer], responses={401: {}, 403: {}})
def maintainers(db: DbDep, _caller: FieldRead) -> list[Maintainer]:
    """Active staff accounts that can take field jobs (roles with field:write)."""
    return [
        Maintainer(username=a.username, display_name=a.display_name)
        for a in StaffStore(db).list()
        if a.active and "field:write" in a.scopes
    ]


@router.post("/jobs/{number}/assign", response_model=TicketOut, responses=_ERRORS)
def assign(number: str, body: FieldAssign, service: FieldDep, caller: FieldWrite) -> TicketOut:
    return service.assign(number, body.maintainer, actor=caller.actor)


@router.post("/jobs/{number}/reschedule", response_model=TicketOut, responses=_ERRORS)
def reschedule(
    settings: SettingsDep, number: str, body: FieldReschedule, service: FieldDep, caller: FieldWrite
) -> TicketOut:
    """A new day and half-day for a visit; the merchant is told in their chat."""
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    if body.scheduled_date < today:
        raise ApiError(
            422,
            "date_in_past",
            "日期（scheduled_date）不能早于今天 / scheduled_date must not be in the past",
            loc=["body", "scheduled_date"],
        )
    return service.reschedule(number, body.scheduled_date, body.half_day, actor=caller.actor, tell_merchant=True)


@router.post("/jobs/{number}/done", response_model=TicketOut, responses=_ERRORS)
def done(number: str, body: FieldDone, service: FieldDep, caller: FieldWrite) -> TicketOut:
    """Work finished: the ticket is resolved with the note, the parts used are kept."""
    return service.done(number, body, actor=caller.actor)

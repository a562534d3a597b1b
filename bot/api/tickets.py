"""Internal REST API of tickets and of the webhook outbox.

Mount with ``app.include_router(bot.api.tickets.router)`` and call
``bot.api.errors.install_error_handlers(app)``; the service is
``bot.api.deps.TicketsDep``. All endpoints need an API key
or a staff session (``tickets:read`` to read, ``tickets:write`` to change). Endpoints are plain ``def``:
the service is synchronous, FastAPI runs them in its thread pool.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError

from bot.api.auth import TicketsRead, TicketsWrite
from bot.api.deps import TicketsDep
from bot.api.errors import Responses
from bot.tickets.schemas import (
    CommentCreate,
    EventOut,
    MerchantPreviewIn,
    MerchantPreviewOut,
    OutboxEventOut,
    OutboxPage,
    TicketCreate,
    TicketFilters,
    TicketOut,
    TicketPage,
    TicketPatch,
)
from bot.tickets.states import Category, Channel, Status

MAX_BODY_BYTES = 64 * 1024
TOO_LARGE_MESSAGE = f"请求体过大（上限 {MAX_BODY_BYTES} 字节） / request body too large (limit {MAX_BODY_BYTES} bytes)"


class BodyLimitRoute(APIRoute):
    """Refuses bodies over MAX_BODY_BYTES with 413 before they are parsed.

    Checks Content-Length first, then counts the streamed bytes (chunked uploads have
    no length), so an oversized body is never fully held in memory nor validated.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            if request.method in ("POST", "PUT", "PATCH"):
                length = request.headers.get("content-length")
                if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
                    raise HTTPException(413, TOO_LARGE_MESSAGE)
                body = bytearray()
                async for chunk in request.stream():
                    body.extend(chunk)
                    if len(body) > MAX_BODY_BYTES:
                        raise HTTPException(413, TOO_LARGE_MESSAGE)
                payload = bytes(body)

                async def replay() -> dict[str, Any]:
                    return {"type": "http.request", "body": payload, "more_body": False}

                request = Request(request.scope, replay)
            return await handler(request)

        return limited


router = APIRouter(route_class=BodyLimitRoute)


_NOT_FOUND: Responses = {404: {"description": "Unknown ticket number"}}
_TOO_LARGE: Responses = {413: {"description": "Body over 64 KB"}}


@router.post(
    "/api/tickets",
    response_model=TicketOut,
    status_code=status.HTTP_201_CREATED,
    tags=["tickets"],
    responses={
        200: {"description": "Replay of an earlier request with the same Idempotency-Key"},
        **_TOO_LARGE,
    },
)
def create_ticket(
    data: TicketCreate,
    response: Response,
    service: TicketsDep,
    key: TicketsWrite,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="Same key → same ticket (1-128 printable ASCII)."),
    ] = None,
) -> TicketOut:
    result = service.create_ex(data, idempotency_key=idempotency_key, actor=key.actor)
    response.headers["Location"] = f"/api/tickets/{result.ticket.number}"
    if not result.created:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    return result.ticket


@router.get("/api/tickets", response_model=TicketPage, tags=["tickets"])
def list_tickets(
    service: TicketsDep,
    _key: TicketsRead,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    category: Category | None = None,
    merchant_id: str | None = None,
    assignee: str | None = None,
    channel: Channel | None = None,
    created_from: Annotated[datetime | None, Query(description="Inclusive; naive = settings.timezone")] = None,
    created_to: Annotated[datetime | None, Query(description="Exclusive; naive = settings.timezone")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> TicketPage:
    try:
        filters = TicketFilters(
            status=status_,
            category=category,
            merchant_id=merchant_id,
            assignee=assignee,
            channel=channel,
            created_from=created_from,
            created_to=created_to,
        )
    except ValidationError as exc:
        # Same 422 as FastAPI's own query validation, located in the query string.
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    return service.list(filters, cursor=cursor, limit=limit)


@router.get("/api/tickets/{number}", response_model=TicketOut, tags=["tickets"], responses=_NOT_FOUND)
def get_ticket(number: str, service: TicketsDep, _key: TicketsRead) -> TicketOut:
    return service.get(number)


@router.patch(
    "/api/tickets/{number}",
    response_model=TicketOut,
    tags=["tickets"],
    responses={**_NOT_FOUND, 409: {"description": "Illegal status transition"}, **_TOO_LARGE},
)
def patch_ticket(number: str, patch: TicketPatch, service: TicketsDep, key: TicketsWrite) -> TicketOut:
    return service.update(number, patch, actor=key.actor)


@router.post(
    "/api/tickets/{number}/comments",
    response_model=EventOut,
    status_code=status.HTTP_201_CREATED,
    tags=["tickets"],
    responses={**_NOT_FOUND, **_TOO_LARGE},
)
def add_comment(number: str, comment: CommentCreate, service: TicketsDep, key: TicketsWrite) -> EventOut:
    """An internal note; ``reply_to_merchant`` also sends it to the merchant's chat."""
    # A signed-in person is recorded as themselves; a machine may name the author.
    author = key.name if key.kind == "staff" else comment.author or key.name[:64]
    return service.add_comment(number, author, comment.body, reply_to_merchant=comment.reply_to_merchant)


@router.post(
    "/api/tickets/{number}/preview",
    response_model=MerchantPreviewOut,
    tags=["tickets"],
    responses={**_NOT_FOUND, 409: {"description": "Illegal status transition"}, **_TOO_LARGE},
)
def preview_merchant_messages(
    number: str, change: MerchantPreviewIn, service: TicketsDep, _key: TicketsRead
) -> MerchantPreviewOut:
    """Exactly what the merchant's chat would receive for this change (PATCH or comment); saves nothing."""
    return service.preview(number, change)


@router.get(
    "/api/tickets/{number}/events",
    response_model=list[EventOut],
    tags=["tickets"],
    responses=_NOT_FOUND,
)
def ticket_events(number: str, service: TicketsDep, _key: TicketsRead) -> list[EventOut]:
    return service.events(number)


@router.get("/api/outbox/dead", response_model=OutboxPage, tags=["outbox"])
def dead_events(
    service: TicketsDep,
    _key: TicketsRead,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> OutboxPage:
    """Events the webhook refused ``outbox_max_attempts`` times, oldest first."""
    return service.dead_events(cursor=cursor, limit=limit)


@router.get(
    "/api/outbox/{event_id}",
    response_model=OutboxEventOut,
    tags=["outbox"],
    responses={404: {"description": "Unknown event id"}},
)
def outbox_event(event_id: str, service: TicketsDep, _key: TicketsRead) -> OutboxEventOut:
    return service.outbox_event(event_id)


@router.post(
    "/api/outbox/{event_id}/retry",
    response_model=OutboxEventOut,
    tags=["outbox"],
    responses={404: {"description": "Unknown event id"}, 409: {"description": "Already delivered"}},
)
def retry_event(event_id: str, service: TicketsDep, _key: TicketsWrite) -> OutboxEventOut:
    """Re-queue a dead event: due now, with a fresh attempt budget."""
    return service.retry_event(event_id)

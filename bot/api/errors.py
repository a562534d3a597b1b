"""Uniform error responses: ``install_error_handlers(app)`` is called by the app factory.

Every error body has ``detail`` (FastAPI's usual key: a list for 422s, a string
otherwise), ``message`` (one bilingual Chinese / English sentence naming the field or
the problem) and ``code``. Handled here:

* RequestValidationError → 422, each item with ``field`` and a bilingual ``msg``; the
  offending input is never echoed (it may be 1 MB or a secret);
* ``bot.tickets.TicketError`` → its status (404 unknown ticket, 409 illegal transition, ...);
* ``bot.faq.store.StoreError`` → its status (422 with every problem of a knowledge-base edit);
* ``ApiError`` → its status and code (the web chat's 401 session errors, 409/413/415 photos ...);
* the database unreachable (SQLAlchemy ``OperationalError`` / ``InterfaceError``: PostgreSQL
  restarting, SQLite locked past its busy timeout) → 503 ``database_unavailable`` with
  ``Retry-After``, a polite bilingual message and no stack trace. Nothing of the request was
  stored (its transaction rolled back), so the client sends it again; pooled connections are
  checked before use (``pool_pre_ping``), so once the database is back the next request works.

HTTPException (401/403/413 ...) keeps FastAPI's default handler, and a pydantic
ValidationError escaping an endpoint stays a 500: it is a server bug, not bad input.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import InterfaceError, OperationalError

from bot.faq.store import StoreError
from bot.tickets import TicketError
from bot.validation import translate_errors

log = logging.getLogger(__name__)


class ErrorOut(BaseModel):
    """The error shape of every route (FastAPI's own HTTPException bodies carry only ``detail``)."""

    detail: str | list[dict[str, Any]]
    message: str | None = Field(None, description="One bilingual Chinese / English sentence.")
    code: str | None = Field(None, description="Machine-readable reason, e.g. too_large, rate_limited.")


# The OpenAPI ``responses=`` of a route: status -> description (and model).
Responses = dict[int | str, dict[str, Any]]

# Answers any route may give before its own code runs (bot.api.limits, bot.api.ratelimit).
COMMON_RESPONSES: Responses = {
    413: {"model": ErrorOut, "description": "Request body larger than the route's limit (code too_large)"},
    429: {
        "model": ErrorOut,
        "description": "Too many requests from this client, API key or sender (code rate_limited); see Retry-After",
    },
    503: {
        "model": ErrorOut,
        "description": "The database is unreachable for a moment (code database_unavailable); nothing was stored, "
        "send it again after Retry-After",
    },
}

DATABASE_UNAVAILABLE_MESSAGE = (
    "抱歉，系统暂时有点忙，刚才的内容没有保存，请稍后再发一次 / "
    "the database is unavailable for a moment; nothing was stored, please try again shortly"
)
DATABASE_RETRY_AFTER_S = 5


# What every route behind an API key or staff login may answer.
AUTH_RESPONSES: Responses = {
    401: {"description": "Missing or invalid API key"},
    403: {"description": "Key lacks the scope"},
}


class ApiError(Exception):
    """An error with a status, a machine-readable code and one bilingual message."""

    def __init__(self, status_code: int, code: str, message: str, *, loc: list[str] | None = None, headers=None):
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.loc = loc
        self.headers = headers


def validation_response(errors: list[dict[str, Any]]) -> JSONResponse:
    items = translate_errors(errors)
    return JSONResponse(
        status_code=422,
        content=jsonable_encoder(
            {"detail": items, "message": "；".join(i["msg"] for i in items), "code": "validation_error"}
        ),
    )


async def _request_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
    return validation_response(list(exc.errors()))


async def _ticket_error(request: Request, exc: TicketError) -> JSONResponse:
    if exc.status_code == 422:
        loc = list(exc.loc) or ["body"]
        item = {"type": exc.code, "loc": loc, "field": loc[-1], "msg": exc.message}
        # Same shape and code as any other 422; the specific reason is the item's type.
        content: dict[str, Any] = {"detail": [item], "message": exc.message, "code": "validation_error"}
    else:
        content = {"detail": exc.message, "message": exc.message, "code": exc.code}
    if exc.status_code >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
    return JSONResponse(status_code=exc.status_code, content=content)


async def _kb_error(_request: Request, exc) -> JSONResponse:
    """``bot.faq.store.StoreError``: 422 lists every problem of the change (Chinese ``msg``)."""
    if exc.status == 422:
        items = [
            {
                "type": exc.code,
                "loc": ["body", p.field or "body"],
                "field": p.field,
                "entry_id": p.entry_id,
                "msg": p.zh or p.message,
                "message_en": p.message,
            }
            for p in exc.problems
        ] or [{"type": exc.code, "loc": ["body"], "field": None, "msg": exc.message}]
        content: dict[str, Any] = {"detail": items, "message": exc.message, "code": "validation_error"}
    else:
        content = {"detail": exc.message, "message": exc.message, "code": exc.code}
    return JSONResponse(status_code=exc.status, content=content)


async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
    if exc.status_code == 422:
        loc = list(exc.loc or ["body"])
        item = {"type": exc.code, "loc": loc, "field": loc[-1], "msg": exc.message}
        content: dict[str, Any] = {"detail": [item], "message": exc.message, "code": "validation_error"}
    else:
        content = {"detail": exc.message, "message": exc.message, "code": exc.code}
    return JSONResponse(status_code=exc.status_code, content=content, headers=exc.headers)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # One line, no traceback: the cause is the database, not this request.
    log.warning(
        "%s %s: database unavailable (%s)", request.method, request.url.path, type(exc.__cause__ or exc).__name__
    )
    return JSONResponse(
        status_code=503,
        content={
            "detail": DATABASE_UNAVAILABLE_MESSAGE,
            "message": DATABASE_UNAVAILABLE_MESSAGE,
            "code": "database_unavailable",
        },
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on ``app`` (idempotent)."""
    app.add_exception_handler(RequestValidationError, _request_validation)  # type: ignore[arg-type]
    app.add_exception_handler(TicketError, _ticket_error)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(StoreError, _kb_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)

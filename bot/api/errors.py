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

* ``HTTPException`` (FastAPI's and Starlette's: 401/403/404/405/413 ...) → its status and
  headers, ``detail`` as raised, ``message`` the detail when it is a sentence (else the
  status's bilingual sentence) and ``code`` from the status (unauthorized, forbidden, ...).

A pydantic ValidationError escaping an endpoint stays a 500: it is a server bug, not bad input.

The app factory makes the OpenAPI say the same thing: ``document_auth(router)`` lets every
operation behind an API key or a staff session document its 401 (and 403 where a scope or the
same-origin check can refuse it), and ``document_errors(app)`` gives every 4xx/5xx of every
operation the ``ErrorOut`` schema.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.faq.store import StoreError
from bot.tickets import TicketError
from bot.validation import translate_errors

log = logging.getLogger(__name__)


class ErrorItem(BaseModel):
    """One problem of a 422: where (``loc``, ``field``) and what (``msg``, bilingual; ``type``)."""

    loc: list[str | int]
    msg: str
    type: str
    field: str | int | None = None


class ErrorOut(BaseModel):
    """The error shape of every route and every status (401, 404, 422, 429, 503 ...)."""

    detail: str | list[ErrorItem] = Field(description="A sentence, or for a 422 the list of problems.")
    message: str = Field(description="One bilingual Chinese / English sentence.")
    code: str = Field(description="Machine-readable reason, e.g. unauthorized, too_large, rate_limited.")


# ``code`` and the bilingual sentence of an HTTPException by status (when its detail is not a sentence).
STATUS_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式不对 / bad request"),
    401: ("unauthorized", "缺少或无效的凭据 / missing or invalid credentials"),
    403: ("forbidden", "没有权限 / forbidden"),
    404: ("not_found", "没有找到 / not found"),
    405: ("method_not_allowed", "不支持这种请求方式 / method not allowed"),
    409: ("conflict", "与当前状态冲突 / conflict with the current state"),
    413: ("too_large", "请求内容太大了 / request body too large"),
    415: ("unsupported_media_type", "不支持的内容类型 / unsupported media type"),
    429: ("rate_limited", "请求太频繁了，请稍后再试 / too many requests, try again later"),
    503: ("unavailable", "服务暂时不可用，请稍后再试 / service unavailable for a moment"),
}


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


_PHRASES = {s.value: s.phrase for s in HTTPStatus}


async def _http_exception(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code, sentence = STATUS_CODES.get(exc.status_code, ("error", f"HTTP {exc.status_code}"))
    # Starlette's own details ("Not Found", "Method Not Allowed") are the status's phrase: say it in both.
    phrase = _PHRASES.get(exc.status_code, "")
    message = exc.detail if isinstance(exc.detail, str) and exc.detail not in ("", phrase) else sentence
    return JSONResponse(
        status_code=exc.status_code,
        content=jsonable_encoder({"detail": exc.detail, "message": message, "code": code}),
        headers=getattr(exc, "headers", None),
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on ``app`` (idempotent)."""
    app.add_exception_handler(StarletteHTTPException, _http_exception)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _request_validation)  # type: ignore[arg-type]
    app.add_exception_handler(TicketError, _ticket_error)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(StoreError, _kb_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)


# --- the OpenAPI side ---------------------------------------------------------------------------

# Marks set by bot.api.auth on its dependencies: the statuses each may answer.
AUTH_STATUSES_ATTR = "posbot_auth_statuses"
_AUTH_DESCRIPTIONS = {
    401: "Missing or invalid API key or staff session (code unauthorized)",
    403: "The key or the staff role lacks the route's scope, or a cross-origin staff request (code forbidden)",
}


def _auth_statuses(route: APIRoute) -> set[int]:
    """The 401/403 the route's authentication dependencies may answer (bot.api.auth marks them)."""
    found: set[int] = set()
    safe = (route.methods or set()) <= {"GET", "HEAD", "OPTIONS"}
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        statuses = getattr(dep.call, AUTH_STATUSES_ATTR, None)
        if statuses:
            found |= set(statuses(safe) if callable(statuses) else statuses)
        stack.extend(dep.dependencies)
    return found


def document_auth(router: APIRouter) -> APIRouter:
    """Each route of ``router`` behind an API key or a staff session documents its 401 (and 403)."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            for status in sorted(_auth_statuses(route)):
                route.responses.setdefault(status, {"description": _AUTH_DESCRIPTIONS[status]})
    return router


def document_errors(app: FastAPI) -> None:
    """The OpenAPI of ``app`` has the one ``ErrorOut`` schema for every 4xx and 5xx."""

    fastapi_openapi = app.openapi  # FastAPI's own: builds the schema once and keeps it in app.openapi_schema

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = fastapi_openapi()  # ErrorOut is in its components already (COMMON_RESPONSES)
        ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
        for operations in schema.get("paths", {}).values():
            for op in operations.values():
                for status, response in op.get("responses", {}).items():
                    # A route's own body for an error status (GET /healthz's 503) stays its own.
                    own = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
                    if status[0] in "45" and (not own or own.endswith("/HTTPValidationError")):
                        response["content"] = ref
        for unused in ("HTTPValidationError", "ValidationError"):
            schema["components"]["schemas"].pop(unused, None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

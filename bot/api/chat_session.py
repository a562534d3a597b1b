"""Sessions of the web chat: ``POST /api/chat/session`` and the sender-id rules every chat route uses.

A conversation belongs to the browser that started it: this route issues a signed session
token bound to the sender id (``bot.chat.session``), and every other web chat route
(bot.api.chat, chat_updates, chat_photos, chat_rating) needs it as
``Authorization: Bearer <token>``. Those routes check it with ``limited_sender`` and take sender
ids as ``SenderId`` (body) or through ``query_sender`` (query), so the rules are written once.
See docs/widget.md for the whole protocol.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bot.api.deps import ConversationsDep, LimiterDep, SessionTokensDep
from bot.api.errors import ApiError, Responses
from bot.api.ratelimit import Limiter, check_sender
from bot.chat.service import SENDER_RE
from bot.chat.session import SessionError, SessionTokens
from bot.vocabulary import conversation_id

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/chat", tags=["chat"])

CHANNEL = "web"
SESSION_STATUS = {
    "session_missing": 401,
    "session_invalid": 401,
    "session_expired": 401,
    "session_mismatch": 403,
    "sender_taken": 409,
}
# The answers of every route that needs the session token (all but POST /api/chat/session).
AUTH_DOC: Responses = {
    401: {"description": "Session token missing, invalid or expired (`code` says which)"},
    403: {"description": "sender_id is not the session's"},
    429: {"description": "Too many requests from this sender or client (`Retry-After` says when to retry)"},
}


def session_error(e: SessionError) -> ApiError:
    status = SESSION_STATUS[e.code]
    headers = {"WWW-Authenticate": 'Bearer realm="posbot-chat"'} if status == 401 else None
    return ApiError(status, e.code, e.message, headers=headers)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def session_sender(request: Request, tokens: SessionTokens, claimed_sender_id: str) -> str:
    """The request's token must be current and belong to the sender id the request names."""
    try:
        sid = tokens.verify(_bearer(request))
    except SessionError as e:
        raise session_error(e) from None
    if claimed_sender_id != sid:
        raise session_error(SessionError("session_mismatch"))
    return sid


async def limited_sender(
    request: Request,
    tokens: SessionTokens,
    limiter: Limiter | None,
    claimed_sender_id: str,
    group: str = "sender_requests",
) -> str:
    """``session_sender``, then one request counted against the sender's rate limit (429 past it)."""
    sid = session_sender(request, tokens, claimed_sender_id)
    await check_sender(limiter, sid, group)
    return sid


def _check_sender(v: str | None) -> str | None:
    if v is not None and not SENDER_RE.fullmatch(v):
        raise ValueError(
            "sender_id 只能包含字母、数字和 _ . : @ -，长度 1-64 / sender_id must be 1-64 chars of [A-Za-z0-9_.:@-]"
        )
    return v


# A sender id in a request body, checked by one rule for every chat model.
SenderId = Annotated[str, AfterValidator(_check_sender)]


def query_sender(sender_id: str) -> str:
    """A sender id in the query string, by the same rule (422 ``sender_id_invalid``)."""
    if not SENDER_RE.fullmatch(sender_id):
        raise ApiError(422, "sender_id_invalid", "sender_id 格式不正确 / invalid sender_id", loc=["query", "sender_id"])
    return sender_id


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sender_id: SenderId | None = Field(
        None, description="Start a conversation under this id (refused with 409 when it exists). Empty: a new id."
    )
    token: str | None = Field(
        None, max_length=512, description="A previous token, also an expired one, to renew the same conversation."
    )


class SessionOut(BaseModel):
    sender_id: str
    token: str = Field(..., description="Send as `Authorization: Bearer <token>` with every chat request.")
    expires_at: datetime
    expires_in: int = Field(..., description="Seconds the token is valid.")


@router.post(
    "/session",
    response_model=SessionOut,
    responses={
        401: {"description": "the token to renew is forged or too old"},
        403: {"description": "the token belongs to another sender_id"},
        409: {"description": "sender_id already belongs to another session"},
        429: {"description": "Too many requests from this sender or client"},
    },
)
async def new_session(
    tokens: SessionTokensDep, limiter: LimiterDep, convs: ConversationsDep, body: SessionIn | None = None
):
    """Start a conversation (new or chosen sender id) or renew one with its previous token."""
    body = body or SessionIn()
    if body.token:
        try:
            sid = tokens.renewable(body.token)
        except SessionError as e:
            raise session_error(e) from None
        if body.sender_id is not None and body.sender_id != sid:
            raise session_error(SessionError("session_mismatch"))
        await check_sender(limiter, sid)
    elif body.sender_id is not None:
        sid = body.sender_id
        await check_sender(limiter, sid)
        if not await to_thread.run_sync(convs.claim, conversation_id(CHANNEL, sid), CHANNEL):
            log.info("session for existing sender id %s refused", sid)
            raise session_error(SessionError("sender_taken"))
    else:
        while True:
            sid = "w" + secrets.token_hex(12)
            if await to_thread.run_sync(convs.claim, conversation_id(CHANNEL, sid), CHANNEL):
                break
    issued = tokens.issue(sid)
    return SessionOut(sender_id=sid, token=issued.token, expires_at=issued.expires_at, expires_in=tokens.ttl_s)

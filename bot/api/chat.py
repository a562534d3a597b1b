"""Chat API used by the web widget: one merchant message in, the bot's messages out.

A conversation belongs to the browser that started it: ``POST /api/chat/session`` issues a
signed session token bound to the sender id (``bot.chat_session``), and every other
endpoint here needs it as ``Authorization: Bearer <token>``. Staff replies and
notifications are fetched with ``GET /api/chat/updates`` and stay there until the widget
acknowledges them (``POST /api/chat/updates/ack``), so reading is harmless and nothing is
lost when a page closes half-way. See docs/widget.md for the whole protocol.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import UTC, datetime
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from bot import merchant_identity
from bot.api.deps import ChatDep, ConversationsDep, LimiterDep, ServicesDep, SessionTokensDep, SettingsDep
from bot.api.errors import ApiError, ErrorOut, Responses
from bot.api.limits import too_large
from bot.api.ratelimit import Limiter, check_sender, check_session_cap
from bot.chat import (
    SENDER_RE,
    ChatInputError,
    RatingRefused,
    acknowledge_updates,
    handoff_notice,
    pending_updates,
    rate,
)
from bot.chat_session import SessionError, SessionTokens
from bot.conversations.photos import PhotoError, normalize_photo, too_big
from bot.conversations.service import BUTTON_PAYLOAD_MAX, BUTTON_TITLE_MAX, PhotoRefused
from bot.settings import Settings
from bot.tickets.numbers import is_ticket_number
from bot.vocabulary import conversation_id

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/chat", tags=["chat"])

CHANNEL = "web"
TICKET_CANDIDATE_RE = re.compile(r"GD[0-9A-Za-z-]{6,40}")
UPDATE_ID_RE = re.compile(r"[mn]\d{1,18}")  # always fullmatch: "$" would accept a trailing newline
SESSION_STATUS = {
    "session_missing": 401,
    "session_invalid": 401,
    "session_expired": 401,
    "session_mismatch": 403,
    "sender_taken": 409,
}
# A message is at most max_message_chars (1000) characters, 6 bytes each when JSON-escaped,
# plus a title and a merchant identity: 64 KiB is generous and stops megabytes at the door.
CHAT_BODY_MAX = 64 * 1024
_AUTH_DOC: Responses = {
    401: {"description": "Session token missing, invalid or expired (`code` says which)"},
    403: {"description": "sender_id is not the session's"},
    429: {"description": "Too many requests from this sender or client (`Retry-After` says when to retry)"},
}


def body_limits(settings: Settings) -> list:
    """Rules for bot.api.limits.BodyLimit: small JSON bodies, photos up to chat_photo_max_bytes."""

    def photo_refusal(_limit: int) -> tuple[str, str]:
        e = too_big(settings.chat_photo_max_bytes)
        return e.code, e.message

    return [
        ("/api/chat", CHAT_BODY_MAX, too_large),
        ("/api/chat/photos", settings.chat_photo_max_bytes + 64 * 1024, photo_refusal),  # + multipart framing
    ]


# --- sessions ------------------------------------------------------------------------------


def _session_error(e: SessionError) -> ApiError:
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
        raise _session_error(e) from None
    if claimed_sender_id != sid:
        raise _session_error(SessionError("session_mismatch"))
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


def _query_sender(sender_id: str) -> str:
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
            raise _session_error(e) from None
        if body.sender_id is not None and body.sender_id != sid:
            raise _session_error(SessionError("session_mismatch"))
        await check_sender(limiter, sid)
    elif body.sender_id is not None:
        sid = body.sender_id
        await check_sender(limiter, sid)
        if not await to_thread.run_sync(convs.claim, conversation_id(CHANNEL, sid), CHANNEL):
            log.info("session for existing sender id %s refused", sid)
            raise _session_error(SessionError("sender_taken"))
    else:
        while True:
            sid = "w" + secrets.token_hex(12)
            if await to_thread.run_sync(convs.claim, conversation_id(CHANNEL, sid), CHANNEL):
                break
    issued = tokens.issue(sid)
    return SessionOut(sender_id=sid, token=issued.token, expires_at=issued.expires_at, expires_in=tokens.ttl_s)


# --- messages ------------------------------------------------------------------------------


class Button(BaseModel):
    title: str
    payload: str


class Message(BaseModel):
    text: str = ""
    buttons: list[Button] = Field(default_factory=list)
    tickets: list[str] = Field(default_factory=list, description="Ticket numbers in `text` (shown as cards).")


class MerchantIn(BaseModel):
    """A merchant identity signed by the host page (docs/widget.md)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., max_length=64, examples=["898310048161234"])
    expires: int = Field(..., description="Unix time in seconds.")
    signature: str = Field(..., max_length=64, description='hex HMAC-SHA256 of "<id>.<expires>"')


class ChatIn(BaseModel):
    sender_id: SenderId = Field(..., description="The sender id of the session token.", examples=["w3f2a9c..."])
    text: str = Field(..., description="What the merchant typed, or a button payload.", examples=["刷卡机怎么激活"])
    title: str | None = Field(
        None,
        max_length=BUTTON_TITLE_MAX,
        description="Title of the clicked button; accepted only with the payload of a button offered in this conversation.",
    )
    merchant: MerchantIn | None = Field(None, description="Signed merchant identity from the host page.")

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("消息不能为空 / text must not be empty")
        return v


class ChatOut(BaseModel):
    messages: list[Message]
    status: str = Field("ok", description="ok | handoff (a person owns the conversation) | rasa_unavailable")
    handoff_notice: str | None = Field(
        None,
        description="While status is handoff: the banner line, when a person will answer (bot.chat.handoff_notice).",
    )
    received_at: datetime = Field(..., description="When the server stored the merchant's message (delivered).")


def tickets_in(text: str) -> list[str]:
    """Ticket numbers mentioned in a text, in order, once each (the format is bot.tickets.numbers')."""
    out: list[str] = []
    for m in TICKET_CANDIDATE_RE.finditer(text or ""):
        number = m.group(0).rstrip("-")
        if is_ticket_number(number) and number not in out:
            out.append(number)
    return out


def verified_merchant(settings: Settings, merchant: MerchantIn | None) -> dict | None:
    """Rasa metadata for a verified identity; ApiError 401 for a bad one."""
    if merchant is None:
        return None
    try:
        ident = merchant_identity.verify(
            settings.merchant_identity_secret.get_secret_value(),
            merchant.id,
            merchant.expires,
            merchant.signature,
            max_ttl_s=settings.merchant_identity_max_ttl_s,
        )
    except merchant_identity.MerchantIdentityError as e:
        log.info("merchant identity for %s refused: %s", merchant.id[:64], e.code)
        raise ApiError(401, e.code, e.message) from None
    return {merchant_identity.METADATA_KEY: ident.merchant_id}


@router.post(
    "",
    response_model=ChatOut,
    responses={
        **_AUTH_DOC,
        503: {
            "model": ChatOut | ErrorOut,
            "description": "Rasa is down or slow: the message was stored and `messages` carries a polite answer "
            "(status rasa_unavailable). Or the database is unreachable (code database_unavailable): nothing was "
            "stored, send it again after Retry-After.",
        },
    },
)
async def chat(
    request: Request,
    body: ChatIn,
    chat: ChatDep,
    settings: SettingsDep,
    tokens: SessionTokensDep,
    limiter: LimiterDep,
):
    """Send a merchant message to the assistant and get its replies."""
    if len(body.text) > settings.max_message_chars:
        raise ApiError(
            422,
            "too_long",
            f"消息太长了，请控制在 {settings.max_message_chars} 字以内 / text longer than {settings.max_message_chars} characters",
            loc=["body", "text"],
        )
    if body.title is not None and len(body.text) > BUTTON_PAYLOAD_MAX:
        raise ApiError(422, "unknown_button", "按钮已失效 / payload too long for a button", loc=["body", "text"])
    await limited_sender(request, tokens, limiter, body.sender_id, "sender_messages")
    await check_session_cap(limiter, body.sender_id)
    metadata = verified_merchant(settings, body.merchant)
    try:
        if body.title is not None:
            await chat.check_click(CHANNEL, body.sender_id, body.text, body.title)
    except ChatInputError as e:
        raise ApiError(422, e.code, e.message, loc=["body", e.field]) from None
    reply = await chat.handle(CHANNEL, body.sender_id, body.text, display_text=body.title, metadata=metadata)
    out = ChatOut(
        messages=[
            Message(text=m.text, buttons=[Button(**b) for b in m.buttons], tickets=tickets_in(m.text))
            for m in reply.messages
        ],
        status=reply.status,
        handoff_notice=reply.notice,
        received_at=datetime.now(UTC),
    )
    if reply.status == "rasa_unavailable":
        return JSONResponse(status_code=503, content=out.model_dump(mode="json"))
    return out


# --- staff replies and notifications ------------------------------------------------------


class RatingPrompt(BaseModel):
    subject: str = Field(..., description="What to rate; send it back to POST /api/chat/rating.")


class UpdateOut(BaseModel):
    id: str = Field(..., description="Acknowledge it with POST /api/chat/updates/ack once shown.")
    text: str
    from_: str = Field(..., alias="from", description="staff | system")
    author: str | None = Field(None, description="Name of the staff member who replied.")
    created_at: datetime | None = None
    tickets: list[str] = Field(default_factory=list)
    rating: RatingPrompt | None = Field(None, description="Ask the merchant for a 1-5 rating of this.")

    model_config = {"populate_by_name": True}


class UpdatesOut(BaseModel):
    messages: list[UpdateOut]
    handoff: bool = Field(..., description="True while a person owns the conversation (the bot is silent).")
    handoff_notice: str | None = Field(
        None, description="While handoff is true: the banner line, when a person will answer (bot.chat.handoff_notice)."
    )


@router.get("/updates", response_model=UpdatesOut, response_model_by_alias=True, responses=_AUTH_DOC)
async def updates(
    request: Request, sender_id: str, services: ServicesDep, tokens: SessionTokensDep, limiter: LimiterDep
):
    """Staff replies (during 转人工) and notifications not yet acknowledged; reading changes nothing."""
    await limited_sender(request, tokens, limiter, _query_sender(sender_id))
    items = await to_thread.run_sync(pending_updates, services, CHANNEL, sender_id)
    handoff = await to_thread.run_sync(services.conversations.handoff_active, conversation_id(CHANNEL, sender_id))
    return UpdatesOut(
        messages=[
            UpdateOut(
                id=u.id,
                text=u.text,
                author=u.author,
                created_at=u.created_at,
                tickets=tickets_in(u.text),
                rating=RatingPrompt(subject=u.rating_subject) if u.rating_subject else None,
                **{"from": u.source},
            )
            for u in items
        ],
        handoff=handoff,
        handoff_notice=handoff_notice(services) if handoff else None,
    )


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sender_id: SenderId
    ids: list[str] = Field(..., max_length=200, description="Update ids shown to the merchant.")

    @field_validator("ids")
    @classmethod
    def _ids(cls, v: list[str]) -> list[str]:
        if any(not UPDATE_ID_RE.fullmatch(i) for i in v):
            raise ValueError("ids 应形如 m12 或 n3 / ids look like m12 or n3")
        return v


class AckOut(BaseModel):
    acknowledged: int = Field(..., description="How many were pending and are delivered now.")


@router.post("/updates/ack", response_model=AckOut, responses=_AUTH_DOC)
async def ack_updates(
    request: Request, body: AckIn, services: ServicesDep, tokens: SessionTokensDep, limiter: LimiterDep
):
    """Mark updates delivered. Ids of other conversations and repeated acks change nothing."""
    await limited_sender(request, tokens, limiter, body.sender_id)
    n = await to_thread.run_sync(acknowledge_updates, services, CHANNEL, body.sender_id, body.ids)
    return AckOut(acknowledged=n)


# --- photos during a handoff -------------------------------------------------------------


class PhotoOut(BaseModel):
    message_id: int
    attachment_id: int
    content_type: str
    width: int
    height: int
    size: int
    received_at: datetime


PHOTO_STATUS = {
    "photo_empty": 422,
    "photo_too_big": 413,
    "photo_not_image": 415,
    "photo_too_many_pixels": 422,
    "photo_damaged": 422,
}


def _photo_error(e: PhotoError) -> ApiError:
    status = PHOTO_STATUS[e.code]
    return ApiError(status, e.code, e.message, loc=["body", "file"] if status == 422 else None)


@router.post(
    "/photos",
    response_model=PhotoOut,
    status_code=201,
    responses={
        **_AUTH_DOC,
        409: {"description": "no handoff active, or too many photos in this handoff"},
        413: {"description": "larger than chat_photo_max_bytes"},
        415: {"description": "not a JPEG, PNG, WebP or GIF image (by content)"},
        422: {"description": "damaged image, too many pixels, or no file"},
    },
)
async def upload_photo(
    request: Request,
    sender_id: str,
    settings: SettingsDep,
    tokens: SessionTokensDep,
    limiter: LimiterDep,
    convs: ConversationsDep,
):
    """Attach a photo (multipart field ``file``) for the person handling the conversation."""
    await limited_sender(request, tokens, limiter, _query_sender(sender_id))
    limit = settings.chat_photo_max_bytes  # bodies far above it never get here (body_limits)
    try:
        form = await request.form(max_files=1, max_fields=4)
    except Exception:
        raise ApiError(
            422, "photo_empty", "请用 multipart/form-data 上传 file 字段 / send the photo as multipart field 'file'"
        ) from None
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise _photo_error(PhotoError("photo_empty"))
        raw = await upload.read(limit + 1)
    finally:
        await form.close()
    try:
        photo = await to_thread.run_sync(
            lambda: normalize_photo(raw, max_bytes=limit, max_pixels=settings.chat_photo_max_pixels)
        )
    except PhotoError as e:
        raise _photo_error(e) from None
    try:
        m = await to_thread.run_sync(
            lambda: convs.add_photo(
                conversation_id(CHANNEL, sender_id), photo, max_per_handoff=settings.chat_photos_per_handoff
            )
        )
    except PhotoRefused as e:
        raise ApiError(409, e.code, e.message) from None
    except LookupError:  # no conversation at all: nobody to hand a photo to
        raise ApiError(409, "photo_no_handoff", PhotoRefused.MESSAGES["photo_no_handoff"]) from None
    a = m.attachment
    assert a is not None  # add_photo returns the message it stored with its photo
    return PhotoOut(
        message_id=m.id,
        attachment_id=a.id,
        content_type=a.content_type,
        width=a.width,
        height=a.height,
        size=a.size,
        received_at=m.created_at,
    )


# --- ratings -------------------------------------------------------------------------------


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sender_id: SenderId
    subject: str = Field(..., max_length=64, description="From an update's `rating.subject`.")
    rating: int = Field(..., ge=1, le=5, strict=True, description="1 (very unhappy) to 5 (very happy).")


class RatingOut(BaseModel):
    subject: str
    rating: int = Field(..., description="The stored rating (the first one when rated twice).")
    created: bool = Field(..., description="False when this subject had been rated already.")


@router.post("/rating", response_model=RatingOut, responses=_AUTH_DOC)
async def rate_service(
    request: Request, body: RatingIn, services: ServicesDep, tokens: SessionTokensDep, limiter: LimiterDep
):
    """A 1-5 rating of a handoff that ended or a ticket resolved in this conversation."""
    await limited_sender(request, tokens, limiter, body.sender_id)
    try:
        stored, created = await to_thread.run_sync(rate, services, CHANNEL, body.sender_id, body.subject, body.rating)
    except RatingRefused as e:
        raise ApiError(422, "rating_refused", e.message, loc=["body", "subject"]) from None
    return RatingOut(subject=body.subject, rating=stored.rating, created=created)

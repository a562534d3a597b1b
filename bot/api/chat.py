"""Chat API used by the web widget: one merchant message in, the bot's messages out.

``POST /api/chat`` is the turn; the rest of the web chat's HTTP API is one module per idea:

* bot.api.chat_session — ``POST /api/chat/session`` and the session and sender-id checks
  (``SenderId``, ``limited_sender``) every route here uses;
* bot.api.chat_updates — staff replies and notifications: ``GET /api/chat/updates``, kept
  until the widget acknowledges them (``POST /api/chat/updates/ack``), so reading is harmless
  and nothing is lost when a page closes half-way;
* bot.api.chat_photos — ``POST /api/chat/photos`` during a handoff;
* bot.api.chat_rating — ``POST /api/chat/rating``.

See docs/widget.md for the whole protocol.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.api.chat_session import AUTH_DOC, CHANNEL, SenderId, limited_sender
from bot.api.deps import ChatDep, LimiterDep, SessionTokensDep, SettingsDep
from bot.api.errors import ApiError, ErrorOut
from bot.api.limits import too_large
from bot.api.ratelimit import check_session_cap
from bot.chat import identity as merchant_identity
from bot.chat.service import ChatInputError
from bot.conversations.photos import too_big
from bot.conversations.service import BUTTON_PAYLOAD_MAX, BUTTON_TITLE_MAX
from bot.core.settings import Settings
from bot.tickets.numbers import is_ticket_number

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/chat", tags=["chat"])

TICKET_CANDIDATE_RE = re.compile(r"GD[0-9A-Za-z-]{6,40}")
# A message is at most max_message_chars (1000) characters, 6 bytes each when JSON-escaped,
# plus a title and a merchant identity: 64 KiB is generous and stops megabytes at the door.
CHAT_BODY_MAX = 64 * 1024


def body_limits(settings: Settings) -> list:
    """Rules for bot.api.limits.BodyLimit: small JSON bodies, photos up to chat_photo_max_bytes."""

    def photo_refusal(_limit: int) -> tuple[str, str]:
        e = too_big(settings.chat_photo_max_bytes)
        return e.code, e.message

    return [
        ("/api/chat", CHAT_BODY_MAX, too_large),
        ("/api/chat/photos", settings.chat_photo_max_bytes + 64 * 1024, photo_refusal),  # + multipart framing
    ]


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
        description="While status is handoff: the banner line, when a person will answer (bot.chat.service.handoff_notice).",
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
        **AUTH_DOC,
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

"""Staff replies and notifications for the web chat: ``GET /api/chat/updates`` and its ack.

An update (a staff reply during 转人工, a system notice, a ticket notification) stays
pending until the widget acknowledges it with ``POST /api/chat/updates/ack``, so reading is
harmless and nothing is lost when a page closes half-way. Both routes need the session token
(bot.api.chat_session).
"""

from __future__ import annotations

import re
from datetime import datetime

from anyio import to_thread
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.api.chat import tickets_in
from bot.api.chat_session import AUTH_DOC, CHANNEL, SenderId, limited_sender, query_sender
from bot.api.deps import LimiterDep, ServicesDep, SessionTokensDep
from bot.chat.service import acknowledge_updates, handoff_notice, pending_updates
from bot.vocabulary import conversation_id

router = APIRouter(prefix="/api/chat", tags=["chat"])

UPDATE_ID_RE = re.compile(r"[mn]\d{1,18}")  # always fullmatch: "$" would accept a trailing newline


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
        None,
        description="While handoff is true: the banner line, when a person will answer (bot.chat.service.handoff_notice).",
    )


@router.get("/updates", response_model=UpdatesOut, response_model_by_alias=True, responses=AUTH_DOC)
async def updates(
    request: Request, sender_id: str, services: ServicesDep, tokens: SessionTokensDep, limiter: LimiterDep
):
    """Staff replies (during 转人工) and notifications not yet acknowledged; reading changes nothing."""
    await limited_sender(request, tokens, limiter, query_sender(sender_id))
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


@router.post("/updates/ack", response_model=AckOut, responses=AUTH_DOC)
async def ack_updates(
    request: Request, body: AckIn, services: ServicesDep, tokens: SessionTokensDep, limiter: LimiterDep
):
    """Mark updates delivered. Ids of other conversations and repeated acks change nothing."""
    await limited_sender(request, tokens, limiter, body.sender_id)
    n = await to_thread.run_sync(acknowledge_updates, services, CHANNEL, body.sender_id, body.ids)
    return AckOut(acknowledged=n)

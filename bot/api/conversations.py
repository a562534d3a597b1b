"""Internal API for staff: conversation transcripts, staff replies, hand-back, feedback summary.

Mounted by the app next to the ticket API; every endpoint needs an API key or a staff
session (``conversations:read`` to read, ``conversations:write`` to reply or hand back;
for API keys, the older ``tickets:read`` / ``tickets:write`` still grant them). The service is
``bot.api.deps.ConversationsDep``. Endpoints are plain ``def``: the
service is synchronous, FastAPI runs them in its thread pool.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from bot.api.auth import ConversationsRead, ConversationsWrite
from bot.api.deps import ConversationsDep, TicketsDep
from bot.api.errors import Responses
from bot.channels.outbox_staff import with_deliveries
from bot.conversations.context import ConversationContext, conversation_context
from bot.conversations.schemas import ConversationDetail, ConversationState, FeedbackSummary, MessageOut
from bot.conversations.service import ConversationNotFound

router = APIRouter()

STAFF_TEXT_MAX = 2000
_NOT_FOUND: Responses = {404: {"description": "Unknown conversation id"}}


class StaffConversation(ConversationDetail, ConversationContext):
    """A conversation as an agent sees it: state, messages, the merchant's facts, its tickets."""


class StaffMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(..., min_length=1, max_length=STAFF_TEXT_MAX, description="What the merchant will read.")
    author: str | None = Field(
        None,
        max_length=100,
        description="Signature the merchant sees; the account's display name (or the API key's name) when omitted.",
    )


class HandBackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    by: str | None = Field(
        None,
        max_length=100,
        description="Who hands back (API keys only; a staff session records its username); the key's name when omitted.",
    )
    notify: bool = Field(True, description="Queue a short notice telling the merchant the assistant is back.")


def _not_found(conv_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"会话 {conv_id} 不存在 / conversation {conv_id} not found")


@router.get(
    "/api/conversations",
    response_model=list[ConversationState],
    tags=["conversations"],
)
def list_handoffs(key: ConversationsRead, convs: ConversationsDep, limit: int = Query(100, ge=1, le=500)):
    """Conversations a person owns right now (转人工), longest waiting first."""
    return convs.active_handoffs(limit)


@router.get(
    "/api/conversations/{conv_id}",
    response_model=StaffConversation,
    tags=["conversations"],
    responses=_NOT_FOUND,
)
def get_conversation(
    conv_id: str,
    key: ConversationsRead,
    convs: ConversationsDep,
    tickets: TicketsDep,
    limit: int = Query(200, ge=1, le=1000),
):
    """Handoff state, the last ``limit`` messages (oldest first), the merchant's facts (phone masked)
    and the conversation's tickets (newest first)."""
    detail = convs.get_detail(conv_id, limit)
    if detail is None:
        raise _not_found(conv_id)
    detail = with_deliveries(detail, convs.db)
    context = conversation_context(tickets, conv_id)
    return StaffConversation(**detail.model_dump(), **context.model_dump())


@router.post(
    "/api/conversations/{conv_id}/handback",
    response_model=ConversationState,
    tags=["conversations"],
    responses=_NOT_FOUND,
)
def hand_back(conv_id: str, key: ConversationsWrite, convs: ConversationsDep, body: HandBackIn | None = None):
    """End the handoff: the assistant answers the merchant again. Idempotent."""
    body = body or HandBackIn()
    # A signed-in person is recorded as themselves (username); a machine may say who.
    by = key.name if key.kind == "staff" else body.by or key.name
    try:
        if body.notify:
            return convs.hand_back(conv_id, by)
        return convs.hand_back(conv_id, by, notice=None)
    except ConversationNotFound:
        raise _not_found(conv_id) from None


@router.post(
    "/api/conversations/{conv_id}/messages",
    response_model=MessageOut,
    status_code=status.HTTP_201_CREATED,
    tags=["conversations"],
    responses=_NOT_FOUND,
)
def staff_message(conv_id: str, body: StaffMessageIn, key: ConversationsWrite, convs: ConversationsDep):
    """Queue a staff reply; the merchant's channel delivers it (web: /api/chat/updates)."""
    try:
        # author: the signature the merchant reads; actor: who really sent it.
        return convs.staff_reply(conv_id, body.text, by=body.author or key.display_name, actor=key.actor)
    except ConversationNotFound:
        raise _not_found(conv_id) from None


@router.get(
    "/api/conversations/{conv_id}/attachments/{attachment_id}",
    tags=["conversations"],
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}, 404: {"description": "Unknown photo"}},
)
def get_attachment(
    conv_id: str,
    attachment_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    key: ConversationsRead,
    convs: ConversationsDep,
):
    """A photo the merchant sent during a handoff (staff only; re-encoded, metadata stripped)."""
    found = convs.get_attachment(conv_id, attachment_id)
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"图片 {attachment_id} 不存在 / attachment {attachment_id} not found in {conv_id}",
        )
    meta, data = found
    return Response(
        content=data,
        media_type=meta.content_type,
        headers={
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="photo-{meta.id}.{meta.content_type.rsplit("/", 1)[-1]}"',
        },
    )


@router.get("/api/feedback/summary", response_model=FeedbackSummary, tags=["feedback"])
def feedback_summary(
    key: ConversationsRead,
    convs: ConversationsDep,
    since: datetime | None = Query(None, description="Inclusive, ISO 8601 with timezone."),
    until: datetime | None = Query(None, description="Exclusive, ISO 8601 with timezone."),
):
    """👍/👎 per FAQ entry (most 👎 first, with reasons) and the 1-5 rating distribution."""
    return convs.feedback_summary(since, until)

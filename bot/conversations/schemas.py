"""What ConversationService returns (and the internal API serves): plain pydantic models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from bot.channels.outbox_staff import ChannelMessageOut

Direction = Literal["in", "out", "staff"]
Vote = Literal["up", "down"]


class AttachmentOut(BaseModel):
    id: int
    content_type: str
    size: int
    width: int
    height: int
    created_at: datetime


class DeliveryOut(BaseModel):
    """How an active message (WeChat / WeCom) fared; several parts of a long text are summed up as one."""

    status: Literal["pending", "delivered", "failed", "dead"] = Field(
        ..., description="failed: refused by WeChat, not retried (e.g. errcode 45015); dead: retries used up"
    )
    errcode: int | None = Field(None, description="WeChat/WeCom errcode of the last attempt, e.g. 45015.")
    error: str | None = None
    attempts: int = 0
    delivered_at: datetime | None = None
    message_id: str = Field(..., description="Channel message id (POST /api/deliveries/{id}/retry).")


class MessageOut(BaseModel):
    id: int
    direction: Direction
    text: str
    author: str | None = None
    actor: str | None = Field(None, description="Who sent a staff line: staff account username or api:<key name>.")
    created_at: datetime
    delivered_at: datetime | None = None
    attachment: AttachmentOut | None = Field(
        None, description="The photo the merchant sent with this line (staff fetch it from .../attachments/{id})."
    )
    delivery: DeliveryOut | None = Field(None, description="Active delivery to WeChat/WeCom, when there is one.")


class HandoffOut(BaseModel):
    id: int
    ticket_number: str | None
    reason: str
    started_at: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None


class ConversationState(BaseModel):
    conversation_id: str
    channel: str
    handoff_active: bool
    handoff: HandoffOut | None = Field(None, description="The current handoff, else the latest one.")
    created_at: datetime
    last_message_at: datetime | None = None


class ConversationDetail(ConversationState):
    messages: list[MessageOut] = Field(default_factory=list, description="Oldest first.")
    deliveries: list[ChannelMessageOut] = Field(
        default_factory=list,
        description="Active messages to WeChat/WeCom (answers, staff replies, notices), oldest first.",
    )


class FeedbackOut(BaseModel):
    conversation_id: str
    faq_id: str
    vote: Vote
    reason: str | None
    created_at: datetime
    updated_at: datetime


class RatingOut(BaseModel):
    conversation_id: str
    rating: int
    created_at: datetime


class FaqFeedbackCount(BaseModel):
    faq_id: str
    up: int = 0
    down: int = 0
    reasons: dict[str, int] = Field(default_factory=dict, description="Reasons given with 👎, by count.")


class FeedbackSummary(BaseModel):
    since: datetime | None = None
    until: datetime | None = None
    faq: list[FaqFeedbackCount] = Field(default_factory=list, description="Most 👎 first.")
    ratings: dict[str, int] = Field(default_factory=dict, description="Count per rating '1'..'5'.")
    ratings_count: int = 0
    ratings_average: float | None = None


class LastMessage(BaseModel):
    direction: Direction
    text: str = Field(..., description="First 120 characters.")
    created_at: datetime


class QueueItem(BaseModel):
    """One conversation waiting for a person (one row per conversation)."""

    conversation_id: str
    channel: str
    reason: str
    ticket_number: str | None = None
    waiting_since: datetime = Field(..., description="When the (earliest still open) handoff started.")
    last_message: LastMessage | None = None
    last_merchant_at: datetime | None = Field(None, description="The merchant's latest message.")
    unanswered: int = Field(
        0, description="Merchant messages since the handoff started, or since the last staff reply."
    )

"""What ConversationService returns (and the internal API serves): plain pydantic models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Direction = Literal["in", "out", "staff"]
Vote = Literal["up", "down"]


class AttachmentOut(BaseModel):
    id: int
    content_type: str
    size: int
    width: int
    height: int
    created_at: datetime


class MessageOut(BaseModel):
    id: int
    direction: Direction
    text: str
    author: str | None = None
    created_at: datetime
    delivered_at: datetime | None = None
    attachment: AttachmentOut | None = Field(
        None, description="The photo the merchant sent with this line (staff fetch it from .../attachments/{id})."
    )


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

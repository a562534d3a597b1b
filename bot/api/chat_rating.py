"""Ratings in the web chat: ``POST /api/chat/rating``, 1-5 for a handoff or a resolved ticket.

What can be rated comes with an update (``rating.subject`` in bot.api.chat_updates); each
subject is rated once. Needs the session token (bot.api.chat_session).
"""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from bot.api.chat_session import AUTH_DOC, CHANNEL, SenderId, limited_sender
from bot.api.deps import LimiterDep, ServicesDep, SessionTokensDep
from bot.api.errors import ApiError
from bot.chat.service import RatingRefused, rate

router = APIRouter(prefix="/api/chat", tags=["chat"])


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sender_id: SenderId
    subject: str = Field(..., max_length=64, description="From an update's `rating.subject`.")
    rating: int = Field(..., ge=1, le=5, strict=True, description="1 (very unhappy) to 5 (very happy).")


class RatingOut(BaseModel):
    subject: str
    rating: int = Field(..., description="The stored rating (the first one when rated twice).")
    created: bool = Field(..., description="False when this subject had been rated already.")


@router.post("/rating", response_model=RatingOut, responses=AUTH_DOC)
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

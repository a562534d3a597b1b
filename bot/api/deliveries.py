"""Internal API for staff and operators: active messages to WeChat / WeCom and their fate.

``GET /api/deliveries?status=failed`` lists what WeChat refused (45015: the merchant has not
written for 48 hours, ...), ``status=dead`` what ran out of retries; ``POST
/api/deliveries/{message_id}/retry`` queues one again. Callers need ``conversations:read`` /
``conversations:write``, as for conversations.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Query, status

from bot.api.auth import ConversationsRead, ConversationsWrite
from bot.api.deps import DbDep
from bot.api.errors import Responses
from bot.channels import outbox_staff
from bot.channels.outbox_staff import ChannelMessageOut, ChannelMessagePage

router = APIRouter(prefix="/api/deliveries", tags=["deliveries"])

_NOT_FOUND: Responses = {404: {"description": "Unknown message id"}}


def _not_found(message_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND, f"消息 {message_id} 不存在 / channel message {message_id} not found"
    )


@router.get("", response_model=ChannelMessagePage, responses={422: {"description": "Invalid cursor"}})
def list_deliveries(
    db: DbDep,
    key: ConversationsRead,
    status_: Literal["pending", "delivered", "failed", "dead"] = Query("failed", alias="status"),
    cursor: str | None = Query(None, max_length=64),
    limit: int = Query(50, ge=1, le=100),
):
    """Active messages of one status, oldest first."""
    return outbox_staff.list_messages(db, status_, cursor=cursor, limit=limit)


@router.get("/{message_id}", response_model=ChannelMessageOut, responses=_NOT_FOUND)
def get_delivery(message_id: str, db: DbDep, key: ConversationsRead):
    row = outbox_staff.get_message(db, message_id)
    if row is None:
        raise _not_found(message_id)
    return row


@router.post("/{message_id}/retry", response_model=ChannelMessageOut, responses=_NOT_FOUND)
def retry_delivery(message_id: str, db: DbDep, key: ConversationsWrite):
    """Queue a failed or dead message again (a delivered one is left alone: it would arrive twice)."""
    row = outbox_staff.retry_message(db, message_id)
    if row is None:
        raise _not_found(message_id)
    return row

"""Deliver to a conversation's channel: the one call the rest of the app makes to reach a merchant.

Staff replies, the hand-back notice and ticket notifications are written by services that do
not know channels. They call ``push_to_conversation`` in their own transaction; for a channel
that can send active messages (WeChat with an AppSecret, WeCom with an application secret)
that queues the text in the channel outbox, in the same commit. For the others (the web widget
polls ``/api/chat/updates``; WeChat without an AppSecret piggybacks on the next passive reply)
it does nothing and returns False: the row the service wrote is what those channels read.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from bot.channels import outbox
from bot.core.db import utcnow
from bot.core.settings import Settings

# WeChat openids are 28 characters of [A-Za-z0-9_-]; WeCom userids 1-64 of letters, digits and _-@.
RECIPIENT_RE = {
    "wechat": re.compile(r"[A-Za-z0-9_-]{1,64}"),
    "wecom": re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}"),
}


def push_enabled(settings: Settings | None, channel: str) -> bool:
    if settings is None:
        return False
    if channel == "wechat":
        return settings.wechat_push_enabled
    if channel == "wecom":
        return settings.wecom_push_enabled
    return False


def recipient_of(conversation_id: str) -> tuple[str, str] | None:
    """(channel, recipient) of a pushable conversation id such as ``wechat:<openid>``, else None."""
    channel, sep, recipient = (conversation_id or "").partition(":")
    pattern = RECIPIENT_RE.get(channel)
    if not sep or pattern is None or not pattern.fullmatch(recipient):
        return None
    return channel, recipient


def push_to_conversation(
    s: Session,
    settings: Settings | None,
    conversation_id: str | None,
    text: str,
    *,
    kind: outbox.Kind,
    conversation_message_id: int | None = None,
    notification_id: int | None = None,
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Queue ``text`` for the merchant of ``conversation_id`` if their channel sends actively; True if queued."""
    target = recipient_of(conversation_id or "")
    if target is None or not push_enabled(settings, target[0]) or not text.strip():
        return False
    assert settings is not None and conversation_id is not None
    channel, recipient = target
    outbox.enqueue(
        s,
        channel=channel,
        conversation_id=conversation_id,
        recipient=recipient,
        text=text,
        kind=kind,
        max_bytes=settings.wechat_text_max_bytes,
        now=now or utcnow(),
        conversation_message_id=conversation_message_id,
        notification_id=notification_id,
        dedupe_key=dedupe_key,
    )
    return True

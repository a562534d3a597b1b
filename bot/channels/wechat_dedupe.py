"""At-most-once handling of the messages WeChat re-sends.

WeChat re-POSTs a message (same MsgId; events: same sender and CreateTime) up to three
times when our passive reply takes more than 5 s. The first request to claim the message's
key runs it; a retry, on this or any other app instance, gets the stored reply instead of
sending the message to Rasa a second time. The database is the shared state: a claim is an
INSERT that fails on the primary key, so two instances can never both win.

The matching DDL is migration ``0003_wechat_messages``; tests/channels/test_wechat_dedupe.py
checks the two stay identical.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import anyio
from anyio import to_thread
from sqlalchemy import String, Text, delete, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, Database, UTCDateTime, rowcount, utcnow

log = logging.getLogger(__name__)

KEY_MAX = 200
# WeChat gives up on a message after about 15 s (three 5 s attempts); a day leaves ample margin.
RETENTION = timedelta(days=1)
# How long a retry waits for the first attempt's reply: well under WeChat's 5 s window.
WAIT_S = 4.0
POLL_S = 0.2


class WeChatMessage(Base):
    """One WeChat message or event, claimed by the request that runs it."""

    __tablename__ = "wechat_messages"

    key: Mapped[str] = mapped_column(String(KEY_MAX), primary_key=True)
    openid: Mapped[str] = mapped_column(String(128))
    # Plain reply text, rendered and encrypted per request; null while the first attempt runs,
    # "" when there is nothing to say (WeChat's "success").
    reply: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def message_key(msg) -> str:
    """The de-duplication key of a parsed wechatpy message or event."""
    if msg.id:
        return f"msg:{msg.id}"
    # Events have no MsgId. The event name (and a menu click's key) is part of the key because
    # WeChat can send two different events in the same second (e.g. subscribe, then LOCATION).
    key = f"event:{msg.source}:{msg.time}:{getattr(msg, 'event', '')}"
    event_key = getattr(msg, "key", "")
    if isinstance(event_key, str) and event_key:
        key += f":{event_key}"
    return key if len(key) <= KEY_MAX else "event:" + hashlib.sha256(key.encode()).hexdigest()


class WeChatMessageStore:
    """Claims, replies and pruning of ``wechat_messages``; each method is one transaction."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow):
        self.db = db
        self.clock = clock

    def claim(self, key: str, openid: str) -> bool:
        """True for the one request that gets to run this message; False for every retry."""
        try:
            with self.db.session() as s:
                s.add(WeChatMessage(key=key, openid=openid[:128], reply=None, created_at=self.clock()))
        except IntegrityError:
            return False
        # Each new message deletes the rows that have expired since: with the created_at index
        # that is a handful of rows, so the table stays small without a cron job on any instance.
        try:
            self.prune()
        except SQLAlchemyError as e:  # best effort: never cost the merchant the reply
            log.warning("pruning wechat_messages failed: %s", e)
        return True

    def finish(self, key: str, reply: str) -> None:
        with self.db.session() as s:
            s.execute(
                update(WeChatMessage).where(WeChatMessage.key == key).values(reply=reply, replied_at=self.clock())
            )

    def reply(self, key: str) -> str | None:
        """The stored reply, or None while the first attempt is still running."""
        with self.db.session() as s:
            row = s.get(WeChatMessage, key)
            return row.reply if row is not None else None

    def prune(self, older_than: timedelta = RETENTION) -> int:
        """Delete the rows claimed more than ``older_than`` ago; returns how many."""
        with self.db.session() as s:
            result = s.execute(delete(WeChatMessage).where(WeChatMessage.created_at < self.clock() - older_than))
            return rowcount(result)


async def answer_once(
    store: WeChatMessageStore,
    key: str,
    openid: str,
    answer: Callable[[], Awaitable[str]],
    wait_s: float = WAIT_S,
    poll_s: float = POLL_S,
) -> str:
    """Run ``answer`` for the first request of a message; a retry returns its reply ("" if none in time)."""
    if not await to_thread.run_sync(store.claim, key, openid):
        return await wait_for_reply(store, key, wait_s, poll_s)
    text = ""
    try:
        text = await answer()
    finally:
        # Stored even when answer() fails ("": no reply): the message may have reached Rasa
        # already, so retries must not run it again, and need not wait for it either.
        await to_thread.run_sync(store.finish, key, text)
    return text


async def wait_for_reply(store: WeChatMessageStore, key: str, wait_s: float = WAIT_S, poll_s: float = POLL_S) -> str:
    """Poll for the first attempt's reply (portable across SQLite and PostgreSQL, a primary-key read each)."""
    deadline = anyio.current_time() + wait_s
    while True:
        reply = await to_thread.run_sync(store.reply, key)
        if reply is not None:
            return reply
        if anyio.current_time() >= deadline:
            log.info("WeChat retry of %s: first attempt still running, answering without a reply", key)
            return ""
        await anyio.sleep(poll_s)

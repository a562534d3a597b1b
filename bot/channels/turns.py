"""What happens with a merchant's message on WeChat or WeCom once its protocol layer has read it.

Both channels share this: de-duplication of Tencent's retries (``wechat_dedupe``), numbered
choices, the welcome, unsubscribe, pictures and locations, menu clicks, and the race between
the bot and the passive-reply deadline:

- With active messages configured (an AppSecret / application secret), a bot turn gets
  ``wechat_passive_reply_s`` (4 s) to answer in the passive reply; if it needs longer, the
  request answers "success" (nothing) at once and the turn goes on in the background; its
  answer is queued in the channel outbox and pushed, once, when ready. Staff replies and
  ticket notifications are pushed as they are written (``bot.channels.delivery``), and
  messages WeChat refused while the merchant was away are queued again when they write.
- Without, everything rides on passive replies: Rasa gets 4 s and whatever waits for the
  merchant (staff replies, notifications) is prepended to the next reply.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from anyio import to_thread

from bot.channels import outbox
from bot.channels.callback import CallbackGuard
from bot.channels.delivery import push_enabled
from bot.channels.text import (
    FILE_TEXT,
    IMAGE_TEXT,
    LINK_TEXT,
    MENU_PREFIX,
    TOPICS,
    UNKNOWN_MENU_TEXT,
    VIDEO_TEXT,
    VOICE_TEXT,
    WELCOME_DISPLAY,
    WELCOME_PAYLOAD,
    location_text,
    render_messages,
    split_text,
    too_long_text,
)
from bot.channels.wechat_dedupe import WeChatMessageStore, answer_once
from bot.chat.service import ChatReply, ChatService, collect_updates
from bot.core.db import utcnow
from bot.core.settings import Settings
from bot.core.shared_state import SharedState
from bot.rasa.client import BotMessage, last_bot_buttons
from bot.vocabulary import conversation_id

log = logging.getLogger(__name__)

# Without active messages WeChat's 5 s are all there is: leave room for our own work.
PASSIVE_ONLY_RASA_TIMEOUT_S = 4.0


@dataclass(frozen=True)
class Incoming:
    """A merchant's message or event, as the protocol layer read it.

    ``kind``: text | voice | image | video | location | link | file | subscribe | unsubscribe
    | click | ignore. ``text`` is the content, a voice message's recognition or a click's
    EventKey; ``detail`` is what staff read for things that are not text (a picture URL, a place).
    """

    key: str
    sender: str
    kind: str
    text: str = ""
    detail: str = ""


class ChannelTurns:
    def __init__(self, channel: str, settings: Settings, chat: ChatService, messages: WeChatMessageStore):
        self.channel = channel
        self.settings = settings
        self.chat = chat
        self.messages = messages
        self._background: set[asyncio.Task] = set()

    @property
    def push(self) -> bool:
        return push_enabled(self.settings, self.channel)

    # -- entry point --

    async def answer(self, msg: Incoming) -> str:
        """The passive reply text for ``msg`` ("" for none); a retry of a message gets its first reply."""
        if msg.kind == "ignore":
            return ""
        text = await answer_once(self.messages, msg.key, msg.sender, lambda: self._answer(msg))
        return await self._passive(msg, text)

    async def _answer(self, msg: Incoming) -> str:
        if msg.kind == "unsubscribe":
            await self._unsubscribe(msg.sender)
            return ""
        if self.push:
            since = outbox.blocked_since(self.settings, utcnow())
            await to_thread.run_sync(
                outbox.requeue_blocked, self.chat.services.db, self.channel, msg.sender, since, utcnow()
            )
        if msg.kind == "subscribe":
            return await self._race(msg, self._welcome(msg.sender))
        if msg.kind == "click":
            payload, title = self._menu(msg.text)
            if payload is None:
                return await self._unreadable(msg.sender, f"(菜单) {msg.text}", UNKNOWN_MENU_TEXT)
            # the payload is configured by the operator (or a built-in topic): not the merchant's text
            return await self._race(msg, self._turn(msg.sender, payload, f"(菜单) {title}", trusted=True))
        if msg.kind == "voice" and msg.text.strip():
            return await self._race(msg, self._text_turn(msg.sender, msg.text.strip(), prefix="(语音) "))
        if msg.kind == "text":
            text = msg.text.strip()
            if not text:
                return ""
            if len(text) > self.settings.max_message_chars:
                limit = self.settings.max_message_chars
                return await self._unreadable(msg.sender, text[:limit] + "…", too_long_text(limit))
            return await self._race(msg, self._text_turn(msg.sender, text))
        replies = {
            "voice": ("(语音)", VOICE_TEXT),
            "image": (f"(图片) {msg.detail}".strip(), IMAGE_TEXT),
            "video": ("(视频)", VIDEO_TEXT),
            "link": (f"(链接) {msg.detail}".strip(), LINK_TEXT),
            "file": (f"(文件) {msg.detail}".strip(), FILE_TEXT),
            "location": (f"(位置) {msg.detail}".strip(), location_text(msg.text)),
        }
        if msg.kind in replies:
            display, reply = replies[msg.kind]
            return await self._unreadable(msg.sender, display, reply)
        return ""

    # -- the bot turn against the passive-reply deadline --

    async def _race(self, msg: Incoming, turn) -> str:
        """The turn's text if ready within the passive window; otherwise "" now and a push when ready."""
        if not self.push:
            text = await turn
            waiting = [u.text for u in await collect_updates(self.chat.services, self.channel, msg.sender)]
            return "\n\n".join([*waiting, text]).strip()
        task = asyncio.ensure_future(turn)
        done, _ = await asyncio.wait({task}, timeout=self.settings.wechat_passive_reply_s)
        if task in done:
            return task.result()
        self._background.add(task)
        task.add_done_callback(lambda t: self._late(t, msg))
        log.info("%s %s: the answer takes longer than the passive reply; it will be pushed", self.channel, msg.key)
        return ""

    def _late(self, task: asyncio.Task, msg: Incoming) -> None:
        self._background.discard(task)
        if task.cancelled():
            return
        if task.exception() is not None:
            log.error("%s %s: late turn failed", self.channel, msg.key, exc_info=task.exception())
            return
        text = task.result()
        if text:
            pusher = asyncio.ensure_future(
                to_thread.run_sync(self._enqueue, msg, text, "reply", f"late:{self.channel}:{msg.key}")
            )
            self._background.add(pusher)
            pusher.add_done_callback(self._background.discard)

    def _enqueue(self, msg: Incoming, text: str, kind: outbox.Kind, dedupe_key: str) -> None:
        db = self.chat.services.db
        with db.session() as s:
            outbox.enqueue(
                s,
                channel=self.channel,
                conversation_id=conversation_id(self.channel, msg.sender),
                recipient=msg.sender,
                text=text,
                kind=kind,
                max_bytes=self.settings.wechat_text_max_bytes,
                now=utcnow(),
                dedupe_key=dedupe_key,
            )

    async def _passive(self, msg: Incoming, text: str) -> str:
        """A passive reply carries one message: the first part; the rest is pushed when possible."""
        parts = split_text(text, self.settings.wechat_text_max_bytes)
        if len(parts) <= 1:
            return text
        if self.push:
            await to_thread.run_sync(
                self._enqueue, msg, "\n".join(parts[1:]), "reply", f"rest:{self.channel}:{msg.key}"
            )
        else:
            log.warning(
                "%s %s: reply longer than one message and no active messages: rest dropped", self.channel, msg.key
            )
        return parts[0]

    async def drain(self, timeout_s: float) -> None:
        """Let background turns finish (app shutdown), so their answers reach the outbox."""
        if self._background:
            await asyncio.wait(set(self._background), timeout=timeout_s)

    # -- turns --

    def _timeout(self) -> float | None:
        return None if self.push else PASSIVE_ONLY_RASA_TIMEOUT_S

    async def _turn(self, sender: str, payload: str, display: str | None, trusted: bool = False) -> str:
        reply: ChatReply = await self.chat.handle(
            self.channel, sender, payload, display_text=display, timeout_s=self._timeout(), trusted=trusted
        )
        return render_messages(reply.messages)

    async def _text_turn(self, sender: str, text: str, prefix: str = "") -> str:
        payload, title = await self._resolve_choice(sender, text)
        display = f"{prefix}{title or text}" if (prefix or title) else None
        return await self._turn(sender, payload or text, display)

    async def _welcome(self, sender: str) -> str:
        """Rasa's greeting (what the bot can do), then the main topics as numbered choices."""
        reply = await self.chat.handle(
            self.channel, sender, WELCOME_PAYLOAD, display_text=WELCOME_DISPLAY, timeout_s=self._timeout(), trusted=True
        )
        if reply.status != "ok":
            return render_messages(reply.messages)
        topics = BotMessage(text="", buttons=[{"title": t.title, "payload": t.payload} for t in TOPICS])
        conv = conversation_id(self.channel, sender)
        # Recorded in the tracker as the bot's latest message, so "3" picks the third topic on any instance.
        if await self.chat.rasa.append_bot_message(conv, "常见问题", topics.buttons):
            menu = render_messages([topics])
            await to_thread.run_sync(self.chat.services.conversations.log_message, conv, "out", menu)
            # Offered like any bot button: "5" may then send /check_ticket (bot.chat.service's input rule).
            await to_thread.run_sync(self.chat.services.conversations.offer_buttons, conv, topics.buttons)
            return render_messages([*reply.messages, topics])
        return render_messages(reply.messages)

    async def _unreadable(self, sender: str, display: str, reply_text: str) -> str:
        reply = await self.chat.handle_unreadable(self.channel, sender, display, reply_text)
        return render_messages(reply.messages)

    async def _unsubscribe(self, sender: str) -> None:
        await self.chat.close(self.channel, sender, "(取消关注)")
        n = await to_thread.run_sync(
            outbox.cancel_pending, self.chat.services.db, self.channel, sender, outbox.CANCELLED_UNSUBSCRIBED
        )
        log.info("%s %s unsubscribed: conversation closed, %d pending message(s) cancelled", self.channel, sender, n)

    def _menu(self, key: str) -> tuple[str | None, str]:
        """A custom-menu click: the configured payload, else a built-in topic key (posbot:<topic>)."""
        if key in self.settings.wechat_menu:
            return self.settings.wechat_menu[key], key
        for t in TOPICS:
            if key == f"{MENU_PREFIX}{t.key}":
                return t.payload, t.title
        return None, key

    async def _resolve_choice(self, sender: str, text: str) -> tuple[str | None, str | None]:
        """A bare number answers the numbered options of the bot's last message."""
        if not text.isdigit() or len(text) > 2:
            return None, None
        buttons = await last_bot_buttons(self.chat.rasa, conversation_id(self.channel, sender))
        i = int(text) - 1
        if 0 <= i < len(buttons):
            return buttons[i]["payload"], buttons[i]["title"]
        return None, None


class CallbackChannel:
    """What the WeChat and WeCom callbacks share: one channel's turn runner and its signature guard."""

    channel: ClassVar[str]

    def __init__(
        self,
        settings: Settings,
        chat: ChatService,
        messages: WeChatMessageStore,
        state: SharedState,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.clock = clock
        self.turns = ChannelTurns(self.channel, settings, chat, messages)
        self.guard = CallbackGuard(state, self.channel, settings.wechat_timestamp_window_s, clock)

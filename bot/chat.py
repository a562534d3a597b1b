"""Channel-independent chat core: every channel (web widget, WeChat) sends merchant text through here.

It records the conversation, keeps the bot silent while a person has the conversation
(handoff), and turns Rasa being down or slow into a polite answer instead of an error page.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from anyio import to_thread

from bot.rasa_client import BotMessage, RasaClient, RasaUnavailable
from bot.services import Services

log = logging.getLogger(__name__)

SENDER_RE = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")

RASA_DOWN_TEXT = "抱歉，系统暂时有点忙，没能及时回复您。请稍后再发一次；着急的话可以拨打客服热线（见机身背面标签）。"
# The merchant's first message while a person owns the conversation gets this, on every channel; later ones none.
HANDOFF_ACK = "已转给客服，请稍候"


@dataclass
class ChatReply:
    messages: list[BotMessage] = field(default_factory=list)
    status: str = "ok"  # ok | handoff | rasa_unavailable


def conversation_id(channel: str, sender_id: str) -> str:
    """Rasa's sender id: the channel prefix lets actions know where a conversation lives."""
    return f"{channel}:{sender_id}"


class ChatService:
    def __init__(self, services: Services, rasa: RasaClient):
        self.services = services
        self.rasa = rasa

    async def handle(
        self,
        channel: str,
        sender_id: str,
        text: str,
        display_text: str | None = None,
        timeout_s: float | None = None,
    ) -> ChatReply:
        conv = conversation_id(channel, sender_id)
        convs = self.services.conversations
        # Database calls are synchronous: keep them off the event loop.
        await to_thread.run_sync(convs.log_message, conv, "in", display_text or text)
        if await to_thread.run_sync(convs.handoff_active, conv):
            # A person owns the conversation: the bot stays silent, staff see the message in the transcript.
            return await self._during_handoff(conv)
        try:
            messages = await self.rasa.send(conv, text, timeout_s)
        except RasaUnavailable as e:
            log.warning("rasa unavailable for %s: %s", conv, e)
            return ChatReply(messages=[BotMessage(text=RASA_DOWN_TEXT)], status="rasa_unavailable")
        for m in messages:
            if m.text:
                await to_thread.run_sync(convs.log_message, conv, "out", m.text)
        # An action may have just handed the conversation to a person.
        handed_off = await to_thread.run_sync(convs.handoff_active, conv)
        return ChatReply(messages=messages, status="handoff" if handed_off else "ok")

    async def handle_unreadable(self, channel: str, sender_id: str, display_text: str, reply_text: str) -> ChatReply:
        """A message the bot cannot read (a picture, a location): kept for staff, answered with ``reply_text``."""
        conv = conversation_id(channel, sender_id)
        convs = self.services.conversations
        await to_thread.run_sync(convs.log_message, conv, "in", display_text)
        if await to_thread.run_sync(convs.handoff_active, conv):
            return await self._during_handoff(conv)
        await to_thread.run_sync(convs.log_message, conv, "out", reply_text)
        return ChatReply(messages=[BotMessage(text=reply_text)])

    async def close(self, channel: str, sender_id: str, display_text: str) -> None:
        """The merchant left the channel (unsubscribed): end any handoff and start afresh next time."""
        conv = conversation_id(channel, sender_id)
        convs = self.services.conversations
        await to_thread.run_sync(convs.log_message, conv, "in", display_text)
        await to_thread.run_sync(lambda: convs.hand_back(conv, f"{channel}:{display_text}", notice=None))
        await self.rasa.restart(conv)

    async def _during_handoff(self, conv: str) -> ChatReply:
        if not await to_thread.run_sync(self.services.conversations.acknowledge_handoff, conv):
            return ChatReply(messages=[], status="handoff")
        await to_thread.run_sync(self.services.conversations.log_message, conv, "out", HANDOFF_ACK)
        return ChatReply(messages=[BotMessage(text=HANDOFF_ACK)], status="handoff")


@dataclass
class Update:
    text: str
    source: str  # "staff" (a person replying during handoff) | "system" (ticket notifications)


async def collect_updates(services: Services, channel: str, sender_id: str) -> list[Update]:
    """Messages waiting for a merchant outside the request/response cycle, marked delivered once read."""

    def _collect() -> list[Update]:
        conv = conversation_id(channel, sender_id)
        out: list[Update] = []
        for m in services.conversations.pending_outgoing(conv):
            # staff replies, and the assistant's own "I'm back" notice after a hand-back
            out.append(Update(text=m.text, source="staff" if m.direction == "staff" else "system"))
            services.conversations.mark_delivered(m.id)
        for n in services.tickets.pending_notifications(channel, conv):
            out.append(Update(text=n.text, source="system"))
            services.tickets.mark_sent(n.id)
        return out

    return await to_thread.run_sync(_collect)

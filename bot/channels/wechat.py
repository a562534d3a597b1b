"""WeChat Official Account channel: verify, decrypt, forward text to the chat core, reply passively.

WeChat has no buttons in passive replies, so the bot's buttons become a numbered list and
a reply of "1", "2", ... picks the matching payload. The buttons are read back from Rasa's
tracker, so any app instance can resolve the choice. WeChat gives a passive reply 5 s,
so Rasa gets a shorter timeout here than on the web. When we take longer, WeChat sends the
message again; bot.channels.wechat_dedupe makes sure only the first copy reaches Rasa.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from bot.channels.wechat_dedupe import WeChatMessageStore, answer_once, message_key
from bot.chat import ChatService, collect_updates, conversation_id
from bot.rasa_client import BotMessage, last_bot_buttons
from bot.settings import Settings

log = logging.getLogger(__name__)

NON_TEXT_TEXT = "目前只能看懂文字消息哦，请用文字描述您的问题，比如“打印机不出纸”。"
WELCOME_PAYLOAD = "/greet"
# WeChat waits 5 s for a passive reply; leave room for our own work.
RASA_TIMEOUT_S = 4.0


class WeChatError(Exception):
    """Bad signature or undecryptable message (HTTP 403 / 400)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def render_messages(messages: list[BotMessage]) -> str:
    """Join the bot's messages into one WeChat text; buttons become a numbered list."""
    parts: list[str] = []
    for m in messages:
        if m.text:
            parts.append(m.text)
        if m.buttons:
            options = "\n".join(f"{i}. {b['title']}" for i, b in enumerate(m.buttons, 1))
            parts.append(f"请回复数字选择：\n{options}")
    return "\n\n".join(parts)


@dataclass
class WeChatChannel:
    settings: Settings
    chat: ChatService
    messages: WeChatMessageStore

    @property
    def token(self) -> str:
        return self.settings.wechat_token.get_secret_value()

    @property
    def crypto(self) -> WeChatCrypto | None:
        key = self.settings.wechat_aes_key.get_secret_value()
        return WeChatCrypto(self.token, key, self.settings.wechat_app_id) if key else None

    def verify(self, signature: str, timestamp: str, nonce: str) -> None:
        try:
            check_signature(self.token, signature, timestamp, nonce)
        except InvalidSignatureException as e:
            raise WeChatError(403, "invalid WeChat signature") from e

    async def handle(self, body: bytes, params: dict[str, str]) -> str:
        """Process one POSTed message; returns the XML to send back ("success" for no reply)."""
        self.verify(params.get("signature", ""), params.get("timestamp", ""), params.get("nonce", ""))
        crypto = self.crypto
        xml = body.decode("utf-8", errors="replace")
        if crypto is not None:
            try:
                xml = crypto.decrypt_message(xml, params.get("msg_signature", ""), params["timestamp"], params["nonce"])
            except Exception as e:  # wechatpy raises several types for tampered or foreign messages
                raise WeChatError(400, f"cannot decrypt WeChat message: {type(e).__name__}") from e
        try:
            msg = parse_message(xml)
        except Exception as e:
            raise WeChatError(400, "malformed WeChat XML") from e
        # A retry of a message we are answering (or have answered) gets that answer, not a second Rasa turn.
        text = await answer_once(self.messages, message_key(msg), msg.source, lambda: self._answer(msg))
        if not text:
            return "success"  # WeChat's documented "no reply" answer
        reply = create_reply(text, msg, render=True)
        if crypto is not None:
            return crypto.encrypt_message(reply, params.get("nonce", ""), str(int(time.time())))
        return reply

    async def _answer(self, msg) -> str:
        sender = msg.source  # the merchant's openid
        if msg.type == "event" and getattr(msg, "event", "") == "subscribe":
            reply = await self.chat.handle(
                "wechat", sender, WELCOME_PAYLOAD, display_text="(关注公众号)", timeout_s=RASA_TIMEOUT_S, trusted=True
            )
            return render_messages(reply.messages)
        if msg.type != "text":
            return NON_TEXT_TEXT if msg.type in {"image", "voice", "video", "shortvideo", "location", "link"} else ""
        text = (msg.content or "").strip()
        if not text:
            return ""
        payload, title = await self._resolve_choice(sender, text)
        reply = await self.chat.handle("wechat", sender, payload or text, display_text=title, timeout_s=RASA_TIMEOUT_S)
        # Passive replies are the only way back without WeChat's customer-service API: staff
        # replies and ticket notifications waiting for this merchant ride along here.
        waiting = [u.text for u in await collect_updates(self.chat.services, "wechat", sender)]
        return "\n\n".join([*waiting, render_messages(reply.messages)]).strip()

    async def _resolve_choice(self, sender: str, text: str) -> tuple[str | None, str | None]:
        """A bare number answers the numbered options of the bot's last message."""
        if not text.isdigit() or len(text) > 2:
            return None, None
        buttons = await last_bot_buttons(self.chat.rasa, conversation_id("wechat", sender))
        i = int(text) - 1
        if 0 <= i < len(buttons):
            return buttons[i]["payload"], buttons[i]["title"]
        return None, None

"""WeCom (企业微信) self-built application callback: always encrypted, sharing ``ChannelTurns`` with WeChat.

URL verification (GET) carries an encrypted ``echostr``: we check ``msg_signature`` over it and
answer the decrypted plaintext. Messages (POST) are ``<Encrypt>`` envelopes signed with
``msg_signature``; the decrypted message names the application (``AgentID``) and the member
(``FromUserName``, their userid). Passive replies are encrypted the same way; active messages
go through the channel outbox (``message/send``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from anyio import to_thread
from wechatpy.enterprise import create_reply, parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from bot.channels.callback import CallbackError, parse_xml, sha1_signature, text_field
from bot.channels.turns import CallbackChannel
from bot.channels.wechat import read_incoming
from bot.channels.wechat_dedupe import WeChatMessageStore
from bot.chat.service import ChatService
from bot.core.settings import Settings
from bot.core.shared_state import SharedState

log = logging.getLogger(__name__)


class WeComChannel(CallbackChannel):
    channel = "wecom"

    def __init__(
        self,
        settings: Settings,
        chat: ChatService,
        messages: WeChatMessageStore,
        state: SharedState,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__(settings, chat, messages, state, clock)
        self.crypto = WeChatCrypto(
            settings.wecom_token.get_secret_value(), settings.wecom_aes_key.get_secret_value(), settings.wecom_corp_id
        )

    @property
    def token(self) -> str:
        return self.settings.wecom_token.get_secret_value()

    def verify_url(self, params: dict[str, str]) -> str:
        msg_signature, timestamp, nonce, echostr = self.guard.require(
            params, "msg_signature", "timestamp", "nonce", "echostr"
        )
        self.guard.check_timestamp(timestamp)
        try:
            return self.crypto.check_signature(msg_signature, timestamp, nonce, echostr)
        except InvalidSignatureException as e:
            raise CallbackError(403, "invalid signature") from e
        except Exception as e:
            raise CallbackError(400, f"cannot decrypt echostr: {type(e).__name__}") from e

    async def handle(self, body: bytes, params: dict[str, str]) -> str:
        msg_signature, timestamp, nonce = self.guard.require(params, "msg_signature", "timestamp", "nonce")
        self.guard.check_timestamp(timestamp)
        if not body.strip():
            raise CallbackError(400, "empty body: a WeCom XML message is required")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CallbackError(400, "body is not UTF-8") from e
        envelope = parse_xml(text)
        encrypt = text_field(envelope, "Encrypt", max_len=100_000)
        self.guard.check_signature(sha1_signature(self.token, timestamp, nonce, encrypt), msg_signature)
        await to_thread.run_sync(self.guard.check_replay, timestamp, nonce, msg_signature, body)
        try:
            inner = self.crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
        except Exception as e:  # wrong key, another corp's message, tampered ciphertext
            raise CallbackError(400, f"cannot decrypt WeCom message: {type(e).__name__}") from e
        xml = parse_xml(inner)
        text_field(xml, "MsgType", max_len=50)
        try:
            msg = parse_message(inner)
            agent = int(getattr(msg, "agent", 0) or 0)
        except Exception as e:
            raise CallbackError(400, f"malformed WeCom message: {type(e).__name__}") from e
        if self.settings.wecom_agent_id and agent and agent != self.settings.wecom_agent_id:
            log.warning("WeCom message for agent %s, ours is %s: ignored", agent, self.settings.wecom_agent_id)
            return "success"
        reply_text = await self.turns.answer(read_incoming(msg, xml, "wecom", key_prefix="wecom:"))
        if not reply_text:
            return "success"
        reply = create_reply(reply_text, msg, render=True)
        return self.crypto.encrypt_message(reply, nonce, str(int(self.clock())))

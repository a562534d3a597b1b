"""WeChat Official Account channel: the callback protocol (modes, signatures, XML) around ``ChannelTurns``.

The three message modes of the admin console (消息加解密方式), ``wechat_mode``:

- ``plaintext`` (明文): the body is the message; only the URL signature (token, timestamp,
  nonce) is checked, which does not cover the body, so the timestamp window and the nonce
  replay check of ``bot.channels.callback`` matter most here;
- ``compatible`` (兼容): WeChat sends ``encrypt_type=aes`` with both the plaintext fields and
  ``<Encrypt>``; we read only the ciphertext (its ``msg_signature`` covers it) and answer
  encrypted. Plaintext-only requests are accepted too, for the switch-over;
- ``safe`` (安全, recommended): only encrypted messages; a plaintext one is refused.

WeChat has no buttons in passive replies, so the bot's buttons become a numbered list and a
reply of "1", "2", ... picks the matching payload (read back from Rasa's tracker, so any app
instance can resolve it).
"""

from __future__ import annotations

import logging
from typing import Any

from anyio import to_thread
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto

from bot.channels.callback import CallbackError, parse_xml, sha1_signature, text_field
from bot.channels.delivery import RECIPIENT_RE
from bot.channels.turns import CallbackChannel, Incoming
from bot.channels.wechat_dedupe import message_key

log = logging.getLogger(__name__)

SUBSCRIBE_EVENTS = {"subscribe", "subscribe_scan"}


def read_incoming(msg: Any, xml: dict[str, Any], channel: str, key_prefix: str = "") -> Incoming:
    """The channel-independent view of a wechatpy message or event (Official Account and WeCom alike)."""
    sender = text_field(xml, "FromUserName", max_len=200)
    if not RECIPIENT_RE[channel].fullmatch(sender):
        raise CallbackError(400, "FromUserName is not a valid user id")
    try:
        key = key_prefix + message_key(msg)
        kind = msg.type
        event = getattr(msg, "event", "") if kind == "event" else ""
    except (ValueError, TypeError) as e:
        raise CallbackError(400, f"malformed message: {type(e).__name__}") from e
    if kind == "text":
        return Incoming(key, sender, "text", text_field(xml, "Content", required=False))
    if kind == "voice":
        return Incoming(key, sender, "voice", text_field(xml, "Recognition", required=False))
    if kind == "image":
        return Incoming(key, sender, "image", detail=text_field(xml, "PicUrl", required=False, max_len=1000))
    if kind in {"video", "shortvideo"}:
        return Incoming(key, sender, "video")
    if kind == "location":
        label = text_field(xml, "Label", required=False, max_len=500)
        x, y = text_field(xml, "Location_X", required=False), text_field(xml, "Location_Y", required=False)
        return Incoming(key, sender, "location", label, f"{label} ({x}, {y})".strip())
    if kind == "link":
        title = text_field(xml, "Title", required=False, max_len=500)
        return Incoming(key, sender, "link", detail=f"{title} {text_field(xml, 'Url', required=False, max_len=1000)}")
    if kind == "file":
        return Incoming(key, sender, "file", detail=text_field(xml, "Title", required=False, max_len=500))
    if event in SUBSCRIBE_EVENTS:
        return Incoming(key, sender, "subscribe")
    if event == "unsubscribe":
        return Incoming(key, sender, "unsubscribe")
    if event == "click":
        return Incoming(key, sender, "click", text_field(xml, "EventKey", required=False, max_len=200))
    # LOCATION reports, VIEW (a menu link), template-send receipts, ...: nothing to answer.
    return Incoming(key, sender, "ignore")


class WeChatChannel(CallbackChannel):
    channel = "wechat"

    @property
    def token(self) -> str:
        return self.settings.wechat_token.get_secret_value()

    @property
    def mode(self) -> str:
        return self.settings.effective_wechat_mode

    @property
    def crypto(self) -> WeChatCrypto | None:
        key = self.settings.wechat_aes_key.get_secret_value()
        return WeChatCrypto(self.token, key, self.settings.wechat_app_id) if key else None

    def verify_url(self, params: dict[str, str]) -> str:
        """URL verification (GET): echo ``echostr`` when WeChat signed the request with our token."""
        signature, timestamp, nonce, echostr = self.guard.require(params, "signature", "timestamp", "nonce", "echostr")
        self.guard.check_timestamp(timestamp)
        self.guard.check_signature(sha1_signature(self.token, timestamp, nonce), signature)
        return echostr

    async def handle(self, body: bytes, params: dict[str, str]) -> str:
        """Process one POSTed message; returns the XML to send back ("success" for no reply)."""
        signature, timestamp, nonce = self.guard.require(params, "signature", "timestamp", "nonce")
        self.guard.check_timestamp(timestamp)
        self.guard.check_signature(sha1_signature(self.token, timestamp, nonce), signature)
        if not body.strip():
            raise CallbackError(400, "empty body: a WeChat XML message is required")
        await to_thread.run_sync(self.guard.check_replay, timestamp, nonce, signature, body)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CallbackError(400, "body is not UTF-8") from e
        envelope = parse_xml(text)
        encrypted = params.get("encrypt_type", "").lower() == "aes"
        crypto = self.crypto
        if encrypted:
            if crypto is None or self.mode == "plaintext":
                raise CallbackError(
                    400, "encrypted message, but the channel is in plaintext mode (POSBOT_WECHAT_AES_KEY)"
                )
            (msg_signature,) = self.guard.require(params, "msg_signature")
            encrypt = text_field(envelope, "Encrypt", max_len=100_000)
            self.guard.check_signature(sha1_signature(self.token, timestamp, nonce, encrypt), msg_signature)
            try:
                inner = crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
            except Exception as e:  # wechatpy raises several types for tampered or foreign ciphertext
                raise CallbackError(400, f"cannot decrypt WeChat message: {type(e).__name__}") from e
            xml = parse_xml(inner)
        else:
            if self.mode == "safe":
                raise CallbackError(403, "plaintext message refused: the channel is in safe mode")
            inner, xml = text, envelope
        text_field(xml, "MsgType", max_len=50)
        try:
            msg = parse_message(inner)
        except Exception as e:
            raise CallbackError(400, f"malformed WeChat message: {type(e).__name__}") from e
        reply_text = await self.turns.answer(read_incoming(msg, xml, "wechat"))
        if not reply_text:
            return "success"  # WeChat's documented "no reply" answer
        reply = create_reply(reply_text, msg, render=True)
        if encrypted:
            assert crypto is not None
            return crypto.encrypt_message(reply, nonce, str(int(self.clock())))
        return reply

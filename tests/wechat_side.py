"""Plays the Tencent side of the callbacks in tests: builds, signs and encrypts what WeChat / WeCom POST,
and reads our passive replies back. Messages are built and encrypted with wechatpy, as Tencent's
servers do; the optional stand-in learns of each message, as WeChat's API would.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from xml.etree import ElementTree

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def new_openid() -> str:
    return "oFan" + uuid.uuid4().hex[:24]  # 28 characters, like a real openid


class WeChatSide:
    def __init__(
        self,
        token: str,
        aes_key: str,
        appid: str,
        mode: str = "safe",
        openid: str | None = None,
        standin=None,
        clock=time.time,
        account: str = "gh_posbottest",
    ):
        self.token, self.mode, self.appid, self.account = token, mode, appid, account
        self.crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None
        self.openid = openid or new_openid()
        self.standin = standin
        self.clock = clock

    # -- messages --

    def _head(self, msg_type: str) -> str:
        return (
            f"<ToUserName><![CDATA[{self.account}]]></ToUserName><FromUserName><![CDATA[{self.openid}]]></FromUserName>"
            f"<CreateTime>{int(self.clock())}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
        )

    @staticmethod
    def _msg_id() -> int:
        return uuid.uuid4().int % 10**18

    def text_xml(self, content: str) -> str:
        return f"<xml>{self._head('text')}<Content><![CDATA[{content}]]></Content><MsgId>{self._msg_id()}</MsgId></xml>"

    def voice_xml(self, recognition: str = "") -> str:
        rec = f"<Recognition><![CDATA[{recognition}]]></Recognition>" if recognition else ""
        return (
            f"<xml>{self._head('voice')}<MediaId><![CDATA[m1]]></MediaId><Format><![CDATA[amr]]></Format>"
            f"{rec}<MsgId>{self._msg_id()}</MsgId></xml>"
        )

    def image_xml(self) -> str:
        return (
            f"<xml>{self._head('image')}<PicUrl><![CDATA[http://mmbiz.example/pic.jpg]]></PicUrl>"
            f"<MediaId><![CDATA[m2]]></MediaId><MsgId>{self._msg_id()}</MsgId></xml>"
        )

    def location_xml(self, label: str) -> str:
        return (
            f"<xml>{self._head('location')}<Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y>"
            f"<Scale>20</Scale><Label><![CDATA[{label}]]></Label><MsgId>{self._msg_id()}</MsgId></xml>"
        )

    def event_xml(self, event: str, key: str = "") -> str:
        key_xml = f"<EventKey><![CDATA[{key}]]></EventKey>" if key else ""
        return f"<xml>{self._head('event')}<Event><![CDATA[{event}]]></Event>{key_xml}</xml>"

    # -- requests --

    def request(self, inner_xml: str, *, mode: str | None = None) -> tuple[dict[str, str], bytes]:
        """Query parameters and body of WeChat's POST for ``inner_xml`` in ``mode``."""
        mode = mode or self.mode
        ts, nonce = str(int(self.clock())), uuid.uuid4().hex[:10]
        params = {"signature": signature(self.token, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": self.openid}
        if self.standin is not None:
            kind = "message"
            if "<MsgType><![CDATA[event]]>" in inner_xml:
                kind = "event"
            self.standin.interact(self.openid, kind)
        if mode == "plaintext":
            return params, inner_xml.encode()
        assert self.crypto is not None
        root = ElementTree.fromstring(self.crypto.encrypt_message(inner_xml, nonce, ts))
        encrypt = root.findtext("Encrypt")
        if mode == "compatible":  # both: the plaintext fields and the ciphertext
            envelope = inner_xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
        else:
            envelope = f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        params.update(encrypt_type="aes", msg_signature=root.findtext("MsgSignature"))
        return params, envelope.encode()

    def reply(self, body: str) -> str:
        """The text of our passive reply ("" for WeChat's "success"); checks it goes back to the merchant."""
        if body == "success":
            return ""
        root = ElementTree.fromstring(body)
        if root.findtext("Encrypt") is not None:
            assert self.crypto is not None
            inner = self.crypto.decrypt_message(
                body, root.findtext("MsgSignature"), root.findtext("TimeStamp"), root.findtext("Nonce")
            )
        else:
            inner = body
        msg = parse_message(inner)
        assert msg.target == self.openid
        return ElementTree.fromstring(inner).findtext("Content") or ""


class WeComSide:
    def __init__(
        self, token: str, aes_key: str, corp_id: str, agent_id: int, userid: str | None = None, clock=time.time
    ):
        self.token, self.corp_id, self.agent_id = token, corp_id, agent_id
        self.crypto = WeComCrypto(token, aes_key, corp_id)
        self.userid = userid or "zhang" + uuid.uuid4().hex[:8]
        self.clock = clock

    def text_xml(self, content: str) -> str:
        return (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><FromUserName><![CDATA[{self.userid}]]></FromUserName>"
            f"<CreateTime>{int(self.clock())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{uuid.uuid4().int % 10**18}</MsgId>"
            f"<AgentID>{self.agent_id}</AgentID></xml>"
        )

    def verify_params(self, echo: str = "wecom-echo-42") -> dict[str, str]:
        from wechatpy.enterprise.crypto import PrpCrypto

        ts, nonce = str(int(self.clock())), uuid.uuid4().hex[:10]
        echostr = PrpCrypto(self.crypto.key).encrypt(echo, self.corp_id)
        echostr = echostr.decode() if isinstance(echostr, bytes) else echostr
        return {
            "msg_signature": signature(self.token, ts, nonce, echostr),
            "timestamp": ts,
            "nonce": nonce,
            "echostr": echostr,
        }

    def request(self, inner_xml: str) -> tuple[dict[str, str], bytes]:
        ts, nonce = str(int(self.clock())), uuid.uuid4().hex[:10]
        root = ElementTree.fromstring(self.crypto.encrypt_message(inner_xml, nonce, ts))
        envelope = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><AgentID><![CDATA[{self.agent_id}]]></AgentID>"
            f"<Encrypt><![CDATA[{root.findtext('Encrypt')}]]></Encrypt></xml>"
        )
        return {"msg_signature": root.findtext("MsgSignature"), "timestamp": ts, "nonce": nonce}, envelope.encode()

    def reply(self, body: str) -> str:
        if body == "success":
            return ""
        root = ElementTree.fromstring(body)
        inner = self.crypto.decrypt_message(
            body, root.findtext("MsgSignature"), root.findtext("TimeStamp"), root.findtext("Nonce")
        )
        el = ElementTree.fromstring(inner)
        assert el.findtext("ToUserName") == self.userid
        return el.findtext("Content") or ""

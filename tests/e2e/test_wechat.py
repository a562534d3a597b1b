"""The WeChat Official Account endpoint against the real stack, in encrypted (safe) mode.

Messages are built and encrypted with wechatpy exactly as WeChat's servers do.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto

from tests.conftest import WECHAT_TEST_SETTINGS as WX

pytestmark = pytest.mark.integration


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


class WeChatServer:
    """Plays WeChat's side: signs, encrypts, posts, decrypts the passive reply."""

    def __init__(self, base_url: str):
        self.url = f"{base_url}/wechat"
        self.crypto = WeChatCrypto(WX["wechat_token"], WX["wechat_aes_key"], WX["wechat_app_id"])
        self.openid = "oFans" + uuid.uuid4().hex[:16]

    def post(self, inner_xml: str) -> httpx.Response:
        ts, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
        encrypted = self.crypto.encrypt_message(inner_xml, nonce, ts)
        # WeChat signs the encrypted envelope; msg_signature is inside the XML it generated.
        from xml.etree import ElementTree

        root = ElementTree.fromstring(encrypted)
        envelope = f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[{root.findtext('Encrypt')}]]></Encrypt></xml>"
        params = {
            "signature": signature(WX["wechat_token"], ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": self.openid,
            "encrypt_type": "aes",
            "msg_signature": root.findtext("MsgSignature"),
        }
        return httpx.post(self.url, params=params, content=envelope.encode(), timeout=60)

    def text_xml(self, content: str) -> str:
        """A text message with a fresh MsgId; posting the same XML again is what WeChat's retry does."""
        return (
            f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{self.openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{uuid.uuid4().int % 10**18}</MsgId></xml>"
        )

    def text(self, content: str) -> str:
        r = self.post(self.text_xml(content))
        assert r.status_code == 200, r.text
        return self.decrypt(r)

    def decrypt(self, r: httpx.Response) -> str:
        from xml.etree import ElementTree

        root = ElementTree.fromstring(r.text)
        inner = self.crypto.decrypt_message(
            r.text, root.findtext("MsgSignature"), root.findtext("TimeStamp"), root.findtext("Nonce")
        )
        msg = parse_message(inner)
        assert msg.target == self.openid  # the reply goes back to the merchant who wrote
        return ElementTree.fromstring(inner).findtext("Content")


@pytest.fixture
def wechat(live_stack) -> WeChatServer:
    return WeChatServer(live_stack.app_url)


def test_url_verification_echoes_only_for_our_token(live_stack):
    ts, nonce = "1700000000", "abc123"
    ok = httpx.get(
        f"{live_stack.app_url}/wechat",
        params={"signature": signature(WX["wechat_token"], ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "hello"},
    )
    assert ok.status_code == 200 and ok.text == "hello"
    bad = httpx.get(
        f"{live_stack.app_url}/wechat",
        params={"signature": "0" * 40, "timestamp": ts, "nonce": nonce, "echostr": "hello"},
    )
    assert bad.status_code == 403


def test_merchant_question_gets_an_encrypted_chinese_answer(wechat):
    reply = wechat.text("刷卡机怎么激活")
    assert "激活" in reply and len(reply) > 30


def test_numbered_option_picks_the_button(wechat):
    reply = wechat.text("打印机不出纸了")
    assert "请回复数字选择" in reply, reply
    # The bot asked whether the problem is solved, with numbered options; "2" picks the second.
    options = [line for line in reply.splitlines() if line[:2] in {"1.", "2.", "3."}]
    assert len(options) >= 2
    follow_up = wechat.text("2")
    assert follow_up and follow_up != reply


def test_forged_message_is_rejected(wechat):
    xml = "<xml><ToUserName>x</ToUserName><Encrypt><![CDATA[bm90IHJlYWxseSBlbmNyeXB0ZWQ=]]></Encrypt></xml>"
    ts, nonce = str(int(time.time())), "n1"
    r = httpx.post(
        wechat.url,
        params={"signature": signature(WX["wechat_token"], ts, nonce), "timestamp": ts, "nonce": nonce,
                "msg_signature": "f" * 40, "encrypt_type": "aes"},
        content=xml.encode(),
    )
    assert r.status_code == 400
    r = httpx.post(wechat.url, params={"signature": "bad", "timestamp": ts, "nonce": nonce}, content=xml.encode())
    assert r.status_code == 403


def test_image_message_asks_for_text(wechat):
    xml = (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{wechat.openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        "<PicUrl><![CDATA[http://127.0.0.1/x.jpg]]></PicUrl><MediaId><![CDATA[m1]]></MediaId><MsgId>1</MsgId></xml>"
    )
    r = wechat.post(xml)
    assert r.status_code == 200
    assert "文字" in wechat.decrypt(r)


def merchant_turns(live_stack, openid: str) -> tuple[int, list[str]]:
    """User events in Rasa's tracker store, and the merchant's lines in our transcript (same database)."""
    conv = f"wechat:{openid}"
    engine = sa.create_engine(live_stack.settings.effective_database_url)
    try:
        with engine.connect() as c:
            user_events = c.execute(
                sa.text("SELECT count(*) FROM events WHERE sender_id = :s AND type_name = 'user'"), {"s": conv}
            ).scalar_one()
            lines = c.execute(
                sa.text("SELECT text FROM conversation_messages WHERE conversation_id = :s AND direction = 'in'"),
                {"s": conv},
            ).scalars().all()
    finally:
        engine.dispose()
    return user_events, list(lines)


def test_a_retried_message_gets_the_same_reply_and_reaches_rasa_once(wechat, live_stack):
    xml = wechat.text_xml("刷卡机怎么激活")
    first = wechat.post(xml)
    retry = wechat.post(xml)  # WeChat's retry: same MsgId, new timestamp and nonce
    assert first.status_code == 200 and retry.status_code == 200, (first.text, retry.text)
    answer = wechat.decrypt(first)
    assert "激活" in answer
    assert wechat.decrypt(retry) == answer
    assert merchant_turns(live_stack, wechat.openid) == (1, ["刷卡机怎么激活"])


def test_concurrent_copies_of_one_message_make_one_bot_turn(wechat, live_stack):
    xml = wechat.text_xml("结算款什么时候到账")
    start = threading.Barrier(2)

    def post() -> httpx.Response:
        start.wait()
        return wechat.post(xml)

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(lambda _: post(), range(2)))
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    # The copy that lost the claim answers with the winner's reply, or "success" (no reply)
    # if the winner took longer than its wait; never with a second answer of its own.
    replies = [wechat.decrypt(r) for r in responses if r.text != "success"]
    assert replies and all(reply == replies[0] for reply in replies)
    assert merchant_turns(live_stack, wechat.openid) == (1, ["结算款什么时候到账"])

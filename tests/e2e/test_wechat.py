"""WeChat Official Account and WeCom against the real stack (Rasa + app service), with the Tencent API stand-in.

Messages are built and encrypted with wechatpy exactly as WeChat's servers do (tests/wechat_side.py);
active messages (staff replies, ticket updates) are read from the stand-in (tests/tencent_standin.py).
The live stack runs in safe mode, as production should; a second app instance in compatible mode
shares its Rasa server and database, for the plaintext and compatible envelopes and for the
shared access token.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

from bot.chat.service import handoff_notice
from tests.conftest import WECHAT_TEST_SETTINGS as WX
from tests.conftest import WECOM_TEST_SETTINGS as WC
from tests.conftest import channel_api_settings, free_port
from tests.wechat_side import WeChatSide, WeComSide, signature

pytestmark = pytest.mark.integration


class Poster:
    """One merchant on one app instance: posts callbacks, reads replies."""

    def __init__(self, url: str, side):
        self.url, self.side = url, side

    def post(self, inner_xml: str, **kwargs) -> httpx.Response:
        params, body = self.side.request(inner_xml, **kwargs)
        return httpx.post(self.url, params=params, content=body, timeout=60)

    def text(self, content: str, **kwargs) -> str:
        r = self.post(self.side.text_xml(content), **kwargs)
        assert r.status_code == 200, r.text
        return self.side.reply(r.text)


@pytest.fixture
def wechat(live_stack, tencent_api) -> Poster:
    return Poster(
        f"{live_stack.app_url}/wechat",
        WeChatSide(WX["wechat_token"], WX["wechat_aes_key"], WX["wechat_app_id"], standin=tencent_api),
    )


@pytest.fixture(scope="module")
def compatible_app(live_stack, tmp_path_factory, tencent_api):
    """A second app instance (compatible mode) on the live stack's Rasa server and database."""
    from bot.core.settings import Settings
    from bot.rasa.stack import Stack

    s = live_stack.settings
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("compatible"),
        database_url=s.effective_database_url,
        faq_index_dir=s.effective_faq_index_dir,
        rasa_token=s.rasa_token,
        host="127.0.0.1",
        port=free_port(),
        wechat_mode="compatible",
        **channel_api_settings(tencent_api),
    )
    stack = Stack(model=live_stack.model, settings=settings, rasa_port=live_stack.rasa_port)
    stack.start(start_rasa=False)
    try:
        stack.wait_healthy(180)
    except Exception:
        stack.stop()
        raise
    yield stack
    stack.stop()


@pytest.fixture
def staff(live_stack):
    from bot.core.db import Database
    from bot.tickets.apikeys import ApiKeyStore

    db = Database(live_stack.settings.effective_database_url)
    try:
        key = ApiKeyStore(db).create("wechat-e2e", ["tickets:read", "tickets:write"]).token
    finally:
        db.dispose()
    client = httpx.Client(base_url=live_stack.app_url, headers={"X-API-Key": key}, timeout=30)
    yield client
    client.close()


def wait_for(predicate, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


# --- the callback ------------------------------------------------------------------------------


def test_url_verification_echoes_only_for_our_token(live_stack):
    ts, nonce = str(int(time.time())), "abc123"
    ok = httpx.get(
        f"{live_stack.app_url}/wechat",
        params={
            "signature": signature(WX["wechat_token"], ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "echostr": "hello",
        },
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
    options = [line for line in reply.splitlines() if line[:2] in {"1.", "2.", "3."}]
    assert len(options) >= 2
    follow_up = wechat.text("2")
    assert follow_up and follow_up != reply


def test_forged_and_plaintext_messages_are_refused_in_safe_mode(wechat):
    xml = "<xml><ToUserName>x</ToUserName><Encrypt><![CDATA[bm90IHJlYWxseSBlbmNyeXB0ZWQ=]]></Encrypt></xml>"
    ts, nonce = str(int(time.time())), "n1"
    r = httpx.post(
        wechat.url,
        params={
            "signature": signature(WX["wechat_token"], ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "msg_signature": "f" * 40,
            "encrypt_type": "aes",
        },
        content=xml.encode(),
    )
    assert r.status_code == 403
    r = httpx.post(wechat.url, params={"signature": "bad", "timestamp": ts, "nonce": nonce}, content=xml.encode())
    assert r.status_code == 403
    r = wechat.post(wechat.side.text_xml("明文"), mode="plaintext")
    assert r.status_code == 403 and "safe mode" in r.text


def test_plaintext_and_compatible_modes_end_to_end(compatible_app, tencent_api):
    side = WeChatSide(WX["wechat_token"], WX["wechat_aes_key"], WX["wechat_app_id"], standin=tencent_api)
    other = Poster(f"{compatible_app.app_url}/wechat", side)
    r = other.post(side.text_xml("刷卡机怎么激活"), mode="plaintext")
    assert r.status_code == 200 and "<Encrypt>" not in r.text
    assert "激活" in side.reply(r.text)
    r = other.post(side.text_xml("结算款什么时候到账"), mode="compatible")
    assert r.status_code == 200 and "<Encrypt>" in r.text  # asked encrypted, answered encrypted
    assert "到账" in side.reply(r.text)


def test_image_message_asks_for_text(wechat):
    r = wechat.post(wechat.side.image_xml())
    assert r.status_code == 200 and "文字" in wechat.side.reply(r.text)


def test_voice_with_recognition_is_answered_like_text(wechat):
    r = wechat.post(wechat.side.voice_xml("刷卡机怎么激活"))
    assert r.status_code == 200 and "激活" in wechat.side.reply(r.text)


def test_subscribe_gets_a_welcome_with_numbered_topics(wechat):
    r = wechat.post(wechat.side.event_xml("subscribe"))
    welcome = wechat.side.reply(r.text)
    assert "请回复数字选择" in welcome and "3. 开通激活" in welcome and "转人工" in welcome
    assert "激活" in wechat.text("3")


def test_menu_click_reaches_the_intent(wechat):
    r = wechat.post(wechat.side.event_xml("CLICK", "posbot:activation"))
    assert r.status_code == 200 and "激活" in wechat.side.reply(r.text)


# --- retries ----------------------------------------------------------------------------------


def merchant_turns(live_stack, openid: str, channel: str = "wechat") -> tuple[int, list[str]]:
    """User events in Rasa's tracker store, and the merchant's lines in our transcript (same database)."""
    conv = f"{channel}:{openid}"
    engine = sa.create_engine(live_stack.settings.effective_database_url)
    try:
        with engine.connect() as c:
            user_events = c.execute(
                sa.text("SELECT count(*) FROM events WHERE sender_id = :s AND type_name = 'user'"), {"s": conv}
            ).scalar_one()
            lines = (
                c.execute(
                    sa.text("SELECT text FROM conversation_messages WHERE conversation_id = :s AND direction = 'in'"),
                    {"s": conv},
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    return user_events, list(lines)


def test_a_retried_message_gets_the_same_reply_and_reaches_rasa_once(wechat, live_stack):
    xml = wechat.side.text_xml("刷卡机怎么激活")
    first = wechat.post(xml)
    retry = wechat.post(xml)  # WeChat's retry: same MsgId, new timestamp and nonce
    assert first.status_code == 200 and retry.status_code == 200, (first.text, retry.text)
    answer = wechat.side.reply(first.text)
    assert "激活" in answer
    assert wechat.side.reply(retry.text) == answer
    assert merchant_turns(live_stack, wechat.side.openid) == (1, ["刷卡机怎么激活"])


def test_concurrent_copies_of_one_message_make_one_bot_turn(wechat, live_stack):
    xml = wechat.side.text_xml("结算款什么时候到账")
    start = threading.Barrier(2)

    def post() -> httpx.Response:
        start.wait()
        return wechat.post(xml)

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(lambda _: post(), range(2)))
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    replies = [wechat.side.reply(r.text) for r in responses if r.text != "success"]
    assert all(reply == replies[0] for reply in replies)
    assert merchant_turns(live_stack, wechat.side.openid) == (1, ["结算款什么时候到账"])


# --- active messages ---------------------------------------------------------------------------


def test_handoff_acknowledged_once_and_staff_replies_arrive_without_the_merchant_writing(
    wechat, staff, tencent_api, live_stack
):
    openid = wechat.side.openid
    conv = f"wechat:{openid}"
    first = wechat.text("转人工")
    assert "转接人工" in first or "非人工服务时间" in first
    assert wechat.text("有人吗") == handoff_notice(live_stack)  # when a person answers, as on the web
    assert wechat.text("快点") == ""
    r = staff.post(f"/api/conversations/{conv}/messages", json={"text": "您好，我是客服小王，请问哪里不明白？"})
    assert r.status_code == 201
    assert wait_for(lambda: tencent_api.texts(openid)) == ["您好，我是客服小王，请问哪里不明白？"]

    def staff_line():
        detail = staff.get(f"/api/conversations/{conv}").json()
        return [m for m in detail["messages"] if m["direction"] == "staff"][0]

    assert wait_for(lambda: (staff_line()["delivery"] or {}).get("status") == "delivered")
    assert staff_line()["delivered_at"]
    staff.post(f"/api/conversations/{conv}/handback", json={})
    assert wait_for(lambda: len(tencent_api.texts(openid)) == 2)
    assert tencent_api.texts(openid)[-1].startswith("人工客服已结束本次服务")


def test_a_resolved_ticket_reaches_the_wechat_merchant(wechat, staff, tencent_api):
    openid = wechat.side.openid
    wechat.text("转人工")
    tickets = staff.get("/api/tickets", params={"channel": "wechat"}).json()["items"]
    number = next(t["number"] for t in tickets if t["sender_id"] == f"wechat:{openid}")
    body = {"status": "resolved", "note": "已为您远程重置", "reply_to_merchant": True}
    r = staff.patch(f"/api/tickets/{number}", json=body)
    assert r.status_code == 200, r.text
    texts = wait_for(lambda: [t for t in tencent_api.texts(openid) if number in t])
    # Exactly what the console previewed: the template, then the note marked for the merchant.
    assert texts[0].startswith(f"您的工单 {number} 已处理完成") and texts[0].endswith("客服留言：已为您远程重置")


def test_unsubscribe_closes_the_handoff(wechat, staff):
    conv = f"wechat:{wechat.side.openid}"
    wechat.text("转人工")
    assert staff.get(f"/api/conversations/{conv}").json()["handoff_active"] is True
    r = wechat.post(wechat.side.event_xml("unsubscribe"))
    assert (r.status_code, r.text) == (200, "success")
    assert staff.get(f"/api/conversations/{conv}").json()["handoff_active"] is False


def test_two_app_instances_share_one_refreshed_token(wechat, staff, compatible_app, tencent_api):
    openid = wechat.side.openid
    conv = f"wechat:{openid}"
    wechat.text("转人工")
    before = tencent_api.token_requests["stable_token"]
    tencent_api.revoke_tokens()  # both instances' cached token is now refused (40001)
    other = httpx.Client(base_url=compatible_app.app_url, headers=staff.headers, timeout=30)
    try:
        for i in range(6):
            client = staff if i % 2 else other
            assert client.post(f"/api/conversations/{conv}/messages", json={"text": f"第{i}条"}).status_code == 201
    finally:
        other.close()
    texts = wait_for(lambda: tencent_api.texts(openid) if len(tencent_api.texts(openid)) == 5 else None)
    assert texts == [f"第{i}条" for i in range(5)]  # 5: the quota of one merchant message (45047 after)
    assert tencent_api.token_requests["stable_token"] - before == 1


# --- WeCom -------------------------------------------------------------------------------------


def test_wecom_verification_message_and_staff_reply(live_stack, staff, tencent_api):
    side = WeComSide(WC["wecom_token"], WC["wecom_aes_key"], tencent_api.corp_id, tencent_api.agent_id)
    tencent_api.add_wecom_user(side.userid)
    url = f"{live_stack.app_url}/wecom"
    r = httpx.get(url, params=side.verify_params("hello-wecom"))
    assert r.status_code == 200 and r.text == "hello-wecom"
    poster = Poster(url, side)
    assert "激活" in poster.text("刷卡机怎么激活")
    poster.text("转人工")
    assert poster.text("有人吗") == handoff_notice(live_stack)
    conv = f"wecom:{side.userid}"
    assert staff.post(f"/api/conversations/{conv}/messages", json={"text": "您好，我是IT小李"}).status_code == 201
    assert wait_for(lambda: tencent_api.texts(side.userid, channel="wecom")) == ["您好，我是IT小李"]
    assert merchant_turns(live_stack, side.userid, "wecom")[0] == 2

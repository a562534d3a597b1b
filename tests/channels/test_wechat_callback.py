"""The /wechat and /wecom callbacks as WeChat's servers (and attackers) call them: modes, signatures,
timestamps, replays, malformed and hostile bodies. The app wiring is real, Rasa is scripted."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from bot.channels.wechat import WeChatChannel
from bot.channels.wechat_dedupe import WeChatMessageStore
from bot.conversations.models import ConversationMessage
from bot.core.shared_state import DatabaseState
from tests.wechat_side import WeChatSide, signature

# Tencent's published sample (the WXBizMsgCrypt demo of the message encryption guide), verbatim.
SAMPLE_TOKEN = "spamtest"
SAMPLE_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SAMPLE_APPID = "wx2c2769f8efd9abc2"
SAMPLE_TIMESTAMP = "1409735669"
SAMPLE_NONCE = "1320562132"
SAMPLE_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
SAMPLE_FROM_XML = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>"
    "</FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]>"
    "</Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m"
    "8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwo"
    "n8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0Vxp"
    "Ae+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM"
    "669WuMyVWQLCzpu9GhglF2PE=]]></Encrypt></xml>"
)


async def test_tencents_published_sample_decrypts_through_our_endpoint(make_harness):
    h = await make_harness(
        wechat_token=SAMPLE_TOKEN, wechat_aes_key=SAMPLE_AES_KEY, wechat_app_id=SAMPLE_APPID, wechat_mode="compatible"
    )
    # The sample is from 2014: our endpoint's clock is set to its moment, the window still applies.
    h.app.state.wechat = WeChatChannel(
        h.settings,
        h.app.state.chat,
        WeChatMessageStore(h.db),
        DatabaseState(h.db),
        clock=lambda: int(SAMPLE_TIMESTAMP) + 3,
    )
    params = {
        "signature": signature(SAMPLE_TOKEN, SAMPLE_TIMESTAMP, SAMPLE_NONCE),
        "timestamp": SAMPLE_TIMESTAMP,
        "nonce": SAMPLE_NONCE,
        "encrypt_type": "aes",
        "msg_signature": SAMPLE_MSG_SIGNATURE,
    }
    r = await h.http.post("/wechat", params=params, content=SAMPLE_FROM_XML.encode())
    assert r.status_code == 200, r.text
    # The decrypted text reached the chat core as the sample's follower, and the reply is encrypted for them.
    assert h.rasa.texts("wechat:oyORnuP8q7ou2gfYjqLzSIWZf0rs") == ["abcdteT"]
    side = WeChatSide(SAMPLE_TOKEN, SAMPLE_AES_KEY, SAMPLE_APPID, openid="oyORnuP8q7ou2gfYjqLzSIWZf0rs")
    assert "<Encrypt>" in r.text
    assert side.reply(r.text) == "收到：abcdteT"
    # A tampered msg_signature is refused.
    bad = await h.http.post("/wechat", params={**params, "msg_signature": "0" * 40}, content=SAMPLE_FROM_XML.encode())
    assert bad.status_code == 403


@pytest.mark.parametrize("mode", ["plaintext", "compatible", "safe"])
async def test_each_message_mode_round_trips(make_harness, mode):
    key = "" if mode == "plaintext" else "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    h = await make_harness(wechat_mode=mode, wechat_aes_key=key)
    side = h.wechat(mode)
    status, reply = await h.post(side, side.text_xml("刷卡机怎么激活"))
    assert status == 200 and reply == "收到：刷卡机怎么激活"
    params, body = side.request(side.text_xml("再问一次"))
    r = await h.http.post("/wechat", params=params, content=body)
    assert ("<Encrypt>" in r.text) == (mode != "plaintext")  # answered in the mode it was asked


async def test_safe_mode_refuses_plaintext_and_plaintext_mode_refuses_ciphertext(make_harness):
    safe = await make_harness(wechat_mode="safe")
    side = safe.wechat("plaintext")
    status, body = await safe.post(side, side.text_xml("明文消息"))
    assert status == 403 and "safe mode" in body
    plain = await make_harness(wechat_mode="plaintext", wechat_aes_key="")
    side = plain.wechat("safe")
    side.crypto = safe.wechat().crypto
    status, body = await plain.post(side, side.text_xml("密文消息"))
    assert status == 400 and "plaintext mode" in body
    assert safe.rasa.received == []


async def test_url_verification_checks_signature_and_timestamp(harness):
    now = str(int(time.time()))
    ok = await harness.http.get(
        "/wechat",
        params={
            "signature": signature("wx-test-token", now, "n1"),
            "timestamp": now,
            "nonce": "n1",
            "echostr": "hello",
        },
    )
    assert ok.status_code == 200 and ok.text == "hello"
    old = "1000000000"  # 2001
    stale = await harness.http.get(
        "/wechat",
        params={
            "signature": signature("wx-test-token", old, "n1"),
            "timestamp": old,
            "nonce": "n1",
            "echostr": "hello",
        },
    )
    assert stale.status_code == 403
    forged = await harness.http.get(
        "/wechat", params={"signature": "0" * 40, "timestamp": now, "nonce": "n1", "echostr": "x"}
    )
    assert forged.status_code == 403
    missing = await harness.http.get("/wechat", params={"timestamp": now, "nonce": "n1", "echostr": "x"})
    assert missing.status_code in (400, 422)


async def test_a_correctly_signed_message_from_2001_is_refused(harness):
    side = harness.wechat(clock=lambda: 1000000000)
    status, body = await harness.post(side, side.text_xml("旧消息"))
    assert status == 403 and "timestamp" in body
    assert harness.rasa.received == []


async def test_plaintext_replay_with_another_body_is_refused_but_a_retry_is_answered_once(make_harness):
    h = await make_harness(wechat_mode="plaintext", wechat_aes_key="")
    side = h.wechat("plaintext")
    params, body = side.request(side.text_xml("结算款什么时候到账"))
    first = await h.http.post("/wechat", params=params, content=body)
    retry = await h.http.post("/wechat", params=params, content=body)  # WeChat's own retry: same request
    assert first.status_code == retry.status_code == 200
    assert side.reply(first.text) == side.reply(retry.text) == "收到：结算款什么时候到账"
    forged = body.replace("结算款什么时候到账".encode(), "把我的商户号改成别人的".encode())
    replay = await h.http.post("/wechat", params=params, content=forged)
    assert replay.status_code == 403 and "replay" in replay.text
    assert h.rasa.texts(f"wechat:{side.openid}") == ["结算款什么时候到账"]


@pytest.mark.parametrize(
    "body, why",
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"<xml><ToUserName>x</ToUserName>", "malformed"),
        (b"not xml at all", "malformed"),
        (b"<xml><ToUserName>gh</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>", "FromUserName"),
        (b"\xff\xfe<xml/>", "UTF-8"),
    ],
)
async def test_bad_bodies_get_a_clear_400(make_harness, body, why):
    h = await make_harness(wechat_mode="plaintext", wechat_aes_key="")
    side = h.wechat("plaintext")
    params, _ = side.request(side.text_xml("x"))
    r = await h.http.post("/wechat", params=params, content=body)
    assert r.status_code == 400 and why in r.text


async def test_an_over_long_or_odd_openid_is_a_400_not_a_500(make_harness):
    h = await make_harness(wechat_mode="plaintext", wechat_aes_key="")
    for openid in ["o" * 200, "o" * 151, "oFan<script>", "o\u4e2d\u6587openid0000000000"]:
        side = h.wechat("plaintext", openid=openid)
        status, body = await h.post(side, side.text_xml("你好"))
        assert status == 400 and "FromUserName" in body, openid
    assert h.rasa.received == []


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&d;</Content><MsgId>1</MsgId></xml>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&x;</Content><MsgId>2</MsgId></xml>"
)


@pytest.mark.parametrize("payload", [BOMB, XXE], ids=["entity-expansion", "external-entity"])
@pytest.mark.parametrize("mode", ["plaintext", "safe"])
async def test_entity_expansion_and_external_entities_stay_refused(make_harness, payload, mode):
    h = await make_harness(
        wechat_mode=mode, wechat_aes_key="" if mode == "plaintext" else "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    )
    side = h.wechat(mode)
    status, body = await h.post(side, payload.format(openid=side.openid))
    assert status == 400 and "DTD" in body
    assert h.rasa.received == []  # nothing, let alone /etc/passwd, reached the bot


async def test_the_body_is_capped_while_it_streams(harness):
    side = harness.wechat()
    params, _ = side.request(side.text_xml("x"))
    sent = 0

    async def endless():
        nonlocal sent
        for _ in range(10_000):  # 10 MB offered, without a Content-Length
            sent += 1
            yield b"<" * 1024

    r = await harness.http.post("/wechat", params=params, content=endless())
    assert r.status_code == 413
    assert sent < 200  # the app stopped reading near 64 KB
    declared = await harness.http.post("/wechat", params=params, content=b"x" * (65 * 1024))
    assert declared.status_code == 413


async def test_wecom_verification_returns_the_decrypted_echostr(harness):
    side = harness.wecom()
    r = await harness.http.get("/wecom", params=side.verify_params("echo-123"))
    assert r.status_code == 200 and r.text == "echo-123"
    params = side.verify_params("echo-123")
    params["msg_signature"] = "0" * 40
    assert (await harness.http.get("/wecom", params=params)).status_code == 403


async def test_wecom_message_round_trips_encrypted_and_refuses_forgeries(harness):
    side = harness.wecom()
    assert await harness.say(side, "刷卡机怎么激活") == "收到：刷卡机怎么激活"
    params, body = side.request(side.text_xml("伪造"))
    params["msg_signature"] = "f" * 40
    assert (await harness.http.post("/wecom", params=params, content=body)).status_code == 403
    with harness.db.session() as s:
        lines = (
            s.execute(
                select(ConversationMessage.text).where(ConversationMessage.conversation_id == f"wecom:{side.userid}")
            )
            .scalars()
            .all()
        )
    assert lines == ["刷卡机怎么激活", "收到：刷卡机怎么激活"]

"""Active messages to WeChat and WeCom through the channel outbox, against the Tencent API stand-in.

The merchant side is played with wechatpy-built callbacks; staff use the real internal API; the
outbox worker sends to the stand-in, which answers as WeChat does (tokens, 45015, 45047, rate limits).
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.channels.outbox import ChannelMessage
from bot.chat.service import handoff_notice
from bot.tickets.notices import status_notice
from bot.tickets.schemas import TicketCreate, TicketPatch
from tests.channels.fake_rasa import GREETING


def rows(h, conv: str | None = None) -> list[ChannelMessage]:
    with h.db.session() as s:
        q = select(ChannelMessage).order_by(ChannelMessage.id)
        if conv:
            q = q.where(ChannelMessage.conversation_id == conv)
        return list(s.execute(q).scalars())


async def start_handoff(h, side) -> str:
    conv = f"wechat:{side.openid}"
    await h.say(side, "你好")
    h.services.conversations.start_handoff(conv, "wechat", None, "request_human")
    return conv


# --- the bot's own answers -------------------------------------------------------------------------


async def test_a_fast_answer_is_a_passive_reply_and_nothing_is_pushed(harness):
    side = harness.wechat()
    assert await harness.say(side, "刷卡机怎么激活") == "收到：刷卡机怎么激活"
    assert await harness.drain() == 0 and harness.standin.sent == []


async def test_a_slow_answer_is_success_at_once_then_pushed_once(harness):
    side = harness.wechat()
    # Rasa takes 3 s; the passive window is 1 s. The bound leaves a busy core room (CI runs on 2).
    harness.rasa.script["结算款什么时候到账"] = (
        3.0,
        [
            {"text": "一般T+1到账。"},
            {
                "text": "问题解决了吗？",
                "buttons": [{"title": "解决了", "payload": "/affirm"}, {"title": "没解决", "payload": "/deny"}],
            },
        ],
    )
    started = asyncio.get_running_loop().time()
    params, body = side.request(side.text_xml("结算款什么时候到账"))
    r = await harness.http.post("/wechat", params=params, content=body)
    assert r.status_code == 200 and r.text == "success"  # WeChat gets its answer within the passive window
    assert asyncio.get_running_loop().time() - started < 2.8
    assert harness.standin.texts(side.openid) == []  # answered before the slow answer existed
    retry = await harness.http.post("/wechat", params=params, content=body)  # a retry does not run the turn again
    assert retry.text == "success"
    await harness.settle()
    assert await harness.drain() == 1
    assert harness.standin.texts(side.openid) == [
        "一般T+1到账。\n\n问题解决了吗？\n\n请回复数字选择：\n1. 解决了\n2. 没解决"
    ]
    assert await harness.drain() == 0  # once
    assert harness.rasa.texts(f"wechat:{side.openid}") == ["结算款什么时候到账"]
    # The numbered options of the pushed answer work like those of a passive one.
    await harness.say(side, "2")
    assert harness.rasa.texts(f"wechat:{side.openid}")[-1] == "/deny"


async def test_a_long_answer_is_split_at_wechats_byte_limit(harness):
    side = harness.wechat()
    paragraphs = [f"第{i}步：" + "请检查刷卡机的电源和网络连接，然后重新签到。" * 8 for i in range(1, 8)]
    harness.rasa.script["详细步骤"] = (0.0, [{"text": "\n".join(paragraphs)}])
    passive = await harness.say(side, "详细步骤")
    assert passive and len(passive.encode()) <= 2048 and passive.startswith("第1步")
    await harness.drain()
    pushed = harness.standin.texts(side.openid)
    assert pushed and all(len(p.encode()) <= 2048 for p in pushed)
    assert "\n".join([passive, *pushed]) == "\n".join(paragraphs)  # nothing lost, in order


# --- 转人工 --------------------------------------------------------------------------------------------


async def test_during_a_handoff_the_first_message_is_acknowledged_once(harness):
    side = harness.wechat()
    await start_handoff(harness, side)
    assert await harness.say(side, "有人吗") == handoff_notice(harness.services)
    assert await harness.say(side, "在吗？？") == ""
    assert harness.rasa.texts(f"wechat:{side.openid}") == ["你好"]  # the bot stayed out of it
    # A new handoff acknowledges again.
    conv = f"wechat:{side.openid}"
    harness.services.conversations.hand_back(conv, "staff", notice=None)
    harness.services.conversations.start_handoff(conv, "wechat", None, "request_human")
    assert await harness.say(side, "又是我") == handoff_notice(harness.services)


async def test_a_staff_reply_reaches_the_merchant_without_them_writing(harness):
    side = harness.wechat()
    conv = await start_handoff(harness, side)
    r = await harness.http.post(
        f"/api/conversations/{conv}/messages", json={"text": "您好，我是客服小王"}, headers=harness.staff
    )
    assert r.status_code == 201
    assert await harness.drain() == 1
    assert harness.standin.texts(side.openid) == ["您好，我是客服小王"]
    detail = (await harness.http.get(f"/api/conversations/{conv}", headers=harness.staff)).json()
    staff_line = [m for m in detail["messages"] if m["direction"] == "staff"][0]
    assert staff_line["delivery"]["status"] == "delivered" and staff_line["delivered_at"]
    # Delivered means delivered: the passive path does not send it a second time.
    assert "客服小王" not in await harness.say(side, "好的谢谢")
    # The hand-back notice is pushed too.
    await harness.http.post(f"/api/conversations/{conv}/handback", json={}, headers=harness.staff)
    await harness.drain()
    assert harness.standin.texts(side.openid)[-1].startswith("人工客服已结束本次服务")


async def test_a_ticket_update_reaches_a_wechat_merchant(harness):
    side = harness.wechat()
    await harness.say(side, "我要报修")
    t = harness.services.tickets.create(
        TicketCreate(
            category="handoff", description="打印机不出纸", channel="wechat", sender_id=f"wechat:{side.openid}"
        )
    )
    harness.services.tickets.update(t.number, TicketPatch(status="resolved", note="已远程重置打印模块"), actor="alice")
    assert await harness.drain() == 1
    # The status template only: the note was internal.
    assert harness.standin.texts(side.openid) == [status_notice(t.number, "open", "resolved")]
    assert harness.services.tickets.pending_notifications("wechat") == []  # marked sent


# --- WeChat's limits ---------------------------------------------------------------------------


async def test_45015_is_recorded_shown_to_staff_not_retried_and_sent_when_the_merchant_returns(harness):
    side = harness.wechat()
    conv = await start_handoff(harness, side)
    harness.standin.advance(49 * 3600)  # the merchant went quiet two days ago
    await harness.http.post(
        f"/api/conversations/{conv}/messages", json={"text": "您的问题已处理好了"}, headers=harness.staff
    )
    assert await harness.drain() == 1
    [row] = rows(harness, conv)
    assert (row.status, row.last_errcode, row.attempts) == ("failed", 45015, 1)
    harness.clock.advance(3600)
    assert await harness.drain() == 0  # not retried
    assert harness.standin.errcodes(side.openid) == [45015]
    detail = (await harness.http.get(f"/api/conversations/{conv}", headers=harness.staff)).json()
    delivery = [m for m in detail["messages"] if m["direction"] == "staff"][0]["delivery"]
    assert delivery["status"] == "failed" and delivery["errcode"] == 45015 and "48" in delivery["error"]
    listed = (await harness.http.get("/api/deliveries", params={"status": "failed"}, headers=harness.staff)).json()
    assert [i["last_errcode"] for i in listed["items"]] == [45015]
    # The merchant writes again: the window is open and the message goes out, once.
    assert await harness.say(side, "还在吗") == handoff_notice(harness.services)
    assert await harness.drain() == 1
    assert harness.standin.texts(side.openid) == ["您的问题已处理好了"]
    assert await harness.drain() == 0


async def test_45047_when_the_quota_of_the_last_message_is_used_up(harness):
    side = harness.wechat()
    conv = await start_handoff(harness, side)
    for i in range(7):
        await harness.http.post(
            f"/api/conversations/{conv}/messages", json={"text": f"第{i + 1}条"}, headers=harness.staff
        )
    await harness.drain()
    statuses = [(r.text, r.status, r.last_errcode) for r in rows(harness, conv)]
    assert [s for _, s, _ in statuses] == ["delivered"] * 5 + ["failed"] * 2
    assert {c for _, s, c in statuses if s == "failed"} == {45047}
    await harness.say(side, "收到")  # a new message renews the quota
    await harness.drain()
    assert harness.standin.texts(side.openid) == [f"第{i + 1}条" for i in range(7)]


async def test_an_expired_token_is_refreshed_once(harness):
    side = harness.wechat()
    conv = await start_handoff(harness, side)
    await harness.http.post(f"/api/conversations/{conv}/messages", json={"text": "第一条"}, headers=harness.staff)
    await harness.drain()
    assert harness.standin.token_requests["stable_token"] == 1
    harness.standin.expire_tokens()  # WeChat says 42001 for the cached token
    await harness.http.post(f"/api/conversations/{conv}/messages", json={"text": "第二条"}, headers=harness.staff)
    await harness.drain()
    assert harness.standin.texts(side.openid) == ["第一条", "第二条"]
    assert harness.standin.errcodes(side.openid) == [0, 42001, 0]  # one rejection, one refresh, one resend
    assert harness.standin.token_requests["stable_token"] == 2
    harness.standin.revoke_tokens()  # 40001: e.g. the token was reset elsewhere
    await harness.http.post(f"/api/conversations/{conv}/messages", json={"text": "第三条"}, headers=harness.staff)
    await harness.drain()
    assert harness.standin.texts(side.openid)[-1] == "第三条"
    assert harness.standin.errcodes(side.openid)[-2:] == [40001, 0]


async def test_two_app_instances_share_one_token(make_harness):
    # Classic /cgi-bin/token hands out a new token per call and retires the last one: unshared, the
    # instances would keep invalidating each other (40001 "not latest").
    a = await make_harness(wechat_token_endpoint="classic")
    b = await make_harness(wechat_token_endpoint="classic")
    side = a.wechat()
    conv = await start_handoff(a, side)
    for i, instance in enumerate([a, b, a, b]):
        await instance.http.post(f"/api/conversations/{conv}/messages", json={"text": f"消息{i}"}, headers=a.staff)
        await instance.drain()
    assert a.standin.texts(side.openid) == ["消息0", "消息1", "消息2", "消息3"]
    assert a.standin.token_requests["token"] == 1  # one fetch served both instances
    assert set(a.standin.errcodes(side.openid)) == {0}


async def test_a_rate_limit_pauses_sending_without_using_up_attempts(harness):
    harness.standin.rate_limit = 2
    side = harness.wechat()
    conv = await start_handoff(harness, side)
    for i in range(4):
        await harness.http.post(f"/api/conversations/{conv}/messages", json={"text": f"通知{i}"}, headers=harness.staff)
    await harness.drain()
    assert harness.standin.texts(side.openid) == ["通知0", "通知1"]
    waiting = [r for r in rows(harness, conv) if r.status == "pending"]
    assert [r.last_errcode for r in waiting] == [45011, None] and waiting[0].attempts == 0
    harness.standin.advance(61)
    harness.clock.advance(61)
    await harness.drain()
    assert harness.standin.texts(side.openid) == ["通知0", "通知1", "通知2", "通知3"]


async def test_transient_errors_retry_with_backoff_then_dead_letter_and_staff_can_retry(harness):
    side = harness.wechat()
    conv = await start_handoff(harness, side)
    harness.standin.fail_next("/cgi-bin/message/custom/send", -1, "system error", times=3)
    await harness.http.post(f"/api/conversations/{conv}/messages", json={"text": "请稍等"}, headers=harness.staff)
    assert await harness.drain() == 1
    assert await harness.drain() == 0  # backing off
    for _ in range(2):
        harness.clock.advance(30)
        await harness.drain()
    [row] = rows(harness, conv)
    assert (row.status, row.attempts, row.last_errcode) == ("dead", 3, -1)
    r = await harness.http.post(f"/api/deliveries/{row.message_id}/retry", headers=harness.staff)
    assert r.status_code == 200 and r.json()["status"] == "pending"
    await harness.drain()
    assert harness.standin.texts(side.openid) == ["请稍等"]
    again = await harness.http.post(f"/api/deliveries/{row.message_id}/retry", headers=harness.staff)
    assert again.json()["status"] == "delivered"  # a delivered message is never queued twice
    assert await harness.drain() == 0
    unknown = await harness.http.post("/api/deliveries/no-such-id/retry", headers=harness.staff)
    assert unknown.status_code == 404
    assert (await harness.http.get("/api/deliveries")).status_code == 401


# --- message types -------------------------------------------------------------------------------


async def test_subscribe_gets_a_welcome_with_numbered_topics(harness):
    side = harness.wechat()
    status, welcome = await harness.post(side, side.event_xml("subscribe"))
    assert status == 200 and welcome.startswith(GREETING)
    assert "1. 结算到账" in welcome and "3. 开通激活" in welcome and "6. 转人工客服" in welcome
    await harness.say(side, "3")
    assert harness.rasa.texts(f"wechat:{side.openid}") == ["/greet", "刷卡机怎么激活"]


async def test_menu_clicks_map_to_intents(make_harness):
    h = await make_harness(wechat_menu={"MY_HUMAN_KEY": "/request_human"})
    side = h.wechat()
    await h.post(side, side.event_xml("CLICK", "MY_HUMAN_KEY"))
    await h.post(side, side.event_xml("CLICK", "posbot:settlement"))
    status, reply = await h.post(side, side.event_xml("CLICK", "UNKNOWN"))
    assert status == 200 and "菜单" in reply
    assert h.rasa.texts(f"wechat:{side.openid}") == ["/request_human", "结算款没到账怎么办"]


async def test_voice_image_and_location(harness):
    side = harness.wechat()
    status, reply = await harness.post(side, side.voice_xml("打印机不出纸"))
    assert reply == "收到：打印机不出纸"
    status, reply = await harness.post(side, side.voice_xml(""))
    assert "文字" in reply
    status, reply = await harness.post(side, side.image_xml())
    assert "图片" in reply and "文字" in reply
    status, reply = await harness.post(side, side.location_xml("广州市天河区体育西路"))
    assert "天河区" in reply and "1." in reply
    assert harness.rasa.texts(f"wechat:{side.openid}") == ["打印机不出纸"]
    detail = (await harness.http.get(f"/api/conversations/wechat:{side.openid}", headers=harness.staff)).json()
    ins = [m["text"] for m in detail["messages"] if m["direction"] == "in"]
    assert ins[0] == "(语音) 打印机不出纸" and ins[2].startswith("(图片) http") and ins[3].startswith("(位置) 广州市")


async def test_unsubscribe_closes_the_conversation_and_stops_sending(harness):
    side = harness.wechat()
    conv = await start_handoff(harness, side)
    await harness.http.post(f"/api/conversations/{conv}/messages", json={"text": "还在吗"}, headers=harness.staff)
    status, reply = await harness.post(side, side.event_xml("unsubscribe"))
    assert (status, reply) == (200, "")
    assert harness.services.conversations.handoff_active(conv) is False
    assert await harness.drain() == 0
    [row] = rows(harness, conv)
    assert row.status == "failed" and "unsubscribed" in row.last_error
    assert harness.rasa.events[conv] == []  # the dialogue starts afresh next time


async def test_without_an_app_secret_replies_ride_on_the_next_passive_reply(make_harness):
    h = await make_harness(wechat_app_secret="")
    side = h.wechat()
    conv = await start_handoff(h, side)
    await h.http.post(f"/api/conversations/{conv}/messages", json={"text": "您好，我是客服小王"}, headers=h.staff)
    assert rows(h) == []
    assert await h.say(side, "你好") == "您好，我是客服小王\n\n" + handoff_notice(h.services)


# --- WeCom ---------------------------------------------------------------------------------------


async def test_wecom_staff_reply_goes_through_message_send(harness):
    side = harness.wecom()
    conv = f"wecom:{side.userid}"
    await harness.say(side, "你好")
    harness.services.conversations.start_handoff(conv, "wecom", None, "request_human")
    assert await harness.say(side, "有人吗") == handoff_notice(harness.services)
    await harness.http.post(
        f"/api/conversations/{conv}/messages", json={"text": "您好，我是IT小李"}, headers=harness.staff
    )
    await harness.drain()
    assert harness.standin.texts(side.userid, channel="wecom") == ["您好，我是IT小李"]
    stranger = harness.wecom()
    harness.standin.wecom_users.discard(stranger.userid.lower())  # left the application's visible range
    await harness.say(stranger, "你好")
    sconv = f"wecom:{stranger.userid}"
    harness.services.conversations.start_handoff(sconv, "wecom", None, "request_human")
    await harness.http.post(f"/api/conversations/{sconv}/messages", json={"text": "您好"}, headers=harness.staff)
    await harness.drain()
    [row] = rows(harness, sconv)
    assert (row.status, row.last_errcode) == ("failed", 81013)


# --- care reminders ------------------------------------------------------------------------------


async def test_a_care_reminder_reaches_a_wechat_or_wecom_merchant_through_their_channel(harness):
    from datetime import UTC, datetime, timedelta

    from bot.field import reminders

    side, member = harness.wechat(), harness.wecom()
    await harness.say(side, "提醒我保养")
    await harness.say(member, "提醒我保养")
    await harness.drain()
    before = (len(harness.standin.texts(side.openid)), len(harness.standin.texts(member.userid, channel="wecom")))
    month_ago = datetime.now(UTC) - timedelta(days=31)
    for conv in (f"wechat:{side.openid}", f"wecom:{member.userid}"):
        reminders.opt_in(harness.db, conv, None, 30, now=month_ago)
    assert reminders.send_due(harness.db, harness.settings) == 2
    await harness.drain()
    wechat = "".join(harness.standin.texts(side.openid)[before[0] :])
    wecom = "".join(harness.standin.texts(member.userid, channel="wecom")[before[1] :])
    for pushed in (wechat, wecom):
        assert pushed.startswith("⏰ 定期保养提醒") and "至少等一分钟" in pushed and "不用提醒保养了" in pushed
    assert reminders.send_due(harness.db, harness.settings) == 0  # once per interval


async def test_a_wechat_care_reminder_after_48_quiet_hours_waits_for_the_merchant(harness):
    """WeChat refuses customer-service messages 48 hours after the follower last wrote (45015):
    the reminder is kept and goes out when the merchant writes again (docs/conversations.md)."""
    from datetime import UTC, datetime, timedelta

    from bot.field import reminders

    side = harness.wechat()
    conv = f"wechat:{side.openid}"
    await harness.say(side, "提醒我保养")
    await harness.drain()
    harness.standin.advance(49 * 3600)
    reminders.opt_in(harness.db, conv, None, 30, now=datetime.now(UTC) - timedelta(days=31))
    assert reminders.send_due(harness.db, harness.settings) == 1
    await harness.drain()
    assert 45015 in harness.standin.errcodes(side.openid)
    assert not any(t.startswith("⏰") for t in harness.standin.texts(side.openid))
    await harness.say(side, "你好")
    await harness.drain()
    assert any(t.startswith("⏰ 定期保养提醒") for t in harness.standin.texts(side.openid))

"""Consumables and visits end to end: merchant text -> /api/chat -> real Rasa -> actions -> database
-> ticket API, with the slips people make (a size we do not have, 500 rolls, a time in the past)."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.support import buttons, texts

pytestmark = pytest.mark.integration

TICKET_RE = re.compile(r"GD\d{8}-[2-9A-HJKMNP-Z]{6}")
MERCHANT = "898310048161234"
TERMINAL = "21450093"
PHONE = "13812345678"
ADDRESS = "杭州市西湖区文三路100号"


def sid() -> str:
    return "field" + uuid.uuid4().hex[:10]


@pytest.fixture(scope="module")
def dispatch_key(live_stack) -> dict[str, str]:
    from bot.core.db import Database
    from bot.tickets.apikeys import ApiKeyStore

    db = Database(live_stack.settings.effective_database_url)
    try:
        key = ApiKeyStore(db).create("e2e-dispatch", ["tickets:read", "field:read", "field:write"])
    finally:
        db.dispose()
    return {"X-API-Key": key.token}


@pytest.fixture
def dispatch(live_stack, dispatch_key):
    with httpx.Client(base_url=live_stack.app_url, headers=dispatch_key, timeout=30) as client:
        yield client


def say(chat, sender: str, text: str) -> tuple[str, list[dict]]:
    status, body = chat(sender, text)
    assert status == 200, body
    return texts(body), buttons(body)


def click(btns: list[dict], title: str) -> str:
    return next(b["payload"] for b in btns if b["title"] == title)


def test_paper_by_chat_with_slips_then_its_status_and_the_ticket_api(chat, dispatch):
    s = sid()
    reply, btns = say(chat, s, "打印纸用完了能送几卷吗")
    assert "耗材配送" in reply and "需要哪种耗材" in reply
    assert "80×80mm 热敏打印纸" in [b["title"] for b in btns]
    reply, _ = say(chat, s, "76×76的")
    assert "没有 76×76 这种规格的纸" in reply
    reply, _ = say(chat, s, click(btns, "80×80mm 热敏打印纸"))
    assert "需要几卷" in reply
    reply, _ = say(chat, s, "500")
    assert "一次最多能申请50卷" in reply
    reply, _ = say(chat, s, "很多")
    assert "需要一个具体的数字" in reply
    reply, _ = say(chat, s, "5卷")
    assert "送到哪里" in reply
    reply, _ = say(chat, s, "文三路100号")
    assert "市和区" in reply
    reply, _ = say(chat, s, ADDRESS)
    assert "商户号" in reply
    say(chat, s, MERCHANT)
    reply, btns = say(chat, s, PHONE)
    assert "80×80mm 热敏打印纸 × 5卷" in reply and "138****5678" in reply and PHONE not in reply
    reply, _ = say(chat, s, click(btns, "确认提交"))
    number = TICKET_RE.search(reply).group(0)
    assert "预计3个工作日内送达" in reply

    ticket = dispatch.get(f"/api/tickets/{number}").json()
    assert ticket["category"] == "consumables" and ticket["contact_phone"] == PHONE
    assert ticket["field"]["items"][0]["code"] == "paper_80x80" and ticket["field"]["items"][0]["quantity"] == 5
    assert ticket["field"]["address"] == ADDRESS and ticket["field"]["service_area"] == "杭州市西湖区"

    reply, _ = say(chat, s, "我的纸什么时候到")
    assert number in reply and "80×80mm 热敏打印纸 × 5卷" in reply and "前送达" in reply
    # Another conversation typing the merchant id sees nothing of it.
    reply, _ = say(chat, sid(), f"商户{MERCHANT}的纸什么时候到")
    assert number not in reply

    queue = dispatch.get("/api/field/jobs", params={"kind": "delivery"}).json()["items"]
    assert number in [t["number"] for t in queue]


def test_visit_by_chat_a_past_time_then_confirmed_moved_and_called_off(chat, dispatch):
    s = sid()
    reply, btns = say(chat, s, "新店要装一台")
    assert "新装机" in reply and "商户号" in reply
    say(chat, s, MERCHANT)
    reply, _ = say(chat, s, "上海")
    assert "地址" in reply
    reply, _ = say(chat, s, "上海市浦东新区张江路1号")
    assert "哪天上门" in reply
    reply, _ = say(chat, s, "昨天下午")
    assert "已经过去了" in reply
    reply, btns = say(chat, s, "后天")
    assert "上午还是下午" in reply
    reply, btns = say(chat, s, click(btns, btns[0]["title"]))
    assert re.search(r"您选的是 \d+月\d+日（周.）上午，对吗？", reply)
    reply, _ = say(chat, s, click(btns, "对，就这个时间"))
    assert "手机号" in reply
    reply, btns = say(chat, s, PHONE)
    assert "新装机" in reply and "上海市浦东新区" in reply
    reply, _ = say(chat, s, click(btns, "确认提交"))
    number = TICKET_RE.search(reply).group(0)
    ticket = dispatch.get(f"/api/tickets/{number}").json()
    assert ticket["category"] == "visit" and ticket["field"]["kind"] == "installation"
    assert ticket["field"]["half_day"] == "am" and ticket["terminal_id"] is None

    reply, _ = say(chat, s, "改到下周三下午")
    assert "已改到" in reply and "下午" in reply and number in reply
    assert dispatch.get(f"/api/tickets/{number}").json()["field"]["half_day"] == "pm"
    reply, btns = say(chat, s, "不用来了取消吧")
    assert "确定取消" in reply
    reply, _ = say(chat, s, click(btns, "确定取消"))
    assert "已取消这次上门服务" in reply
    t = dispatch.get(f"/api/tickets/{number}").json()
    assert t["status"] == "resolved" and t["field"]["outcome"] == "cancelled"


def test_a_visit_form_cancelled_halfway_files_nothing(chat, dispatch):
    s = sid()
    say(chat, s, "能派人上门看看吗")
    say(chat, s, MERCHANT)
    reply, _ = say(chat, s, "取消")
    assert "已取消这次登记" in reply
    reply, _ = say(chat, s, "改到周五下午")
    assert "没有找到您待上门的预约" in reply

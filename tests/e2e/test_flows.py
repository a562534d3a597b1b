"""Dialogue flows end to end: merchant text -> /api/chat -> Rasa -> actions -> database.

Real Rasa server (trained model), real app service, real SQLite, the real knowledge base.
Buttons are clicked by sending the payload of a button the bot offered in this
conversation, as the widget does (any other intent syntax is read as plain words); the
first message of a flow is typed as a merchant types it. The merchant slips as people do: a digit missing at each step, an old button clicked after
later turns, a suggestion clicked and then 没解决, a person asked for right after a ticket,
a ticket looked up from another conversation.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from tests.support import buttons, texts

pytestmark = pytest.mark.integration

TICKET_RE = re.compile(r"GD\d{8}-[2-9A-HJKMNP-Z]{6}")
PRINTER_ENTRY = "fault-printer-out-of-paper"  # 提示缺纸，怎么更换纸卷？ (five steps)
CARD_ENTRY = "fault-card-reader-read-failed"  # 刷卡提示读卡失败怎么办？
MERCHANT = "898310048161234"
TERMINAL = "21450093"
PHONE = "13812345678"
PRINTER_QUESTION = "打印机提示缺纸"
CARD_QUESTION = "刷卡老是读卡失败"


def sid() -> str:
    return "flow" + uuid.uuid4().hex[:10]


@pytest.fixture(scope="module")
def staff_key(live_stack) -> dict[str, str]:
    from bot.core.db import Database
    from bot.tickets.apikeys import ApiKeyStore

    db = Database(live_stack.settings.effective_database_url)
    try:
        key = ApiKeyStore(db).create("e2e-staff", ["tickets:read", "tickets:write"])
    finally:
        db.dispose()
    return {"X-API-Key": key.token}


@pytest.fixture
def staff(live_stack, staff_key):
    with httpx.Client(base_url=live_stack.app_url, headers=staff_key, timeout=30) as client:
        yield client


def say(chat, sender: str, text: str) -> tuple[str, str, list[dict]]:
    status, body = chat(sender, text)
    assert status == 200, body
    return body["status"], texts(body), buttons(body)


def click(btns: list[dict], title: str) -> str:
    """The payload of the offered button with this title (what the widget sends)."""
    return next(b["payload"] for b in btns if b["title"] == title)


def open_answer(chat, s: str, question: str, entry: str) -> tuple[str, list[dict]]:
    """Type ``question``; when the bot suggests ``entry`` rather than answering it, click it.

    Returns the answer's text and buttons (解决了 / 试了还是不行 or 没解决).
    """
    _, reply, btns = say(chat, s, question)
    choice = f'/choose_faq{{"faq_id":"{entry}"}}'
    if any(b["payload"] == choice for b in btns):
        _, reply, btns = say(chat, s, choice)
    assert any(b["title"] == "解决了" for b in btns), reply
    return reply, btns


def file_ticket(chat, s: str, entry: str = PRINTER_ENTRY) -> str:
    """Chosen answer -> 没解决 -> 登记工单 -> the form without slips -> 确认提交; the ticket number."""
    _, btns = open_answer(chat, s, PRINTER_QUESTION if entry == PRINTER_ENTRY else CARD_QUESTION, entry)
    _, _, btns = say(chat, s, click(btns, "试了还是不行"))
    say(chat, s, click(btns, "登记工单"))
    for value in (MERCHANT, TERMINAL, PHONE):
        _, reply, btns = say(chat, s, value)
    _, reply, _ = say(chat, s, click(btns, "确认提交"))
    return TICKET_RE.search(reply).group(0)


def test_a_slip_at_every_step_loses_nothing(chat):
    s = sid()
    reply, btns = open_answer(chat, s, PRINTER_QUESTION, PRINTER_ENTRY)
    # Five steps not tried yet: asked to try them, not "问题解决了吗？".
    assert "请先按上面的5个步骤试一试" in reply and "问题解决了吗" not in reply
    assert [b["title"] for b in btns] == ["解决了", "试了还是不行"]

    _, reply, btns = say(chat, s, click(btns, "试了还是不行"))
    assert "故障报修工单" in reply and "要登记吗" in reply
    _, reply, _ = say(chat, s, click(btns, "登记工单"))
    assert "15位商户号" in reply

    _, reply, _ = say(chat, s, "12345")
    assert reply == "商户号是15位数字，您发的是5位，请再发一次～"
    _, reply, _ = say(chat, s, MERCHANT)
    assert "8位终端号" in reply
    _, reply, _ = say(chat, s, "2145009")
    assert reply == "终端号是8位数字，您发的是7位，请再发一次～"
    _, reply, _ = say(chat, s, TERMINAL)
    assert "手机号" in reply
    _, reply, _ = say(chat, s, "1381234567")  # a digit missing: one complaint, about the phone only
    assert reply == "手机号是11位数字，您发的是10位，请再发一次～"
    _, reply, btns = say(chat, s, PHONE)
    assert "还要继续" not in reply
    # The phone is masked in the summary (stored like every bot message); the ticket gets it in full.
    assert f"· 商户号：{MERCHANT}" in reply and f"· 终端号：{TERMINAL}" in reply and "· 联系手机：138****5678" in reply
    assert f"· 问题描述：{PRINTER_QUESTION}" in reply  # the problem in the merchant's words
    assert [b["title"] for b in btns] == ["确认提交", "修改", "取消"]
    _, reply, _ = say(chat, s, click(btns, "确认提交"))
    assert "工单已提交" in reply
    number = TICKET_RE.search(reply).group(0)

    _, reply, _ = say(chat, s, f"查一下工单 {number.lower()}")
    assert f"工单 {number}" in reply and "状态：待处理" in reply


def test_two_misses_on_one_field_pause_and_the_value_itself_resumes(chat):
    s = sid()
    _, btns = open_answer(chat, s, PRINTER_QUESTION, PRINTER_ENTRY)
    _, _, btns = say(chat, s, click(btns, "试了还是不行"))
    say(chat, s, click(btns, "登记工单"))
    say(chat, s, "12345")
    _, reply, btns = say(chat, s, "不知道")
    assert "签购单" in reply and "还要继续登记工单吗？可以点“继续登记”或“先不登记了”。" in reply
    assert [b["title"] for b in btns] == ["继续登记", "先不登记了"]
    _, reply, _ = say(chat, s, MERCHANT)  # typed instead of clicking 继续登记
    assert "8位终端号" in reply and "请回复" not in reply


def test_the_ticket_describes_the_suggestion_the_merchant_clicked(chat):
    s = sid()
    _, _, btns = say(chat, s, "机器有点问题")
    fault_area = '/choose_faq{"faq_topic":"fault"}'
    if any(b["payload"] == fault_area for b in btns):  # asked which area first
        _, _, btns = say(chat, s, fault_area)
    suggestions = [b for b in btns if b["payload"].startswith('/choose_faq{"faq_id"')]
    assert suggestions, btns
    suggestion = suggestions[0]
    _, _, btns = say(chat, s, suggestion["payload"])
    _, _, btns = say(chat, s, click(btns, btns[1]["title"]))  # 没解决 / 试了还是不行
    say(chat, s, click(btns, "登记工单"))
    for value in (MERCHANT, TERMINAL, PHONE):
        _, reply, _ = say(chat, s, value)
    described = re.search(r"· 问题描述：(.+)", reply).group(1)
    # The clicked question, said as a problem ("交易成功了但是不打单怎么办？" -> "交易成功了但是不打单").
    assert len(described) >= 4 and suggestion["title"].startswith(described), (described, suggestion["title"])
    assert "机器有点问题" not in reply


def test_an_old_button_answers_its_own_question(chat):
    s = sid()
    _, printer_btns = open_answer(chat, s, PRINTER_QUESTION, PRINTER_ENTRY)
    _, reply, _ = say(chat, s, "昨天刷卡的钱没到账")
    assert "到账" in reply
    # The printer answer's 没解决, clicked after the settlement answer (or after a reload).
    _, reply, btns = say(chat, s, click(printer_btns, "试了还是不行"))
    assert "您点的是之前关于“提示缺纸，怎么更换纸卷”的按钮" in reply
    assert "故障报修工单" in reply and "结算到账工单" not in reply
    # Its fresh 登记工单 starts a repair ticket about the printer.
    _, reply, _ = say(chat, s, click(btns, "登记工单"))
    assert "故障报修工单" in reply
    # And the same old button clicked during the form does not touch the form.
    _, reply, _ = say(chat, s, click(printer_btns, "试了还是不行"))
    assert "我们正在登记工单" in reply and "15位商户号" in reply


def test_confirm_clicked_twice_files_one_ticket(chat, staff):
    s = sid()
    _, btns = open_answer(chat, s, PRINTER_QUESTION, PRINTER_ENTRY)
    _, _, btns = say(chat, s, click(btns, "试了还是不行"))
    say(chat, s, click(btns, "登记工单"))
    for value in (MERCHANT, TERMINAL, PHONE):
        _, _, btns = say(chat, s, value)
    confirm = click(btns, "确认提交")
    _, reply, _ = say(chat, s, confirm)
    number = TICKET_RE.search(reply).group(0)
    _, reply, _ = say(chat, s, confirm)  # a double click, or the button after a reload
    assert reply == f"那次登记已经提交过了，工单号 {number}。想看进度，随时发“查工单 {number}”。"
    mine = staff.get("/api/tickets", params={"merchant_id": MERCHANT, "limit": 100}).json()["items"]
    assert [t["number"] for t in mine if t["sender_id"] == f"web:{s}"] == [number]


def test_a_person_asked_for_after_a_ticket_joins_that_ticket(chat, live_stack, staff):
    from bot.conversations import hours

    s, conv = sid(), None
    number = file_ticket(chat, s)
    conv = f"web:{s}"
    status, body = chat(s, "转人工")
    assert status == 200 and body["status"] == "handoff"
    reply = texts(body)
    assert number in reply and "已为您转接人工客服" in reply
    assert "商户号" not in reply and "手机号" not in reply  # not asked again
    promise = hours.reply_promise(hours.from_settings(live_stack.settings), datetime.now(UTC))
    assert promise in reply
    assert body["handoff_notice"] == f"已转人工客服：{promise}。"  # the banner says the same

    detail = staff.get(f"/api/conversations/{conv}").json()
    assert detail["handoff"]["ticket_number"] == number
    assert [t["number"] for t in detail["tickets"]] == [number]  # one story, no second ticket
    assert detail["merchant"]["merchant_id"] == MERCHANT
    assert detail["merchant"]["contact_phone_masked"] == "138****5678"
    # While a person owns the chat the bot is silent; the first message is acknowledged with
    # the same promise, on every channel.
    status, body = chat(s, "有人吗")
    assert (body["status"], texts(body), body["handoff_notice"]) == (
        "handoff",
        f"已转人工客服：{promise}。",
        f"已转人工客服：{promise}。",
    )
    status, body = chat(s, "还在吗")
    assert (body["status"], texts(body)) == ("handoff", "")


def test_staff_changes_reach_the_merchant_as_short_messages(chat, chat_client, staff):
    s = sid()
    number = file_ticket(chat, s)
    r = staff.patch(f"/api/tickets/{number}", json={"status": "in_progress", "note": "内部：先查日志"})
    assert r.status_code == 200
    body = {"status": "resolved", "note": "已为您寄出新纸卷", "reply_to_merchant": True}
    preview = staff.post(f"/api/tickets/{number}/preview", json=body).json()
    assert staff.patch(f"/api/tickets/{number}", json=body).status_code == 200
    assert staff.patch(f"/api/tickets/{number}", json={"status": "open"}).status_code == 200  # reopened

    got = [m["text"] for m in chat_client.updates(s).json()["messages"]]
    assert got == [
        f"您的工单 {number} 客服已开始处理，有进展会在这里通知您。",
        *preview["messages"],
        f"您的工单 {number} 已重新打开，客服会继续跟进，有进展会在这里通知您。",
    ]
    assert preview["messages"] == [
        f"您的工单 {number} 已处理完成✅ 如果问题还在，直接说“转人工”，客服会接着帮您处理。\n客服留言：已为您寄出新纸卷"
    ]
    assert all("内部" not in text for text in got)


def test_a_ticket_looked_up_from_another_conversation_needs_its_phone(chat, staff):
    owner, stranger = sid(), sid()
    number = file_ticket(chat, owner)
    staff.patch(
        f"/api/tickets/{number}", json={"status": "resolved", "note": "已更换打印头", "reply_to_merchant": True}
    )

    _, reply, _ = say(chat, stranger, f"查一下工单 {number}")
    assert "核对一下身份" in reply and "已解决" not in reply and "已更换打印头" not in reply
    _, reply, _ = say(chat, stranger, "13900000000")
    assert "没有查到和这个手机号对应的工单" in reply
    _, reply, _ = say(chat, stranger, PHONE)
    assert f"工单 {number}" in reply and "状态：已解决" in reply and "处理结果：已更换打印头" in reply

    # A merchant id alone lists nothing to a stranger.
    _, reply, _ = say(chat, sid(), f"查工单 {MERCHANT}")
    assert not TICKET_RE.search(reply) and "核对身份" in reply


def test_the_app_verified_merchant_sees_the_ticket_at_once(chat, live_stack):
    owner = sid()
    number = file_ticket(chat, owner)
    # The app passes the verified identity to Rasa as message metadata (REST channel).
    r = httpx.post(
        f"{live_stack.rasa_url}/webhooks/rest/webhook",
        json={
            "sender": f"web:{sid()}",
            "message": f"查一下工单 {number}",
            "metadata": {"verified_merchant_id": MERCHANT},
        },
        timeout=60,
    )
    reply = "\n".join(m.get("text", "") for m in r.json())
    assert f"工单 {number}" in reply and "状态：待处理" in reply


def test_cancel_in_the_middle_of_the_form(chat):
    s = sid()
    _, btns = open_answer(chat, s, PRINTER_QUESTION, PRINTER_ENTRY)
    _, _, btns = say(chat, s, click(btns, "试了还是不行"))
    say(chat, s, click(btns, "登记工单"))
    _, reply, _ = say(chat, s, "/cancel")
    assert "已取消这次工单登记" in reply
    _, reply, _ = say(chat, s, "你好")
    assert "商户号" not in reply  # the form is gone


def test_request_human_silences_the_bot_until_staff_hand_back(chat, chat_client, live_stack, staff):
    from bot.conversations import hours

    s = sid()
    conv = f"web:{s}"
    status, reply, _ = say(chat, s, "转人工")
    assert status == "handoff" and "已为您转接人工客服" in reply

    status, reply, _ = say(chat, s, "有人吗")
    notice = hours.waiting_notice(hours.from_settings(live_stack.settings), datetime.now(UTC))
    assert (status, reply) == ("handoff", notice)  # acknowledged the first time only
    status, reply, _ = say(chat, s, "还在吗")
    assert (status, reply) == ("handoff", "")

    detail = staff.get(f"/api/conversations/{conv}").json()
    assert detail["handoff_active"] is True
    assert [m["text"] for m in detail["messages"] if m["direction"] == "in"] == ["转人工", "有人吗", "还在吗"]

    assert staff.post(f"/api/conversations/{conv}/messages", json={"text": "您好，我是客服小王"}).status_code == 201
    assert [m["text"] for m in chat_client.updates(s).json()["messages"]] == ["您好，我是客服小王"]

    assert staff.post(f"/api/conversations/{conv}/handback", json={"by": "王客服"}).status_code == 200
    status, reply, _ = say(chat, s, "你好")
    assert status == "ok" and reply  # the assistant answers again


def test_angry_merchant_is_handed_to_a_person(chat):
    status, reply, _ = say(chat, sid(), "你们这破机器天天坏，气死我了，我要投诉")
    assert status == "handoff"
    assert "非常抱歉给您带来不好的体验" in reply


def test_greeting_is_said_once(chat):
    s = sid()
    _, first, _ = say(chat, s, "你好")
    _, second, _ = say(chat, s, "你好")
    _, answer, _ = say(chat, s, "昨天刷卡的钱没到账")
    assert "您好" in first
    assert "您好" not in second and "您好" not in answer

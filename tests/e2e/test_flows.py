"""Dialogue flows end to end: merchant text -> /api/chat -> Rasa -> actions -> database.

Real Rasa server (trained model), real app service, real SQLite, the real knowledge base.
Button payloads are used where a merchant would click (only payloads of buttons the bot
offered in the conversation count as clicks), so the tests follow the dialogue rather than
NLU wording; the first message of a flow is typed as a merchant types it.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from tests.support import buttons, texts

pytestmark = pytest.mark.integration

TICKET_RE = re.compile(r"GD\d{8}-\d{4}")
PRINTER_ENTRY = "fault-printer-out-of-paper"


def sid() -> str:
    return "flow" + uuid.uuid4().hex[:10]


@pytest.fixture(scope="module")
def staff_key(live_stack) -> dict[str, str]:
    from bot.db import Database
    from bot.tickets.apikeys import ApiKeyStore

    db = Database(live_stack.settings.effective_database_url)
    try:
        key = ApiKeyStore(db).create("e2e-staff", ["tickets:read", "tickets:write"])
    finally:
        db.dispose()
    return {"X-API-Key": key.token}


def say(chat, sender: str, text: str) -> tuple[str, str, list[dict]]:
    status, body = chat(sender, text)
    assert status == 200, body
    return body["status"], texts(body), buttons(body)


def start_printer_fault(chat, s: str) -> None:
    """The merchant types the printer fault and gets the troubleshooting steps with 解决了/没解决."""
    _, reply, btns = say(chat, s, "打印机不出纸")
    assert "问题解决了吗？" in reply
    assert [b["payload"] for b in btns] == ["/affirm", "/deny"]


def test_fault_not_solved_files_a_repair_ticket_and_its_status_can_be_checked(chat):
    s = sid()
    start_printer_fault(chat, s)

    _, reply, _ = say(chat, s, "/deny")
    assert "故障报修工单" in reply and "要登记吗" in reply
    _, reply, _ = say(chat, s, "/affirm")
    assert "15位商户号" in reply
    _, reply, _ = say(chat, s, "12345")
    assert "商户号是15位数字，您发的是5位" in reply
    _, reply, _ = say(chat, s, "898310048161234")
    assert "8位终端号" in reply
    _, reply, _ = say(chat, s, "21450093")
    assert "手机号" in reply
    _, reply, btns = say(chat, s, "13812345678")
    assert "请核对工单信息（故障报修）" in reply and "· 终端号：21450093" in reply
    assert [b["payload"] for b in btns] == ["/affirm", "/deny", "/cancel"]
    _, reply, _ = say(chat, s, "/affirm")
    assert "工单已提交" in reply
    number = TICKET_RE.search(reply).group(0)

    _, reply, _ = say(chat, s, f"查一下工单 {number}")
    assert f"工单 {number}" in reply and "状态：待处理" in reply


def test_cancel_in_the_middle_of_the_form(chat):
    s = sid()
    start_printer_fault(chat, s)
    say(chat, s, "/deny")
    say(chat, s, "/affirm")
    _, reply, _ = say(chat, s, "/cancel")
    assert "已取消这次工单登记" in reply
    _, reply, _ = say(chat, s, "你好")
    assert "商户号" not in reply  # the form is gone


def test_request_human_silences_the_bot_until_staff_hand_back(chat, chat_client, live_stack, staff_key):
    from bot.chat import HANDOFF_ACK
    from bot.conversations.hours import ServiceHours

    s = sid()
    conv = f"web:{s}"
    status, reply, _ = say(chat, s, "转人工")
    assert status == "handoff"
    hours = ServiceHours.parse(live_stack.settings.service_hours, live_stack.settings.timezone)
    expected = "已为您转接人工客服" if hours.is_open(datetime.now(UTC)) else "非人工服务时间"
    assert expected in reply

    status, reply, _ = say(chat, s, "有人吗")
    assert (status, reply) == ("handoff", HANDOFF_ACK)  # acknowledged the first time only

    api = httpx.Client(base_url=live_stack.app_url, headers=staff_key, timeout=30)
    detail = api.get(f"/api/conversations/{conv}").json()
    assert detail["handoff_active"] is True
    assert [m["text"] for m in detail["messages"] if m["direction"] == "in"] == ["转人工", "有人吗"]

    assert api.post(f"/api/conversations/{conv}/messages", json={"text": "您好，我是客服小王"}).status_code == 201
    updates = chat_client.updates(s).json()
    assert [m["text"] for m in updates["messages"]] == ["您好，我是客服小王"]
    assert updates["messages"][0]["author"] == "e2e-staff"
    assert chat_client.ack(s, [m["id"] for m in updates["messages"]]).json() == {"acknowledged": 1}

    assert api.post(f"/api/conversations/{conv}/handback", json={"by": "王客服"}).status_code == 200
    status, reply, _ = say(chat, s, "你好")
    assert status == "ok" and reply  # the assistant answers again
    api.close()


def test_angry_merchant_is_handed_to_a_person(chat):
    status, reply, _ = say(chat, sid(), "你们这破机器天天坏，气死我了，我要投诉")
    assert status == "handoff"
    assert "非常抱歉给您带来不好的体验" in reply

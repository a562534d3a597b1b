"""action_check_ticket: by number, by the merchant id known in the conversation, by this chat,
or ask; Chinese status names and the last update in Asia/Shanghai time."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rasa_sdk.events import SlotSet

from actions.tickets import ActionCheckTicket
from bot.tickets.schemas import TicketCreate, TicketPatch
from tests.dialogue.helpers import SENDER, ents, make_tracker, texts

SH = ZoneInfo("Asia/Shanghai")
MERCHANT = "898310048161234"


def create(services, **overrides):
    data = {
        "category": "repair",
        "merchant_id": MERCHANT,
        "terminal_id": "21450093",
        "contact_phone": "13812345678",
        "description": "打印机不出纸",
        "channel": "web",
        "sender_id": SENDER,
    }
    data.update(overrides)
    return services.tickets.create(TicketCreate(**data))


def shown(ticket, status: str, category: str = "故障报修") -> str:
    return (
        f"工单 {ticket.number}\n· 类型：{category}\n· 状态：{status}\n"
        f"· 最近更新：{ticket.updated_at.astimezone(SH):%Y-%m-%d %H:%M}"
    )


async def test_status_by_ticket_number(services, domain, dispatcher):
    t = create(services)
    t = services.tickets.update(t.number, TicketPatch(status="in_progress"), actor="staff")
    tracker = make_tracker(
        domain, text=f"查一下 {t.number}", intent="check_ticket", entities=ents(ticket_number=t.number)
    )
    events = await ActionCheckTicket().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [shown(t, "处理中")]
    assert events == [SlotSet("pending_question", None), SlotSet("helped", True)]


async def test_pattern_match_wins_over_a_misread_span_from_diet(services, domain, dispatcher):
    # DIET and the regex extractor both report ticket numbers; DIET's comes first in the list
    # and can be a wrong span, the pattern match is exact.
    t = create(services)
    misread = {"entity": "ticket_number", "value": t.number[:-1], "extractor": "DIETClassifier"}
    exact = {"entity": "ticket_number", "value": t.number, "extractor": "RegexEntityExtractor"}
    tracker = make_tracker(domain, text=f"查一下 {t.number}", intent="check_ticket", entities=[misread, exact])
    await ActionCheckTicket().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [shown(t, "待处理")]


async def test_number_found_in_the_text_when_nlu_missed_it(services, domain, dispatcher):
    t = create(services)
    tracker = make_tracker(domain, text=f"工单号{t.number.lower()}", intent="inform")
    await ActionCheckTicket().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [shown(t, "待处理")]


async def test_resolved_ticket_shows_the_resolution(services, domain, dispatcher):
    t = create(services)
    t = services.tickets.update(t.number, TicketPatch(status="resolved", note="已寄出新纸卷"), actor="staff")
    tracker = make_tracker(domain, text=t.number, intent="check_ticket", entities=ents(ticket_number=t.number))
    await ActionCheckTicket().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [shown(t, "已解决") + "\n· 处理结果：已寄出新纸卷"]


async def test_unknown_number_is_said_kindly(services, domain, dispatcher):
    tracker = make_tracker(
        domain, text="GD20260101-0099", intent="check_ticket", entities=ents(ticket_number="GD20260101-0099")
    )
    events = await ActionCheckTicket().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [
        "没有查到工单 GD20260101-0099，麻烦核对一下工单号（格式如 GD20261125-0001）。"
        "也可以发15位商户号，我帮您查名下的工单。"
    ]
    assert events == [SlotSet("pending_question", "ticket_lookup")]


async def test_status_by_merchant_id_known_in_the_conversation(services, domain, dispatcher):
    old = create(services, sender_id="web:someone-else", category="settlement")
    newer = create(services, sender_id="web:someone-else")
    services.tickets.update(old.number, TicketPatch(status="resolved"), actor="staff")
    tracker = make_tracker(domain, text="我的工单怎么样了", intent="check_ticket", slots={"merchant_id": MERCHANT})
    events = await ActionCheckTicket().run(dispatcher, tracker, domain)
    newer = services.tickets.get(newer.number)
    assert texts(dispatcher) == [f"商户号 {MERCHANT} 名下有 1 张处理中的工单：\n\n" + shown(newer, "待处理")]
    assert events == [SlotSet("pending_question", None), SlotSet("helped", True), SlotSet("merchant_id", MERCHANT)]


async def test_merchant_without_open_tickets_sees_the_recent_ones(services, domain, dispatcher):
    t = create(services, category="activation")
    t = services.tickets.update(t.number, TicketPatch(status="resolved"), actor="staff")
    t = services.tickets.update(t.number, TicketPatch(status="closed"), actor="staff")
    tracker = make_tracker(domain, text="查工单", intent="check_ticket", slots={"merchant_id": MERCHANT})
    await ActionCheckTicket().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [
        f"商户号 {MERCHANT} 名下目前没有处理中的工单。最近的工单：\n\n" + shown(t, "已关闭", "开通激活")
    ]


async def test_merchant_without_tickets(services, domain, dispatcher):
    tracker = make_tracker(domain, text="查工单", intent="check_ticket", slots={"merchant_id": MERCHANT})
    await ActionCheckTicket().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [f"商户号 {MERCHANT} 名下暂时没有查到工单。如果是刚提交的，请发一下工单号我再查查～"]


async def test_tickets_of_this_chat_when_nothing_else_is_known(services, domain, dispatcher):
    t = create(services)
    tracker = make_tracker(domain, text="查工单", intent="check_ticket")
    await ActionCheckTicket().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["您在这里提交过的工单：\n\n" + shown(t, "待处理")]


async def test_asks_for_a_number_or_merchant_id(services, domain, dispatcher):
    tracker = make_tracker(domain, text="查工单", intent="check_ticket")
    events = await ActionCheckTicket().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["请发一下工单号（比如 GD20261125-0001，在登记成功的消息里），或者15位商户号，我帮您查～"]
    assert events == [SlotSet("pending_question", "ticket_lookup")]

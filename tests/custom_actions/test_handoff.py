"""action_handoff: one story per problem. A handoff ticket with the transcript, or the open
ticket of the conversation joined; the conversation marked silent; and one wording of when
a person answers, inside and outside the service hours."""

from __future__ import annotations

from rasa_sdk.events import ActiveLoop, SlotSet

from actions.handoff import ActionHandoff
from bot.chat.service import handoff_notice
from bot.tickets.schemas import TicketCreate, TicketPatch
from tests.custom_actions.helpers import CLOSED_NOW, OPEN_NOW, SENDER, bot_event, make_tracker, texts, user_event

KNOWN = {"merchant_id": "898310048161234", "phone": "13812345678", "terminal_id": "21450093"}
AFTER = [
    SlotSet("urgent", None),
    SlotSet("fallback_count", 0.0),
    SlotSet("pending_question", None),
    SlotSet("question_step", None),
]


def handoff_tracker(domain, text="转人工", intent="request_human", slots=None, active_loop=None, sender_id=SENDER):
    events = [
        user_event("打印机不出纸", "report_fault", ts=1700000000.0),
        bot_event("问题解决了吗？", ts=1700000001.0),
        user_event(text, intent, ts=1700000010.0),
    ]
    return make_tracker(
        domain, text=text, intent=intent, slots=slots, events=events, active_loop=active_loop, sender_id=sender_id
    )


def repair_ticket(services, sender=SENDER):
    return services.tickets.create(
        TicketCreate(
            category="repair",
            merchant_id=KNOWN["merchant_id"],
            terminal_id=KNOWN["terminal_id"],
            contact_phone=KNOWN["phone"],
            description="刷卡提示读卡失败",
            channel="web",
            sender_id=sender,
        )
    )


async def test_request_human_in_service_hours_creates_a_ticket_and_silences_the_bot(
    services, domain, dispatcher, clock
):
    tracker = handoff_tracker(domain, slots={**KNOWN, "faq_query": "打印机不出纸"})
    events = await ActionHandoff().run(dispatcher, tracker, domain)

    [ticket] = services.tickets.list_for_sender("web", SENDER)
    assert ticket.category == "handoff" and ticket.priority == "normal"
    assert (ticket.merchant_id, ticket.contact_phone, ticket.terminal_id) == (
        "898310048161234",
        "13812345678",
        "21450093",
    )
    assert ticket.description == "商户要求转人工客服\n商户最后说：转人工\n之前咨询：打印机不出纸"
    assert [(line["role"], line["text"]) for line in ticket.transcript] == [
        ("user", "打印机不出纸"),
        ("bot", "问题解决了吗？"),
        ("user", "转人工"),
    ]
    # Everything is known: nothing is asked again.
    assert texts(dispatcher) == [f"已为您转接人工客服（工单号 {ticket.number}）。客服会尽快在这里回复您。"]
    assert events == AFTER + [SlotSet("last_ticket_number", ticket.number)]
    state = services.conversations.get_state(SENDER)
    assert state.handoff_active is True
    assert state.handoff.ticket_number == ticket.number
    assert state.handoff.reason == "request_human"


async def test_outside_service_hours_says_when_a_person_replies(services, domain, dispatcher, clock):
    clock.set(CLOSED_NOW)  # 23:30 in Shanghai
    await ActionHandoff().run(dispatcher, handoff_tracker(domain, slots=KNOWN), domain)
    [ticket] = services.tickets.list_for_sender("web", SENDER)
    assert texts(dispatcher) == [
        f"已为您转接人工客服（工单号 {ticket.number}）。"
        "现在是非人工服务时间（人工客服在线 09:00-21:00），客服会在明天 09:00 上班后在这里回复您。\n"
        "您可以先留言补充情况，客服上线后会一并查看。"
    ]
    assert services.conversations.handoff_active(SENDER) is True


async def test_the_banner_makes_the_same_promise_as_the_reply(services, domain, dispatcher, clock):
    # The widget shows handoff_notice() while a person owns the chat: never "客服会在这里回复您"
    # beside "09:00 上班后".
    for now, promise in (
        (OPEN_NOW, "客服会尽快在这里回复您"),
        (CLOSED_NOW, "现在是非人工服务时间（人工客服在线 09:00-21:00），客服会在明天 09:00 上班后在这里回复您"),
    ):
        clock.set(now)
        dispatcher.messages.clear()
        await ActionHandoff().run(
            dispatcher, handoff_tracker(domain, slots=KNOWN, sender_id=f"web:banner-{now.hour}"), domain
        )
        assert promise in texts(dispatcher)[0]
        assert handoff_notice(services, now) == f"已转人工客服：{promise}。"


async def test_without_merchant_id_and_phone_the_handoff_asks_only_for_those(services, domain, dispatcher, clock):
    # A merchant who asks for a person straight away has given neither; the chat is the contact.
    events = await ActionHandoff().run(dispatcher, handoff_tracker(domain), domain)
    [ticket] = services.tickets.list_for_sender("web", SENDER)
    assert ticket.category == "handoff"
    assert (ticket.merchant_id, ticket.contact_phone) == (None, None)
    assert texts(dispatcher) == [
        f"已为您转接人工客服（工单号 {ticket.number}）。客服会尽快在这里回复您。\n"
        "方便的话先发一下您的商户号和手机号，客服查起来更快。"
    ]
    assert events[-1] == SlotSet("last_ticket_number", ticket.number)
    state = services.conversations.get_state(SENDER)
    assert state.handoff_active is True and state.handoff.ticket_number == ticket.number


async def test_a_handoff_after_a_ticket_joins_that_ticket(services, domain, dispatcher, clock):
    # Out of hours, right after filing a repair ticket: no second ticket, no 商户号/手机号 asked again.
    clock.set(CLOSED_NOW)
    repair = repair_ticket(services)
    await ActionHandoff().run(dispatcher, handoff_tracker(domain, slots=KNOWN), domain)

    assert [t.number for t in services.tickets.list_for_sender("web", SENDER)] == [repair.number]
    assert texts(dispatcher) == [
        f"已为您转接人工客服，您的工单 {repair.number} 由客服接着处理。"
        "现在是非人工服务时间（人工客服在线 09:00-21:00），客服会在明天 09:00 上班后在这里回复您。\n"
        "您可以先留言补充情况，客服上线后会一并查看。"
    ]
    assert services.conversations.get_state(SENDER).handoff.ticket_number == repair.number
    notes = [e.data["body"] for e in services.tickets.events(repair.number) if e.type == "commented"]
    assert notes == ["商户要求转人工客服\n商户最后说：转人工"]


async def test_a_retried_handoff_notes_the_joined_ticket_once(services, domain, clock):
    from rasa_sdk.executor import CollectingDispatcher

    repair = repair_ticket(services)
    for _ in range(2):
        await ActionHandoff().run(CollectingDispatcher(), handoff_tracker(domain, slots=KNOWN), domain)
    assert [e.type for e in services.tickets.events(repair.number)].count("commented") == 1


async def test_an_urgent_handoff_raises_the_joined_ticket(services, domain, dispatcher, clock):
    repair = repair_ticket(services)
    tracker = handoff_tracker(
        domain, text="急死了 马上给我处理", intent="report_fault", slots={**KNOWN, "urgent": True}
    )
    await ActionHandoff().run(dispatcher, tracker, domain)
    assert services.tickets.get(repair.number).priority == "high"
    assert texts(dispatcher)[0].startswith(f"非常抱歉给您带来不好的体验😔 已为您转接人工客服，您的工单 {repair.number}")


async def test_a_resolved_ticket_is_not_joined(services, domain, dispatcher, clock):
    repair = repair_ticket(services)
    services.tickets.update(repair.number, TicketPatch(status="resolved"), actor="staff")
    await ActionHandoff().run(dispatcher, handoff_tracker(domain, slots=KNOWN), domain)
    numbers = {t.number: t.category for t in services.tickets.list_for_sender("web", SENDER)}
    assert len(numbers) == 2 and sorted(numbers.values()) == ["handoff", "repair"]


async def test_another_conversations_ticket_is_not_joined(services, domain, dispatcher, clock):
    repair_ticket(services, sender="web:someone-else")
    await ActionHandoff().run(dispatcher, handoff_tracker(domain, slots=KNOWN), domain)
    [ticket] = services.tickets.list_for_sender("web", SENDER)
    assert ticket.category == "handoff"


async def test_angry_merchant_gets_an_apology_and_a_high_priority_ticket(services, domain, dispatcher, clock):
    tracker = handoff_tracker(
        domain, text="什么垃圾机器 气死我了", intent="report_fault", slots={**KNOWN, "urgent": True}
    )
    await ActionHandoff().run(dispatcher, tracker, domain)
    [ticket] = services.tickets.list_for_sender("web", SENDER)
    assert ticket.priority == "high"
    assert ticket.description.startswith("商户情绪激动或情况紧急，已自动转人工\n商户最后说：什么垃圾机器 气死我了")
    assert texts(dispatcher)[0].startswith("非常抱歉给您带来不好的体验😔 已为您转接人工客服")
    assert services.conversations.get_state(SENDER).handoff.reason == "urgent"


async def test_handoff_in_the_middle_of_the_form_leaves_the_form(services, domain, dispatcher, clock):
    slots = {**KNOWN, "ticket_category": "repair", "description": "打印机不出纸", "requested_slot": "phone"}
    tracker = handoff_tracker(domain, slots=slots, active_loop="ticket_form")
    events = await ActionHandoff().run(dispatcher, tracker, domain)
    [ticket] = services.tickets.list_for_sender("web", SENDER)
    assert "问题描述：打印机不出纸" in ticket.description
    assert events[5:8] == [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("txn_date", None)]
    assert SlotSet("description", None) in events and SlotSet("merchant_id", None) not in events


async def test_retried_handoff_creates_one_ticket(services, domain, clock):
    from rasa_sdk.executor import CollectingDispatcher

    replies = []
    for _ in range(2):
        d = CollectingDispatcher()
        await ActionHandoff().run(d, handoff_tracker(domain, slots=KNOWN), domain)
        replies.append(texts(d))
    [ticket] = services.tickets.list_for_sender("web", SENDER)
    assert replies[0] == replies[1]  # the retry says the same, and notes nothing on its own ticket
    assert "commented" not in [e.type for e in services.tickets.events(ticket.number)]


async def test_wechat_conversation_keeps_its_channel(services, domain, dispatcher, clock):
    tracker = make_tracker(domain, text="转人工", intent="request_human", slots=KNOWN, sender_id="wechat:oAbC123")
    await ActionHandoff().run(dispatcher, tracker, domain)
    [ticket] = services.tickets.list_for_sender("wechat", "wechat:oAbC123")
    assert ticket.channel == "wechat"
    assert services.conversations.get_state("wechat:oAbC123").channel == "wechat"

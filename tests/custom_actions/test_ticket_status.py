"""action_check_ticket: private by default.

Its own conversation sees a ticket; a stranger who knows (or guesses) a number must prove
the phone on the ticket, and learns nothing from a guess; a merchant id alone lists
nothing; the host app's verified merchant identity shows that merchant's tickets. Lists
put unfinished tickets first and name each state as it is.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from rasa_sdk.events import SlotSet

from actions.tickets import ActionCheckTicket
from bot.tickets.schemas import TicketCreate, TicketPatch
from tests.custom_actions.helpers import SENDER, ents, make_tracker, texts

SH = ZoneInfo("Asia/Shanghai")
MERCHANT = "898310048161234"
PHONE = "13812345678"
STRANGER = "web:stranger-1"


def create(services, **overrides):
    data = {
        "category": "repair",
        "merchant_id": MERCHANT,
        "terminal_id": "21450093",
        "contact_phone": PHONE,
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


def ask(domain, text, *, sender=SENDER, intent="check_ticket", entities=None, slots=None, metadata=None):
    tracker = make_tracker(domain, text=text, intent=intent, entities=entities, slots=slots, sender_id=sender)
    if metadata is not None:
        tracker.latest_message["metadata"] = metadata
    return tracker


async def run(domain, dispatcher, tracker):
    return await ActionCheckTicket().run(dispatcher, tracker, domain)


def slot_values(events) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


# --- its own conversation -----------------------------------------------------------------


async def test_status_by_ticket_number(services, domain, dispatcher):
    t = create(services)
    t = services.tickets.update(t.number, TicketPatch(status="in_progress"), actor="staff")
    events = await run(domain, dispatcher, ask(domain, f"查一下 {t.number}", entities=ents(ticket_number=t.number)))
    assert texts(dispatcher) == [shown(t, "处理中")]
    assert events == [SlotSet("pending_question", None), SlotSet("helped", True), SlotSet("verify_ticket", None)]


async def test_pattern_match_wins_over_a_misread_span_from_diet(services, domain, dispatcher):
    t = create(services)
    misread = {"entity": "ticket_number", "value": t.number[:-1], "extractor": "DIETClassifier"}
    exact = {"entity": "ticket_number", "value": t.number, "extractor": "RegexEntityExtractor"}
    await run(domain, dispatcher, ask(domain, f"查一下 {t.number}", entities=[misread, exact]))
    assert texts(dispatcher) == [shown(t, "待处理")]


async def test_number_typed_in_lower_case_or_without_the_hyphen(services, domain, dispatcher):
    t = create(services)
    for typed in (f"工单号{t.number.lower()}", f"查 {t.number.replace('-', '')}", f"单号 {t.number.replace('-', ' ')}"):
        dispatcher.messages.clear()
        await run(domain, dispatcher, ask(domain, typed, intent="inform"))
        assert texts(dispatcher) == [shown(t, "待处理")], typed


async def test_resolution_is_shown_only_when_staff_sent_it_to_the_merchant(services, domain, dispatcher):
    internal = create(services)
    services.tickets.update(
        internal.number, TicketPatch(status="resolved", note="商户操作不当，已远程重置"), actor="staff"
    )
    told = create(services)
    services.tickets.update(
        told.number, TicketPatch(status="resolved", note="已寄出新纸卷", reply_to_merchant=True), actor="staff"
    )
    await run(domain, dispatcher, ask(domain, internal.number, entities=ents(ticket_number=internal.number)))
    await run(domain, dispatcher, ask(domain, told.number, entities=ents(ticket_number=told.number)))
    internal, told = services.tickets.get(internal.number), services.tickets.get(told.number)
    assert texts(dispatcher) == [shown(internal, "已解决"), shown(told, "已解决") + "\n· 处理结果：已寄出新纸卷"]


# --- a stranger --------------------------------------------------------------------------


async def test_a_number_from_another_conversation_needs_the_phone(services, domain, dispatcher):
    t = create(services)
    services.tickets.update(
        t.number, TicketPatch(status="resolved", note="已更换打印头", reply_to_merchant=True), actor="staff"
    )
    events = await run(
        domain,
        dispatcher,
        ask(domain, f"查一下工单 {t.number}", sender=STRANGER, entities=ents(ticket_number=t.number)),
    )
    assert texts(dispatcher) == [
        f"为了保护商户信息，查询工单 {t.number} 需要先核对一下身份：请发一下登记这张工单时留的手机号（11位）。"
    ]
    assert "已更换打印头" not in texts(dispatcher)[0] and "已解决" not in texts(dispatcher)[0]
    assert events == [SlotSet("pending_question", "verify_phone"), SlotSet("verify_ticket", t.number)]


async def test_a_guessed_number_gets_the_same_answer_as_a_real_one(services, domain, dispatcher):
    real = create(services)
    guess = real.number[:-1] + ("2" if real.number[-1] != "2" else "3")
    await run(domain, dispatcher, ask(domain, real.number, sender=STRANGER, entities=ents(ticket_number=real.number)))
    await run(domain, dispatcher, ask(domain, guess, sender=STRANGER, entities=ents(ticket_number=guess)))
    first, second = texts(dispatcher)
    assert first.replace(real.number, "N") == second.replace(guess, "N")


async def test_the_phone_on_the_ticket_shows_it_once_and_for_the_session(services, domain, dispatcher):
    t = create(services)
    waiting = {"pending_question": "verify_phone", "verify_ticket": t.number}
    events = await run(
        domain,
        dispatcher,
        ask(domain, PHONE, sender=STRANGER, intent="inform", entities=ents(phone=PHONE), slots=waiting),
    )
    assert texts(dispatcher) == [shown(t, "待处理")]
    assert slot_values(events)["verified_tickets"] == [t.number]
    # Asked again later in the session: no second phone check, and it is one of "my tickets".
    dispatcher.messages.clear()
    await run(
        domain,
        dispatcher,
        ask(
            domain,
            t.number,
            sender=STRANGER,
            entities=ents(ticket_number=t.number),
            slots={"verified_tickets": [t.number]},
        ),
    )
    assert texts(dispatcher) == [shown(t, "待处理")]
    dispatcher.messages.clear()
    await run(
        domain, dispatcher, ask(domain, "我的工单怎么样了", sender=STRANGER, slots={"verified_tickets": [t.number]})
    )
    assert texts(dispatcher) == ["您有 1 张工单还没处理完（1 张待处理）：\n\n" + shown(t, "待处理")]


async def test_a_wrong_phone_three_times_ends_with_how_to_check_safely(services, domain, dispatcher):
    t = create(services)
    slots = {"pending_question": "verify_phone", "verify_ticket": t.number}
    replies = []
    for wrong in ("13900000001", "13900000002", "13900000003"):
        dispatcher.messages.clear()
        events = await run(domain, dispatcher, ask(domain, wrong, sender=STRANGER, intent="inform", slots=slots))
        replies.append(texts(dispatcher)[0])
        slots = {**slots, **slot_values(events)}
    assert replies[0] == f"没有查到和这个手机号对应的工单 {t.number}，麻烦核对一下工单号和手机号再发一次～"
    assert replies[2].startswith("为了保护商户信息，这张工单暂时不能在这里查看。")
    assert slots["pending_question"] is None
    # The number again: no fourth try.
    dispatcher.messages.clear()
    await run(
        domain, dispatcher, ask(domain, t.number, sender=STRANGER, entities=ents(ticket_number=t.number), slots=slots)
    )
    assert texts(dispatcher)[0].startswith("为了保护商户信息，这张工单暂时不能在这里查看。")
    assert "待处理" not in texts(dispatcher)[0]


async def test_a_merchant_id_alone_lists_nothing(services, domain, dispatcher):
    create(services)
    create(services, category="settlement")
    events = await run(
        domain, dispatcher, ask(domain, f"查工单 {MERCHANT}", sender=STRANGER, entities=ents(merchant_id=MERCHANT))
    )
    [reply] = texts(dispatcher)
    assert not re.search(r"GD\d{8}", reply)
    assert reply.startswith("为了保护商户信息，按商户号（8983****1234）查全部工单需要先核对身份。")
    assert SlotSet("pending_question", "ticket_lookup") in events


async def test_the_app_verified_merchant_sees_their_tickets(services, domain, dispatcher):
    elsewhere = create(services, sender_id="wechat:oMerchant", channel="wechat")
    metadata = {"verified_merchant_id": MERCHANT}
    await run(
        domain,
        dispatcher,
        ask(
            domain, elsewhere.number, sender=STRANGER, entities=ents(ticket_number=elsewhere.number), metadata=metadata
        ),
    )
    assert texts(dispatcher) == [shown(elsewhere, "待处理")]
    dispatcher.messages.clear()
    await run(
        domain,
        dispatcher,
        ask(domain, f"查工单 {MERCHANT}", sender=STRANGER, entities=ents(merchant_id=MERCHANT), metadata=metadata),
    )
    assert elsewhere.number in texts(dispatcher)[0]
    # Another merchant's identity proves nothing about this one.
    dispatcher.messages.clear()
    await run(
        domain,
        dispatcher,
        ask(
            domain,
            elsewhere.number,
            sender=STRANGER,
            entities=ents(ticket_number=elsewhere.number),
            metadata={"verified_merchant_id": "111111111111111"},
        ),
    )
    assert texts(dispatcher)[0].startswith("为了保护商户信息")


async def test_metadata_that_is_not_a_merchant_id_is_ignored(services, domain, dispatcher):
    t = create(services)
    for metadata in (
        {"verified_merchant_id": MERCHANT + " "},
        {"verified_merchant_id": int(MERCHANT)},
        {"merchant_id": MERCHANT},
    ):
        dispatcher.messages.clear()
        await run(
            domain,
            dispatcher,
            ask(domain, t.number, sender=STRANGER, entities=ents(ticket_number=t.number), metadata=metadata),
        )
        assert texts(dispatcher)[0].startswith("为了保护商户信息"), metadata


# --- "我的工单怎么样了" ------------------------------------------------------------------------


async def test_my_tickets_lists_unfinished_first_with_matching_counts(services, domain, dispatcher):
    picked_up = create(services, description="读卡失败")
    services.tickets.update(picked_up.number, TicketPatch(status="in_progress"), actor="staff")
    done = create(services, category="activation")
    services.tickets.update(done.number, TicketPatch(status="resolved"), actor="staff")
    newer_waiting = create(services, category="settlement")
    create(services, sender_id="web:someone-else")  # not this conversation's
    await run(domain, dispatcher, ask(domain, "我的工单怎么样了"))
    picked_up, done, newer_waiting = (services.tickets.get(t.number) for t in (picked_up, done, newer_waiting))
    assert texts(dispatcher) == [
        "您有 2 张工单还没处理完（1 张处理中、1 张待处理）：\n\n"
        + shown(picked_up, "处理中")
        + "\n\n"
        + shown(newer_waiting, "待处理", "结算到账")
        + "\n\n最近处理完的工单：\n\n"
        + shown(done, "已解决", "开通激活")
    ]


async def test_my_tickets_says_when_more_are_not_listed(services, domain, dispatcher):
    for _ in range(6):
        create(services)
    await run(domain, dispatcher, ask(domain, "查工单"))
    [reply] = texts(dispatcher)
    assert reply.startswith("您有 6 张工单还没处理完（6 张待处理）：")
    assert reply.count("· 状态：待处理") == 5
    assert reply.endswith("还有 1 张更早的工单没有列出，发工单号可以单独查询。")


async def test_all_finished(services, domain, dispatcher):
    t = create(services, category="activation")
    services.tickets.update(t.number, TicketPatch(status="resolved"), actor="staff")
    t = services.tickets.update(t.number, TicketPatch(status="closed"), actor="staff")
    await run(domain, dispatcher, ask(domain, "查工单"))
    assert texts(dispatcher) == ["您的工单都已处理完，最近的：\n\n" + shown(t, "已关闭", "开通激活")]


async def test_asks_for_a_number_when_this_chat_has_none(services, domain, dispatcher):
    create(services, sender_id="web:someone-else")
    events = await run(domain, dispatcher, ask(domain, "查工单"))
    assert texts(dispatcher) == ["请发一下工单号（比如 GD20261125-K7M3Q9，在登记成功的消息里），我帮您查～"]
    assert events == [SlotSet("pending_question", "ticket_lookup")]


async def test_a_foreign_number_in_the_middle_of_the_form_waits_for_the_form(services, domain, dispatcher):
    t = create(services)
    tracker = make_tracker(
        domain,
        text=t.number,
        intent="check_ticket",
        entities=ents(ticket_number=t.number),
        sender_id=STRANGER,
        active_loop="ticket_form",
        slots={"requested_slot": "phone"},
    )
    events = await run(domain, dispatcher, tracker)
    assert texts(dispatcher) == [
        f"工单 {t.number} 需要先核对身份才能查看，等这张工单登记完，再发一次工单号我帮您核对～"
    ]
    assert events == []  # the form's phone question stays the open one


async def test_the_masked_phone_the_chat_sends_proves_the_ticket(services, domain, dispatcher):
    # Rasa only ever sees 138****5678: the action resolves it through this conversation's vault.
    t = create(services)
    services.vault.keep(STRANGER, PHONE)
    waiting = {"pending_question": "verify_phone", "verify_ticket": t.number}
    masked = "138****5678"
    events = await run(
        domain,
        dispatcher,
        ask(domain, masked, sender=STRANGER, intent="inform", entities=ents(phone=masked), slots=waiting),
    )
    assert texts(dispatcher) == [shown(t, "待处理")]
    assert slot_values(events)["verified_tickets"] == [t.number]

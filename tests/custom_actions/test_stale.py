"""action_stale_button: a button of an earlier question, clicked after later turns or a reload.

It answers for the question the button belonged to: the note names it, a vote goes to that
answer, an offer is made again for that problem with fresh buttons, and nothing acts on
today's state (the latest topic, a form in progress, a ticket already filed).
"""

from __future__ import annotations

import json
import time

from rasa_sdk.events import SlotSet

from actions.stale import ActionStaleButton
from actions.ticket_submit import submission_key
from bot.tickets.schemas import TicketCreate
from tests.custom_actions.helpers import SENDER, bot_event, make_tracker, step_of, texts, user_event

PRINTER = "fault-printer-no-paper"
SETTLEMENT = "settlement-not-arrived"


def payload(intent: str, **values) -> str:
    return f"/{intent}{json.dumps(values, ensure_ascii=False, separators=(',', ':'))}"


def late_click(domain, clicked: str, intent: str, history: list, slots: dict | None = None, active_loop=None):
    values = json.loads(clicked[clicked.index("{") :])
    entities = [{"entity": k, "value": v} for k, v in values.items()]
    events = history + [user_event(clicked, intent, entities)]
    return make_tracker(
        domain,
        text=clicked,
        intent=intent,
        entities=entities,
        slots={"stale_button": True, **(slots or {})},
        events=events,
        active_loop=active_loop,
    )


def two_answers(printer_question: str = "打印机不出纸怎么办"):
    """The printer answer with its buttons (step A), then a settlement answer (step B)."""
    a, b = "resolved-aaaaaa", "resolved-bbbbbb"
    history = [
        user_event(printer_question, "report_fault", ts=1.0),
        bot_event("您好，打印不出纸可以这样排查：…", ts=2.0),
        bot_event(
            "请先按上面的3个步骤试一试",
            [
                {"title": "解决了", "payload": payload("affirm", faq_id=PRINTER, step=a)},
                {"title": "试了还是不行", "payload": payload("deny", faq_id=PRINTER, step=a)},
            ],
            ts=3.0,
        ),
        user_event("昨天的钱没到账", "settlement_problem", ts=4.0),
        bot_event("到账时间和结算方式有关：…", ts=5.0),
        bot_event(
            "请先按上面的3个步骤试一试",
            [
                {"title": "解决了", "payload": payload("affirm", faq_id=SETTLEMENT, step=b)},
                {"title": "试了还是不行", "payload": payload("deny", faq_id=SETTLEMENT, step=b)},
            ],
            ts=6.0,
        ),
    ]
    return history, a, b


def slot_values(events) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_an_old_not_solved_offers_a_ticket_for_its_own_problem(services, domain, dispatcher):
    history, a, b = two_answers()
    tracker = late_click(
        domain,
        payload("deny", faq_id=PRINTER, step=a),
        "deny",
        history,
        slots={
            "faq_id": SETTLEMENT,
            "ticket_category": "settlement",
            "question_step": b,
            "faq_query": "昨天的钱没到账",
        },
    )
    events = await ActionStaleButton().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [
        "您点的是之前关于“打印机不出纸”的按钮～我可以帮您登记一张故障报修工单，由专人跟进处理。要登记吗？"
    ]
    buttons = dispatcher.messages[0]["buttons"]
    fresh = step_of(buttons[0])
    assert fresh not in (a, b) and fresh.startswith("ticket_offer-")
    values = slot_values(events)
    assert values["stale_button"] is None
    assert values["pending_question"] == "ticket_offer" and values["question_step"] == fresh
    assert values["ticket_category"] == "repair"
    assert values["problem"] == "打印机不出纸怎么办"  # what the merchant said about *that* problem
    assert values["faq_id"] == PRINTER
    summary = {f.faq_id: (f.up, f.down) for f in services.conversations.feedback_summary().faq}
    assert summary == {PRINTER: (0, 1)}


async def test_an_old_solved_is_recorded_and_the_current_question_stays_open(services, domain, dispatcher):
    history, a, b = two_answers()
    history.append({"event": "slot", "name": "pending_question", "value": "resolved"})
    tracker = late_click(
        domain, payload("affirm", faq_id=PRINTER, step=a), "affirm", history, slots={"question_step": b}
    )
    events = await ActionStaleButton().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["您点的是之前关于“打印机不出纸”的按钮～那个问题解决了就好😊 还有其他问题随时问我。"]
    assert events == [SlotSet("stale_button", None), SlotSet("pending_question", "resolved")]
    assert [(f.faq_id, f.up) for f in services.conversations.feedback_summary().faq] == [(PRINTER, 1)]


async def test_an_old_ticket_offer_is_made_again_with_fresh_buttons(services, domain, dispatcher):
    step = "ticket_offer-cccccc"
    history = [
        user_event("机器坏了怎么办", "report_fault", ts=1.0),
        bot_event(
            "抱歉，这个问题我暂时没找到答案😥",
            [
                {"title": "登记工单", "payload": payload("affirm", category="repair", step=step)},
            ],
            ts=2.0,
        ),
        user_event("费率多少", "ask_question", ts=3.0),
        bot_event("费率以您签约时约定的为准", ts=4.0),
    ]
    tracker = late_click(domain, payload("affirm", category="repair", step=step), "affirm", history)
    events = await ActionStaleButton().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [
        "您点的是之前一个问题的按钮～我可以帮您登记一张故障报修工单，由专人跟进处理。要登记吗？"
    ]
    values = slot_values(events)
    assert values["pending_question"] == "ticket_offer" and values["problem"] == "机器坏了怎么办"
    assert step_of(dispatcher.messages[0]["buttons"][0]) != step


async def test_an_old_no_thanks_changes_nothing(services, domain, dispatcher):
    history, a, b = two_answers()
    tracker = late_click(domain, payload("deny", category="repair", step="ticket_offer-dddddd"), "deny", history)
    events = await ActionStaleButton().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["您点的是之前一个问题的按钮～好的，那个就先不处理了。还有其他问题随时问我。"]
    assert events == [SlotSet("stale_button", None), SlotSet("pending_question", None)]


async def test_an_old_handoff_offer_asks_again(services, domain, dispatcher):
    tracker = late_click(domain, payload("affirm", step="handoff_offer-eeeeee"), "affirm", [])
    await ActionStaleButton().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["您点的是之前一个问题的按钮～要为您转人工客服吗？"]
    assert services.conversations.handoff_active(SENDER) is False  # nothing happened on its own


async def test_confirm_clicked_again_after_the_ticket_was_filed_names_the_ticket(services, domain, dispatcher):
    activation, step = 1700000000.0, "confirm-ffffff"
    history = [
        {"event": "active_loop", "name": "ticket_form", "timestamp": activation},
        bot_event(
            "请核对工单信息（故障报修）：…",
            [
                {"title": "确认提交", "payload": payload("affirm", step=step)},
            ],
            ts=activation + 50,
        ),
        user_event(payload("affirm", step=step), "affirm", ts=activation + 60),
        {"event": "active_loop", "name": None, "timestamp": activation + 61},
        bot_event("工单已提交 ✅", ts=activation + 62),
    ]
    tracker = late_click(domain, payload("affirm", step=step), "affirm", history)
    filed = services.tickets.create(
        TicketCreate(
            category="repair",
            merchant_id="898310048161234",
            terminal_id="21450093",
            contact_phone="13812345678",
            description="打印机不出纸",
            channel="web",
            sender_id=SENDER,
        ),
        idempotency_key=submission_key(tracker, str(activation)),
    )
    await ActionStaleButton().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [
        f"那次登记已经提交过了，工单号 {filed.number}。想看进度，随时发“查工单 {filed.number}”。"
    ]
    assert len(services.tickets.list_for_sender("web", SENDER)) == 1  # no second ticket


async def test_confirm_of_a_cancelled_form_says_it_is_over(services, domain, dispatcher):
    step = "confirm-gggggg"
    history = [
        {"event": "active_loop", "name": "ticket_form", "timestamp": time.time() - 100},
        bot_event("请核对工单信息", [{"title": "确认提交", "payload": payload("affirm", step=step)}]),
        {"event": "active_loop", "name": None},
    ]
    await ActionStaleButton().run(
        dispatcher, late_click(domain, payload("affirm", step=step), "affirm", history), domain
    )
    assert texts(dispatcher) == ["那次登记已经结束了。需要登记工单的话，直接说说遇到的问题就行～"]
    assert services.tickets.list_for_sender("web", SENDER) == []


async def test_inside_the_form_an_old_answer_button_leaves_the_form_alone(services, domain, dispatcher):
    history, a, _ = two_answers()
    tracker = late_click(
        domain,
        payload("deny", faq_id=PRINTER, step=a),
        "deny",
        history,
        active_loop="ticket_form",
        slots={"requested_slot": "phone", "merchant_id": "898310048161234"},
    )
    events = await ActionStaleButton().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [
        "您点的是之前关于“打印机不出纸”的按钮～我们正在登记工单，先把这张填完，那个问题可以写进问题描述里。"
    ]
    assert set(slot_values(events)) == {"stale_button", "pending_question"}  # no slot of the form touched


async def test_inside_the_form_an_earlier_step_says_so(services, domain, dispatcher):
    tracker = late_click(domain, payload("affirm", step="confirm-hhhhhh"), "affirm", [], active_loop="ticket_form")
    await ActionStaleButton().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["您点的是前面一步的按钮～我们接着填这张工单："]


async def test_inside_the_form_a_rating_is_recorded_once(services, domain, dispatcher):
    for _ in range(2):
        tracker = late_click(
            domain,
            payload("give_feedback", rating="4", step="rating-iiiiii"),
            "give_feedback",
            [],
            active_loop="ticket_form",
        )
        await ActionStaleButton().run(dispatcher, tracker, domain)
    assert texts(dispatcher)[0] == "收到您的反馈，谢谢～我们接着登记工单。"
    assert services.conversations.feedback_summary().ratings["4"] == 1

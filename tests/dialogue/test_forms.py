"""The ticket form: start, validation (re-asks, the two-miss explanation), confirmation, edits,
submission of a real ticket, cancellation, and the form's questions."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest
from rasa_sdk.events import ActionExecutionRejected, ActiveLoop, SlotSet

from actions.forms import (
    ActionAskEditField,
    ActionAskMerchantId,
    ActionAskTicketConfirm,
    ActionAskTicketContinue,
    ActionCancelForm,
    ActionStartTicketForm,
    ActionSubmitTicket,
    ValidateTicketForm,
)
from tests.dialogue.helpers import SENDER, bot_event, make_tracker, texts, user_event

MERCHANT = "898310048161234"
TERMINAL = "21450093"
PHONE = "13812345678"
FILLED = {"merchant_id": MERCHANT, "terminal_id": TERMINAL, "phone": PHONE, "description": "打印机不出纸"}
FORM_EVENTS_RESET = [
    "merchant_id",
    "terminal_id",
    "device_serial",
    "phone",
    "txn_date",
    "amount",
    "description",
    "ticket_category",
    "ticket_confirm",
    "ticket_continue",
    "edit_field",
    "ticket_editing",
    "form_paused_field",
    "invalid_attempts",
]


def form_tracker(domain, *, requested: str | None, candidates: dict, slots: dict | None = None, text: str = "", intent="inform"):
    """What Rasa's FormAction sends to validate_ticket_form: the slot candidates come last."""
    base = {"ticket_category": "repair", "requested_slot": requested, **(slots or {})}
    events = [
        {"event": "action", "name": "action_listen", "timestamp": time.time()},
        user_event(text, intent),
        {"event": "slot", "name": "requested_slot", "value": requested, "timestamp": time.time()},
        {"event": "action", "name": "ticket_form", "timestamp": time.time()},
    ] + [{"event": "slot", "name": k, "value": v, "timestamp": time.time()} for k, v in candidates.items()]
    return make_tracker(
        domain, text=text, intent=intent, slots={**base, **candidates}, events=events, active_loop="ticket_form"
    )


async def validate(domain, dispatcher, **kwargs):
    return await ValidateTicketForm().run(dispatcher, form_tracker(domain, **kwargs), domain)


# --- start -------------------------------------------------------------------------------


async def test_start_prefills_the_description_from_the_first_question(services, domain, dispatcher):
    tracker = make_tracker(
        domain,
        text="好的",
        intent="affirm",
        slots={"pending_question": "ticket_offer", "ticket_category": "repair", "faq_query": "打印机不出纸"},
    )
    events = await ActionStartTicketForm().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [
        "好的，我来帮您登记故障报修工单，需要几项信息，之前告诉过我的就不用再说了。中途说“取消”可以随时退出。"
    ]
    assert events == [
        SlotSet("pending_question", None),
        SlotSet("ticket_category", "repair"),
        SlotSet("ticket_confirm", None),
        SlotSet("ticket_continue", None),
        SlotSet("edit_field", None),
        SlotSet("ticket_editing", None),
        SlotSet("form_paused_field", None),
        SlotSet("invalid_attempts", None),
        SlotSet("description", "打印机不出纸"),
    ]


# --- which questions -------------------------------------------------------------------


@pytest.mark.parametrize(
    "slots, expected",
    [
        ({"ticket_category": "repair"}, ["merchant_id", "terminal_id", "phone", "description", "ticket_confirm"]),
        ({"ticket_category": "activation"}, ["merchant_id", "terminal_id", "phone", "description", "ticket_confirm"]),
        (
            {"ticket_category": "settlement"},
            ["merchant_id", "terminal_id", "phone", "txn_date", "amount", "description", "ticket_confirm"],
        ),
        (
            {"ticket_category": "repair", "device_serial": "N910SN00123456"},
            ["merchant_id", "device_serial", "phone", "description", "ticket_confirm"],
        ),
        (
            {"ticket_category": "repair", "form_paused_field": "phone"},
            ["ticket_continue", "merchant_id", "terminal_id", "phone", "description", "ticket_confirm"],
        ),
        (
            {"ticket_category": "repair", "ticket_editing": True},
            ["merchant_id", "terminal_id", "phone", "description", "edit_field", "ticket_confirm"],
        ),
        ({"ticket_category": "repair", "ticket_continue": "no"}, []),
    ],
)
async def test_required_slots(domain, dispatcher, slots, expected):
    tracker = make_tracker(domain, slots=slots, active_loop="ticket_form")
    assert await ValidateTicketForm().required_slots([], dispatcher, tracker, domain) == expected


async def test_values_given_earlier_are_reused(services, domain, dispatcher):
    # At activation Rasa validates the pre-filled slots; only the phone is left to ask.
    events = await validate(
        domain,
        dispatcher,
        requested=None,
        candidates={"merchant_id": MERCHANT, "terminal_id": TERMINAL, "description": "打印机不出纸"},
    )
    assert events == [
        SlotSet("merchant_id", MERCHANT),
        SlotSet("terminal_id", TERMINAL),
        SlotSet("description", "打印机不出纸"),
        SlotSet("requested_slot", "phone"),
    ]
    assert dispatcher.messages == []


# --- validation --------------------------------------------------------------------------


async def test_invalid_merchant_id_is_re_asked_naming_the_problem(services, domain, dispatcher):
    events = await validate(domain, dispatcher, requested="merchant_id", candidates={"merchant_id": "12345"}, text="12345")
    assert texts(dispatcher) == ["商户号是15位数字，您发的是5位，请再发一次～"]
    assert events == [
        SlotSet("merchant_id", None),
        SlotSet("invalid_attempts", {"merchant_id": 1}),
        SlotSet("requested_slot", "merchant_id"),
    ]


async def test_second_invalid_answer_explains_where_to_find_it_and_asks_to_continue(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="merchant_id",
        candidates={"merchant_id": "不知道"},
        slots={"invalid_attempts": {"merchant_id": 1}},
        text="不知道",
    )
    assert texts(dispatcher) == [
        "没有看到数字哦，商户号是15位数字。\n"
        "商户号印在签购单（刷卡小票）最上方的“商户编号”一栏；商户App“我的/商户信息”里也能看到。"
    ]
    assert events == [
        SlotSet("merchant_id", None),
        SlotSet("invalid_attempts", None),
        SlotSet("form_paused_field", "merchant_id"),
        SlotSet("requested_slot", "ticket_continue"),
    ]


async def test_second_invalid_terminal_id_mentions_the_serial_label(services, domain, dispatcher):
    await validate(
        domain,
        dispatcher,
        requested="terminal_id",
        candidates={"terminal_id": "123"},
        slots={"merchant_id": MERCHANT, "invalid_attempts": {"terminal_id": 1}},
        text="123",
    )
    assert texts(dispatcher) == [
        "终端号是8位数字，您发的是3位。\n"
        "终端号印在签购单最上方、商户编号下面的“终端编号”一栏；没有签购单的话，也可以发机身背面标签上的SN序列号。"
    ]


async def test_continue_after_the_explanation_re_asks_the_field(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="ticket_continue",
        candidates={"ticket_continue": "yes"},
        slots={"form_paused_field": "merchant_id"},
        intent="affirm",
    )
    assert texts(dispatcher) == ["好的，我们继续～"]
    assert events == [
        SlotSet("ticket_continue", None),
        SlotSet("form_paused_field", None),
        SlotSet("requested_slot", "merchant_id"),
    ]


async def test_stop_after_the_explanation_ends_the_form(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="ticket_continue",
        candidates={"ticket_continue": "no"},
        slots={"form_paused_field": "merchant_id"},
        intent="deny",
    )
    assert events == [SlotSet("requested_slot", None)]
    assert dispatcher.messages == []


async def test_right_value_while_paused_resumes_the_form(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="ticket_continue",
        candidates={"merchant_id": MERCHANT},
        slots={"form_paused_field": "merchant_id"},
    )
    assert events == [
        SlotSet("merchant_id", MERCHANT),
        SlotSet("form_paused_field", None),
        SlotSet("requested_slot", "terminal_id"),
    ]


async def test_serial_number_instead_of_terminal_id(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="terminal_id",
        candidates={"terminal_id": "SN: N910SN00123456"},
        slots={"merchant_id": MERCHANT},
    )
    assert dispatcher.messages == []
    assert events == [
        SlotSet("terminal_id", None),
        SlotSet("device_serial", "N910SN00123456"),
        SlotSet("requested_slot", "phone"),
    ]


async def test_invalid_phone(services, domain, dispatcher):
    events = await validate(
        domain, dispatcher, requested="phone", candidates={"phone": "12345678901"}, slots={"merchant_id": MERCHANT, "terminal_id": TERMINAL}
    )
    assert texts(dispatcher) == ["手机号应该是1开头、第二位是3到9的11位号码，请再发一次～"]
    assert events[-1] == SlotSet("requested_slot", "phone")


async def test_settlement_date_is_parsed_in_shanghai_time(services, domain, dispatcher, clock):
    slots = {"ticket_category": "settlement", "merchant_id": MERCHANT, "terminal_id": TERMINAL, "phone": PHONE}
    events = await validate(domain, dispatcher, requested="txn_date", candidates={"txn_date": "昨天"}, slots=slots)
    assert events == [SlotSet("txn_date", "2026-11-24"), SlotSet("requested_slot", "amount")]
    dispatcher.messages.clear()
    events = await validate(domain, dispatcher, requested="txn_date", candidates={"txn_date": "明天"}, slots=slots)
    assert texts(dispatcher) == ["交易日期不能晚于今天，请再发一次～"]
    assert events[0] == SlotSet("txn_date", None)


async def test_settlement_amount(services, domain, dispatcher, clock):
    slots = {"ticket_category": "settlement", "merchant_id": MERCHANT, "terminal_id": TERMINAL, "phone": PHONE, "txn_date": "2026-11-24"}
    events = await validate(domain, dispatcher, requested="amount", candidates={"amount": "三千二百块"}, slots=slots)
    assert events == [SlotSet("amount", "3200.00"), SlotSet("requested_slot", "description")]
    dispatcher.messages.clear()
    events = await validate(domain, dispatcher, requested="amount", candidates={"amount": "-20"}, slots=slots)
    assert texts(dispatcher) == ["金额要大于0，请再发一次～"]
    assert events == [
        SlotSet("amount", None),
        SlotSet("invalid_attempts", {"amount": 1}),
        SlotSet("requested_slot", "amount"),
    ]


async def test_confirm_edit_and_pick_a_field(services, domain, dispatcher):
    slots = dict(FILLED)
    events = await validate(domain, dispatcher, requested="ticket_confirm", candidates={"ticket_confirm": "edit"}, slots=slots, intent="deny")
    assert events == [
        SlotSet("ticket_confirm", None),
        SlotSet("ticket_editing", True),
        SlotSet("requested_slot", "edit_field"),
    ]
    events = await validate(
        domain,
        dispatcher,
        requested="edit_field",
        candidates={"edit_field": "phone"},
        slots={**slots, "ticket_editing": True},
        text='/inform{"edit_field":"phone"}',
    )
    assert events == [
        SlotSet("edit_field", None),
        SlotSet("ticket_editing", None),
        SlotSet("phone", None),
        SlotSet("requested_slot", "phone"),
    ]


async def test_confirm_with_a_typed_correction_names_the_field(services, domain, dispatcher):
    events = await validate(
        domain, dispatcher, requested="ticket_confirm", candidates={"ticket_confirm": "终端号写错了"}, slots=dict(FILLED)
    )
    assert texts(dispatcher) == ["好的，我们重新填一下终端号/序列号。"]
    assert events == [
        SlotSet("ticket_confirm", None),
        SlotSet("terminal_id", None),
        SlotSet("device_serial", None),
        SlotSet("requested_slot", "terminal_id"),
    ]


async def test_confirm_yes_finishes_the_form(services, domain, dispatcher):
    events = await validate(
        domain, dispatcher, requested="ticket_confirm", candidates={"ticket_confirm": "yes"}, slots=dict(FILLED), intent="affirm"
    )
    assert events == [SlotSet("ticket_confirm", "yes"), SlotSet("requested_slot", None)]


async def test_urgent_message_rejects_the_form_so_a_person_takes_over(services, domain, dispatcher):
    events = await validate(
        domain, dispatcher, requested="phone", candidates={"phone": "急死了"}, slots={"urgent": True, **FILLED, "phone": None}
    )
    assert events == [ActionExecutionRejected("ticket_form")]


# --- questions ---------------------------------------------------------------------------


async def test_ask_merchant_id(services, domain, dispatcher):
    tracker = make_tracker(domain, active_loop="ticket_form")
    assert await ActionAskMerchantId().run(dispatcher, tracker, domain) == []
    assert texts(dispatcher) == ["请提供您的15位商户号（印在签购单最上方）："]


async def test_ask_is_skipped_right_after_the_validator_complained(services, domain, dispatcher):
    events = [
        user_event("12345", "inform"),
        {"event": "action", "name": "ticket_form", "timestamp": time.time()},
        {"event": "slot", "name": "merchant_id", "value": "12345", "timestamp": time.time()},
        bot_event("商户号是15位数字，您发的是5位，请再发一次～"),
        {"event": "slot", "name": "invalid_attempts", "value": {"merchant_id": 1}, "timestamp": time.time()},
    ]
    tracker = make_tracker(domain, events=events, slots={"invalid_attempts": {"merchant_id": 1}}, active_loop="ticket_form")
    await ActionAskMerchantId().run(dispatcher, tracker, domain)
    assert dispatcher.messages == []


async def test_ask_after_a_question_in_between_asks_again(services, domain, dispatcher):
    # The merchant answered wrongly once, then asked a question: the form must ask again.
    events = [
        user_event("商户号在哪里看", "ask_question"),
        bot_event("……（我们接着登记工单～）"),
        {"event": "action", "name": "ticket_form", "timestamp": time.time()},
        {"event": "slot", "name": "requested_slot", "value": "merchant_id", "timestamp": time.time()},
    ]
    tracker = make_tracker(domain, events=events, slots={"invalid_attempts": {"merchant_id": 1}}, active_loop="ticket_form")
    await ActionAskMerchantId().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["请提供您的15位商户号（印在签购单最上方）："]


async def test_ask_ticket_continue(services, domain, dispatcher):
    await ActionAskTicketContinue().run(dispatcher, make_tracker(domain), domain)
    assert texts(dispatcher) == ["还要继续登记工单吗？"]
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "继续登记", "payload": "/affirm"},
        {"title": "先不登记了", "payload": "/deny"},
    ]


async def test_confirmation_shows_everything_back(services, domain, dispatcher):
    slots = {
        "ticket_category": "settlement",
        "merchant_id": MERCHANT,
        "device_serial": "N910SN00123456",
        "phone": PHONE,
        "txn_date": "2026-11-24",
        "amount": "3200.00",
        "description": "昨天的款没到账",
    }
    await ActionAskTicketConfirm().run(dispatcher, make_tracker(domain, slots=slots), domain)
    assert texts(dispatcher) == [
        "请核对工单信息（结算到账）：\n"
        "· 商户号：898310048161234\n"
        "· 设备序列号：N910SN00123456\n"
        "· 联系手机：13812345678\n"
        "· 交易日期：2026-11-24\n"
        "· 交易金额：3200.00 元\n"
        "· 问题描述：昨天的款没到账\n"
        "没问题请点“确认提交”；需要改就点“修改”。"
    ]
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "确认提交", "payload": "/affirm"},
        {"title": "修改", "payload": "/deny"},
        {"title": "取消", "payload": "/cancel"},
    ]


async def test_ask_edit_field_offers_the_category_fields(services, domain, dispatcher):
    await ActionAskEditField().run(dispatcher, make_tracker(domain, slots={"ticket_category": "repair"}), domain)
    assert texts(dispatcher) == ["请问要修改哪一项？"]
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == ["商户号", "终端号/序列号", "手机号", "问题描述"]
    assert dispatcher.messages[0]["buttons"][2]["payload"] == '/inform{"edit_field":"phone"}'


# --- submit and cancel -------------------------------------------------------------------


def submit_tracker(domain, slots, activation_ts=1700000000.0):
    events = [
        user_event("打印机不出纸", "report_fault", ts=activation_ts - 30),
        bot_event("问题解决了吗？", [{"title": "没解决", "payload": "/deny"}], ts=activation_ts - 20),
        user_event("/deny", "deny", ts=activation_ts - 10),
        bot_event("要登记吗？", ts=activation_ts - 5),
        {"event": "active_loop", "name": "ticket_form", "timestamp": activation_ts},
        user_event("确认", "affirm", ts=activation_ts + 60),
        {"event": "active_loop", "name": None, "timestamp": activation_ts + 61},
    ]
    return make_tracker(domain, text="确认", intent="affirm", slots=slots, events=events)


async def test_submit_creates_the_ticket_with_the_transcript(services, domain, dispatcher, clock):
    slots = {**FILLED, "ticket_category": "repair", "ticket_confirm": "yes", "fault_type": "printer"}
    events = await ActionSubmitTicket().run(dispatcher, submit_tracker(domain, slots), domain)

    mine = services.tickets.list_for_sender("web", SENDER)
    assert len(mine) == 1
    t = mine[0]
    assert t.number.startswith("GD") and t.category == "repair" and t.status == "open"
    assert (t.merchant_id, t.terminal_id, t.device_serial, t.contact_phone) == (MERCHANT, TERMINAL, None, PHONE)
    assert t.description == "打印机不出纸（故障类型：printer）"
    assert t.channel == "web" and t.sender_id == SENDER
    assert [(line["role"], line["text"]) for line in t.transcript] == [
        ("user", "打印机不出纸"),
        ("bot", "问题解决了吗？"),
        ("user", "[点击] 没解决"),
        ("bot", "要登记吗？"),
        ("user", "确认"),
    ]
    assert texts(dispatcher) == [
        f"工单已提交 ✅\n工单号：{t.number}\n接下来：\n"
        "1. 技术客服会先电话帮您远程排查，需要上门或换机会和您约时间，会通过 138****5678 联系您；\n"
        f"2. 想看进度，随时发“查工单 {t.number}”；\n"
        "3. 处理完成后，我会在这里通知您。"
    ]
    assert events == [
        SlotSet("last_ticket_number", t.number),
        SlotSet("helped", True),
        SlotSet("pending_question", None),
        SlotSet("txn_date", None),
        SlotSet("amount", None),
        SlotSet("description", None),
        SlotSet("ticket_category", None),
        SlotSet("ticket_confirm", None),
        SlotSet("ticket_continue", None),
        SlotSet("edit_field", None),
        SlotSet("ticket_editing", None),
        SlotSet("form_paused_field", None),
        SlotSet("invalid_attempts", None),
    ]


async def test_retried_submit_creates_one_ticket(services, domain, clock):
    from rasa_sdk.executor import CollectingDispatcher

    slots = {**FILLED, "ticket_category": "repair", "ticket_confirm": "yes"}
    first, second = CollectingDispatcher(), CollectingDispatcher()
    await ActionSubmitTicket().run(first, submit_tracker(domain, slots), domain)
    await ActionSubmitTicket().run(second, submit_tracker(domain, slots), domain)
    assert len(services.tickets.list_for_sender("web", SENDER)) == 1
    assert texts(first) == texts(second)
    # A new form instance (activated later) is a new ticket.
    await ActionSubmitTicket().run(CollectingDispatcher(), submit_tracker(domain, slots, 1700000999.0), domain)
    assert len(services.tickets.list_for_sender("web", SENDER)) == 2


async def test_submit_settlement_ticket_with_date_and_amount(services, domain, dispatcher, clock):
    slots = {
        **FILLED,
        "terminal_id": None,
        "device_serial": "N910SN00123456",
        "ticket_category": "settlement",
        "txn_date": "2026-11-24",
        "amount": "3200.00",
        "description": "昨天的款没到账",
        "ticket_confirm": "yes",
    }
    await ActionSubmitTicket().run(dispatcher, submit_tracker(domain, slots), domain)
    t = services.tickets.list_for_sender("web", SENDER)[0]
    assert t.category == "settlement"
    assert t.device_serial == "N910SN00123456" and t.terminal_id is None
    assert t.settlement_date == date(2026, 11, 24)
    assert t.settlement_amount == Decimal("3200.00")
    assert "结算专员会核实这笔交易的清算和出款情况" in texts(dispatcher)[0]


async def test_submit_after_the_merchant_stopped_creates_nothing(services, domain, dispatcher):
    slots = {"merchant_id": None, "ticket_category": "repair", "ticket_continue": "no", "form_paused_field": "merchant_id"}
    events = await ActionSubmitTicket().run(dispatcher, submit_tracker(domain, slots), domain)
    assert services.tickets.list_for_sender("web", SENDER) == []
    assert texts(dispatcher) == ["好的，这次先不登记了。找到信息后随时再找我，也可以说“转人工”让客服帮您。"]
    assert events == [SlotSet(name, None) for name in FORM_EVENTS_RESET]


async def test_cancel_leaves_the_form_cleanly(services, domain, dispatcher):
    tracker = make_tracker(domain, text="取消", intent="cancel", slots=dict(FILLED), active_loop="ticket_form")
    events = await ActionCancelForm().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["好的，已取消这次工单登记，填写的信息已清除。还有其他问题随时问我～"]
    assert events == [ActiveLoop(None), SlotSet("requested_slot", None)] + [
        SlotSet(name, None) for name in FORM_EVENTS_RESET
    ]
    assert services.tickets.list_for_sender("web", SENDER) == []

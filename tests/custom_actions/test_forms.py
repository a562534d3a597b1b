"""The ticket form: start, validation (re-asks, the two-miss explanation), confirmation, edits,
submission of a real ticket, cancellation, and the form's questions.

The "slips" tests play what a merchant really does: a digit too many or too few at each
step, a phone number where the merchant id is asked, a value typed instead of clicking
继续登记, a change they take back. Each asserts what the merchant would notice: which
messages they read, and that nothing they gave before is lost.
"""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest
from rasa_sdk.events import ActionExecutionRejected, ActiveLoop, SlotSet

from actions.ticket_form import ActionStartTicketForm, ValidateTicketForm
from actions.ticket_questions import (
    ActionAskEditField,
    ActionAskMerchantId,
    ActionAskPhone,
    ActionAskTicketConfirm,
    ActionAskTicketContinue,
)
from actions.ticket_submit import ActionCancelForm, ActionSubmitTicket
from tests.custom_actions.helpers import SENDER, bot_event, make_tracker, step_of, texts, user_event

MERCHANT = "898310048161234"
TERMINAL = "21450093"
PHONE = "13812345678"
# What the phone slot holds (and Rasa stores): the chat masks the number; the vault keeps it for the ticket.
PHONE_SLOT = "138****5678"
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
    "edit_backup",
    "form_paused_field",
    "form_reasked",
    "invalid_attempts",
]
ASK_MERCHANT = "请提供您的15位商户号（印在签购单最上方）："


def form_tracker(
    domain, *, requested: str | None, candidates: dict, slots: dict | None = None, text: str = "", intent="inform"
):
    """What Rasa's FormAction sends to validate_ticket_form.

    The slots accepted before this message are SlotSet events before it (so the form knows
    what a candidate would replace); this message's candidates come last.
    """
    base = {"ticket_category": "repair", "requested_slot": requested, **(slots or {})}
    now = time.time()
    before = [{"event": "slot", "name": k, "value": v, "timestamp": now - 10} for k, v in base.items() if v is not None]
    events = (
        before
        + [
            {"event": "action", "name": "action_listen", "timestamp": now},
            user_event(text, intent),
            {"event": "slot", "name": "requested_slot", "value": requested, "timestamp": now},
            {"event": "action", "name": "ticket_form", "timestamp": now},
        ]
        + [{"event": "slot", "name": k, "value": v, "timestamp": now} for k, v in candidates.items()]
    )
    return make_tracker(
        domain, text=text, intent=intent, slots={**base, **candidates}, events=events, active_loop="ticket_form"
    )


async def validate(domain, dispatcher, **kwargs):
    return await ValidateTicketForm().run(dispatcher, form_tracker(domain, **kwargs), domain)


def slot_values(events) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


# --- start -------------------------------------------------------------------------------


async def test_start_prefills_the_description_from_the_problem_the_merchant_chose(services, domain, dispatcher):
    # They typed something vague, then clicked the suggestion "刷卡提示读卡失败怎么办？":
    # the clicked problem describes the ticket, not the last typed words.
    tracker = make_tracker(
        domain,
        text="/affirm",
        intent="affirm",
        slots={
            "pending_question": "ticket_offer",
            "ticket_category": "repair",
            "faq_query": "我的机器有点问题",
            "problem": "刷卡提示读卡失败",
        },
    )
    events = await ActionStartTicketForm().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [
        "好的，我来帮您登记故障报修工单，需要几项信息，之前告诉过我的就不用再说了。中途说“取消”可以随时退出。"
    ]
    assert events[:2] == [SlotSet("pending_question", None), SlotSet("ticket_category", "repair")]
    assert events[-1] == SlotSet("description", "刷卡提示读卡失败")
    assert SlotSet("invalid_attempts", None) in events and SlotSet("edit_backup", None) in events


async def test_start_uses_the_typed_question_when_nothing_was_chosen(services, domain, dispatcher):
    tracker = make_tracker(
        domain, text="好的", intent="affirm", slots={"ticket_category": "repair", "faq_query": "打印机不出纸"}
    )
    events = await ActionStartTicketForm().run(dispatcher, tracker, domain)
    assert events[-1] == SlotSet("description", "打印机不出纸")


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


async def test_a_wrong_value_from_before_the_form_is_simply_asked_for(services, domain, dispatcher):
    # NLU once read 12 digits as a merchant id: at activation that is no reason to scold anyone.
    events = await validate(domain, dispatcher, requested=None, candidates={"merchant_id": "123456789012"})
    assert events == [SlotSet("merchant_id", None), SlotSet("requested_slot", "merchant_id")]
    assert dispatcher.messages == []


# --- validation --------------------------------------------------------------------------


async def test_invalid_merchant_id_is_re_asked_naming_the_problem(services, domain, dispatcher):
    events = await validate(
        domain, dispatcher, requested="merchant_id", candidates={"merchant_id": "12345"}, text="12345"
    )
    assert texts(dispatcher) == ["商户号是15位数字，您发的是5位，请再发一次～"]
    assert events == [
        SlotSet("merchant_id", None),
        SlotSet("invalid_attempts", {"merchant_id": 1}),
        SlotSet("form_reasked", "merchant_id"),
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
        "商户号印在签购单（刷卡小票）最上方的“商户编号”一栏；商户App“我的/商户信息”里也能看到。\n"
        "找到了直接发给我就行；暂时找不到的话，也可以先不登记。"
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
    assert texts(dispatcher)[0].startswith(
        "终端号是8位数字，您发的是3位。\n"
        "终端号印在签购单最上方、商户编号下面的“终端编号”一栏；没有签购单的话，也可以发机身背面标签上的SN序列号。"
    )


async def test_continue_after_the_explanation_re_asks_the_field(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="ticket_continue",
        candidates={"ticket_continue": "yes"},
        slots={"form_paused_field": "merchant_id"},
        intent="affirm",
        text="继续",
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
        text="先不登记了",
    )
    # The candidate "no" stays set (Rasa applied it); the form ends and creates nothing.
    assert events == [SlotSet("requested_slot", None)]
    assert dispatcher.messages == []


async def test_right_value_while_paused_resumes_the_form(services, domain, dispatcher):
    # The merchant types the merchant id instead of clicking 继续登记.
    events = await validate(
        domain,
        dispatcher,
        requested="ticket_continue",
        candidates={"merchant_id": MERCHANT, "ticket_continue": MERCHANT},
        slots={"form_paused_field": "merchant_id"},
        text=MERCHANT,
    )
    assert dispatcher.messages == []
    assert slot_values(events)["merchant_id"] == MERCHANT
    assert slot_values(events)["form_paused_field"] is None
    assert events[-1] == SlotSet("requested_slot", "terminal_id")


async def test_value_typed_while_paused_is_read_even_when_nlu_found_no_entity(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="ticket_continue",
        candidates={"ticket_continue": "8983 1004 8161 234"},
        slots={"form_paused_field": "merchant_id"},
        text="8983 1004 8161 234",
    )
    assert dispatcher.messages == []
    assert slot_values(events)["merchant_id"] == MERCHANT
    assert events[-1] == SlotSet("requested_slot", "terminal_id")


async def test_another_wrong_number_while_paused_says_what_is_wrong(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="ticket_continue",
        candidates={"ticket_continue": "8983100481612"},
        slots={"form_paused_field": "merchant_id"},
        text="8983100481612",
    )
    assert texts(dispatcher) == ["商户号是15位数字，您发的是13位。"]
    assert events == [SlotSet("ticket_continue", None), SlotSet("requested_slot", "ticket_continue")]


async def test_serial_number_instead_of_terminal_id(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="terminal_id",
        candidates={"terminal_id": "SN: N910SN00123456"},
        slots={"merchant_id": MERCHANT},
        text="SN: N910SN00123456",
    )
    assert dispatcher.messages == []
    assert events == [
        SlotSet("terminal_id", None),
        SlotSet("device_serial", "N910SN00123456"),
        SlotSet("requested_slot", "phone"),
    ]


async def test_invalid_phone(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="phone",
        candidates={"phone": "12345678901"},
        slots={"merchant_id": MERCHANT, "terminal_id": TERMINAL},
        text="12345678901",
    )
    assert texts(dispatcher) == ["手机号应该是1开头、第二位是3到9的11位号码，请再发一次～"]
    assert events[-1] == SlotSet("requested_slot", "phone")


async def test_settlement_date_is_parsed_in_shanghai_time(services, domain, dispatcher, clock):
    slots = {"ticket_category": "settlement", "merchant_id": MERCHANT, "terminal_id": TERMINAL, "phone": PHONE}
    events = await validate(
        domain, dispatcher, requested="txn_date", candidates={"txn_date": "昨天"}, slots=slots, text="昨天"
    )
    assert events == [SlotSet("txn_date", "2026-11-24"), SlotSet("requested_slot", "amount")]
    dispatcher.messages.clear()
    events = await validate(
        domain, dispatcher, requested="txn_date", candidates={"txn_date": "明天"}, slots=slots, text="明天"
    )
    assert texts(dispatcher) == ["交易日期不能晚于今天，请再发一次～"]
    assert events[0] == SlotSet("txn_date", None)


async def test_settlement_amount(services, domain, dispatcher, clock):
    slots = {
        "ticket_category": "settlement",
        "merchant_id": MERCHANT,
        "terminal_id": TERMINAL,
        "phone": PHONE,
        "txn_date": "2026-11-24",
    }
    events = await validate(
        domain, dispatcher, requested="amount", candidates={"amount": "三千二百块"}, slots=slots, text="三千二百块"
    )
    assert events == [SlotSet("amount", "3200.00"), SlotSet("requested_slot", "description")]
    dispatcher.messages.clear()
    events = await validate(
        domain, dispatcher, requested="amount", candidates={"amount": "-20"}, slots=slots, text="-20"
    )
    assert texts(dispatcher) == ["金额要大于0，请再发一次～"]
    assert events == [
        SlotSet("amount", None),
        SlotSet("invalid_attempts", {"amount": 1}),
        SlotSet("form_reasked", "amount"),
        SlotSet("requested_slot", "amount"),
    ]


# --- slips: a wrong number at each step never costs what was given before ------------------


async def test_a_phone_with_a_digit_missing_is_one_complaint_and_keeps_the_merchant_id(services, domain, dispatcher):
    # DIET reads the ten digits as a merchant id too: the merchant id accepted before stays,
    # and the merchant reads one message about the phone.
    events = await validate(
        domain,
        dispatcher,
        requested="phone",
        candidates={"merchant_id": "1381234567", "phone": "1381234567"},
        slots={"merchant_id": MERCHANT, "terminal_id": TERMINAL},
        text="1381234567",
    )
    assert texts(dispatcher) == ["手机号是11位数字，您发的是10位，请再发一次～"]
    values = slot_values(events)
    assert values["merchant_id"] == MERCHANT
    assert values["phone"] is None
    assert values["invalid_attempts"] == {"phone": 1}
    assert events[-1] == SlotSet("requested_slot", "phone")


async def test_the_corrected_phone_is_taken_as_the_phone(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="phone",
        candidates={"merchant_id": PHONE, "phone": PHONE},
        slots={"merchant_id": MERCHANT, "terminal_id": TERMINAL, "invalid_attempts": {"phone": 1}},
        text=PHONE,
    )
    assert dispatcher.messages == []
    values = slot_values(events)
    assert (values["merchant_id"], values["phone"], values["invalid_attempts"]) == (MERCHANT, PHONE_SLOT, None)
    assert events[-1] == SlotSet("requested_slot", "description")


async def test_a_terminal_id_with_a_digit_missing_keeps_the_merchant_id(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="terminal_id",
        candidates={"merchant_id": "2145009", "terminal_id": "2145009"},
        slots={"merchant_id": MERCHANT},
        text="2145009",
    )
    assert texts(dispatcher) == ["终端号是8位数字，您发的是7位，请再发一次～"]
    assert slot_values(events)["merchant_id"] == MERCHANT
    assert events[-1] == SlotSet("requested_slot", "terminal_id")


async def test_a_merchant_id_with_a_digit_too_many_is_re_asked(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="merchant_id",
        candidates={"merchant_id": "8983100481612345"},
        text="8983100481612345",
    )
    assert texts(dispatcher) == ["商户号是15位数字，您发的是16位，请再发一次～"]
    assert events[-1] == SlotSet("requested_slot", "merchant_id")


async def test_a_phone_number_where_the_merchant_id_is_asked_is_named_not_counted(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="merchant_id",
        candidates={"merchant_id": PHONE, "phone": PHONE},
        slots={"invalid_attempts": {"merchant_id": 1}},
        text=PHONE,
    )
    assert texts(dispatcher) == ["这个看起来是手机号～现在需要的是商户号。请提供您的15位商户号（印在签购单最上方）："]
    values = slot_values(events)
    assert values["phone"] is None  # a bare number only answers the field being asked
    assert "invalid_attempts" not in values  # still one miss: no "还要继续登记工单吗？"
    assert events[-1] == SlotSet("requested_slot", "merchant_id")


async def test_strikes_count_per_field(services, domain, dispatcher):
    # One miss on the merchant id earlier and one on the phone now: nobody is paused yet.
    events = await validate(
        domain,
        dispatcher,
        requested="phone",
        candidates={"phone": "138"},
        slots={"merchant_id": MERCHANT, "terminal_id": TERMINAL, "invalid_attempts": {"merchant_id": 1}},
        text="138",
    )
    values = slot_values(events)
    assert values["invalid_attempts"] == {"merchant_id": 1, "phone": 1}
    assert "form_paused_field" not in values
    assert texts(dispatcher) == ["手机号是11位数字，您发的是3位，请再发一次～"]


async def test_a_phone_while_the_form_is_paused_on_the_merchant_id_is_not_saved(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="ticket_continue",
        candidates={"phone": PHONE, "ticket_continue": PHONE},
        slots={"form_paused_field": "merchant_id"},
        text=PHONE,
    )
    values = slot_values(events)
    assert values["phone"] is None and values["ticket_continue"] is None
    assert events[-1] == SlotSet("requested_slot", "ticket_continue")


async def test_values_given_along_the_way_are_kept(services, domain, dispatcher):
    # Asked for the phone, the merchant also gives the terminal id not asked yet.
    events = await validate(
        domain,
        dispatcher,
        requested="phone",
        candidates={"terminal_id": TERMINAL, "phone": f"手机{PHONE}，终端号{TERMINAL}"},
        slots={"merchant_id": MERCHANT},
        text=f"手机{PHONE}，终端号{TERMINAL}",
    )
    values = slot_values(events)
    assert (values["terminal_id"], values["phone"]) == (TERMINAL, PHONE_SLOT)
    assert dispatcher.messages == []


async def test_an_accepted_value_is_replaced_only_when_the_merchant_names_it(services, domain, dispatcher):
    unnamed = await validate(
        domain,
        dispatcher,
        requested="phone",
        candidates={"terminal_id": "21450094", "phone": f"{PHONE} 21450094"},
        slots={"merchant_id": MERCHANT, "terminal_id": TERMINAL},
        text=f"{PHONE} 21450094",
    )
    assert slot_values(unnamed)["terminal_id"] == TERMINAL
    named = await validate(
        domain,
        dispatcher,
        requested="phone",
        candidates={"terminal_id": "21450094", "phone": f"终端号写错了，是21450094，手机{PHONE}"},
        slots={"merchant_id": MERCHANT, "terminal_id": TERMINAL},
        text=f"终端号写错了，是21450094，手机{PHONE}",
    )
    assert slot_values(named)["terminal_id"] == "21450094"


# --- confirmation and edits ----------------------------------------------------------------


async def test_confirm_edit_and_pick_a_field(services, domain, dispatcher):
    slots = dict(FILLED)
    events = await validate(
        domain,
        dispatcher,
        requested="ticket_confirm",
        candidates={"ticket_confirm": "edit"},
        slots=slots,
        intent="deny",
        text="修改",
    )
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
        SlotSet("edit_backup", {"phone": PHONE}),
        SlotSet("requested_slot", "phone"),
    ]


async def test_changing_a_value_names_the_old_one_and_can_be_taken_back(services, domain, dispatcher):
    slots = {**FILLED, "phone": None, "edit_backup": {"phone": PHONE}}
    await ActionAskPhone().run(dispatcher, make_tracker(domain, slots=slots, active_loop="ticket_form"), domain)
    assert texts(dispatcher) == ["好的，请发新的手机号（现在是 138****5678）；不改了就说“不改了”。"]
    dispatcher.messages.clear()
    events = await validate(
        domain, dispatcher, requested="phone", candidates={"phone": "不改了"}, slots=slots, intent="deny", text="不改了"
    )
    assert texts(dispatcher) == ["好的，手机号保持不变。"]
    assert slot_values(events)["phone"] == PHONE
    assert slot_values(events)["edit_backup"] is None
    assert events[-1] == SlotSet("requested_slot", "ticket_confirm")


async def test_a_change_that_fails_twice_keeps_the_old_value(services, domain, dispatcher):
    slots = {**FILLED, "phone": None, "edit_backup": {"phone": PHONE}, "invalid_attempts": {"phone": 1}}
    events = await validate(
        domain, dispatcher, requested="phone", candidates={"phone": "1381"}, slots=slots, text="1381"
    )
    assert texts(dispatcher) == ["手机号是11位数字，您发的是4位。手机号先保持原来的，您可以稍后再改。"]
    values = slot_values(events)
    assert values["phone"] == PHONE and values["edit_backup"] is None
    assert "form_paused_field" not in values
    assert events[-1] == SlotSet("requested_slot", "ticket_confirm")


async def test_the_new_value_replaces_the_old_one(services, domain, dispatcher):
    slots = {**FILLED, "phone": None, "edit_backup": {"phone": PHONE}}
    events = await validate(
        domain, dispatcher, requested="phone", candidates={"phone": "13900001111"}, slots=slots, text="13900001111"
    )
    values = slot_values(events)
    assert values["phone"] == "139****1111" and values["edit_backup"] is None


async def test_confirm_with_a_typed_correction_names_the_field(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="ticket_confirm",
        candidates={"ticket_confirm": "终端号写错了"},
        slots=dict(FILLED),
        text="终端号写错了",
    )
    assert dispatcher.messages == []
    assert events == [
        SlotSet("ticket_confirm", None),
        SlotSet("terminal_id", None),
        SlotSet("device_serial", None),
        SlotSet("edit_backup", {"terminal_id": TERMINAL}),
        SlotSet("requested_slot", "terminal_id"),
    ]


async def test_a_corrected_number_typed_at_the_summary_replaces_it(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="ticket_confirm",
        candidates={"phone": "13900001111", "ticket_confirm": "13900001111"},
        slots=dict(FILLED),
        text="13900001111",
    )
    values = slot_values(events)
    assert values["phone"] == "139****1111" and values["ticket_confirm"] is None
    assert dispatcher.messages == []
    assert events[-1] == SlotSet("requested_slot", "ticket_confirm")  # the summary is shown again


async def test_unclear_answer_at_the_summary_names_the_buttons(services, domain, dispatcher):
    await validate(
        domain,
        dispatcher,
        requested="ticket_confirm",
        candidates={"ticket_confirm": "嗯"},
        slots=dict(FILLED),
        text="嗯",
    )
    assert texts(dispatcher) == ["请点“确认提交”；要改哪一项可以点“修改”，不登记了就点“取消”。"]


async def test_confirm_yes_finishes_the_form(services, domain, dispatcher):
    events = await validate(
        domain,
        dispatcher,
        requested="ticket_confirm",
        candidates={"ticket_confirm": "yes"},
        slots=dict(FILLED),
        intent="affirm",
    )
    assert events == [SlotSet("ticket_confirm", "yes"), SlotSet("requested_slot", None)]


async def test_urgent_message_rejects_the_form_so_a_person_takes_over(services, domain, dispatcher):
    # "急死了" is not kept as the phone (the handoff ticket would refuse it).
    events = await validate(
        domain,
        dispatcher,
        requested="phone",
        candidates={"phone": "急死了"},
        slots={"urgent": True, **FILLED, "phone": None},
        text="急死了",
    )
    assert events == [SlotSet("phone", None), ActionExecutionRejected("ticket_form")]
    # A real value in the urgent message is kept for the person who takes over.
    events = await validate(
        domain,
        dispatcher,
        requested="phone",
        candidates={"phone": f"急！{PHONE}"},
        slots={"urgent": True, **FILLED, "phone": None},
        text=f"急！{PHONE}",
    )
    assert events == [SlotSet("phone", PHONE_SLOT), ActionExecutionRejected("ticket_form")]


async def test_a_button_of_an_earlier_question_rejects_the_form_and_leaves_it_as_it_was(services, domain, dispatcher):
    # An old "没解决" (/deny) would otherwise read as 修改 at the summary ...
    payload = '/deny{"faq_id":"fault-printer-no-paper","step":"resolved-aaaaaa"}'
    events = await validate(
        domain,
        dispatcher,
        requested="ticket_confirm",
        candidates={"ticket_confirm": "edit"},
        slots={**FILLED, "stale_button": True},
        intent="deny",
        text=payload,
    )
    assert events == [SlotSet("ticket_confirm", None), ActionExecutionRejected("ticket_form")]
    # ... and as the merchant id where the merchant id is asked.
    events = await validate(
        domain,
        dispatcher,
        requested="merchant_id",
        candidates={"merchant_id": payload},
        slots={"stale_button": True},
        intent="deny",
        text=payload,
    )
    assert events == [SlotSet("merchant_id", None), ActionExecutionRejected("ticket_form")]


# --- questions ---------------------------------------------------------------------------


async def test_ask_merchant_id(services, domain, dispatcher):
    tracker = make_tracker(domain, active_loop="ticket_form", slots={"question_step": "confirm-123456"})
    assert await ActionAskMerchantId().run(dispatcher, tracker, domain) == [
        SlotSet("form_reasked", None),
        SlotSet("question_step", None),  # no buttons: earlier buttons are out of date
    ]
    assert texts(dispatcher) == [ASK_MERCHANT]


async def test_ask_is_skipped_right_after_the_validator_re_asked(services, domain, dispatcher):
    tracker = make_tracker(domain, slots={"form_reasked": "merchant_id"}, active_loop="ticket_form")
    await ActionAskMerchantId().run(dispatcher, tracker, domain)
    assert dispatcher.messages == []


async def test_ask_after_a_question_in_between_asks_again(services, domain, dispatcher):
    # The merchant answered wrongly once, then asked a question: the form must ask again.
    tracker = make_tracker(domain, slots={"invalid_attempts": {"merchant_id": 1}}, active_loop="ticket_form")
    await ActionAskMerchantId().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == [ASK_MERCHANT]


async def test_ask_ticket_continue_names_its_buttons(services, domain, dispatcher):
    events = await ActionAskTicketContinue().run(dispatcher, make_tracker(domain), domain)
    [message] = dispatcher.messages
    assert message["text"] == "还要继续登记工单吗？可以点“继续登记”或“先不登记了”。"
    assert [b["title"] for b in message["buttons"]] == ["继续登记", "先不登记了"]
    step = step_of(message["buttons"][0])
    assert step.startswith("continue-")
    assert [b["payload"] for b in message["buttons"]] == [f'/affirm{{"step":"{step}"}}', f'/deny{{"step":"{step}"}}']
    assert events == [SlotSet("question_step", step)]


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
    events = await ActionAskTicketConfirm().run(dispatcher, make_tracker(domain, slots=slots), domain)
    assert texts(dispatcher) == [
        "请核对工单信息（结算到账）：\n"
        "· 商户号：898310048161234\n"
        "· 设备序列号：N910SN00123456\n"
        "· 联系手机：138****5678\n"  # masked: the summary is stored like every bot message
        "· 交易日期：2026-11-24\n"
        "· 交易金额：3200.00 元\n"
        "· 问题描述：昨天的款没到账\n"
        "没问题请点“确认提交”；需要改就点“修改”。"
    ]
    buttons = dispatcher.messages[0]["buttons"]
    step = step_of(buttons[0])
    assert [(b["title"], b["payload"]) for b in buttons] == [
        ("确认提交", f'/affirm{{"step":"{step}"}}'),
        ("修改", f'/deny{{"step":"{step}"}}'),
        ("取消", f'/cancel{{"step":"{step}"}}'),
    ]
    assert events == [SlotSet("question_step", step)]


async def test_ask_edit_field_offers_the_category_fields(services, domain, dispatcher):
    await ActionAskEditField().run(dispatcher, make_tracker(domain, slots={"ticket_category": "repair"}), domain)
    assert texts(dispatcher) == ["请问要修改哪一项？"]
    buttons = dispatcher.messages[0]["buttons"]
    assert [b["title"] for b in buttons] == ["商户号", "终端号/序列号", "手机号", "问题描述"]
    assert buttons[2]["payload"] == f'/inform{{"edit_field":"phone","step":"{step_of(buttons[2])}"}}'


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
    assert t.description == "打印机不出纸（故障类型：打印机）"  # agents read Chinese, not the entity value
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
        SlotSet("question_step", None),
        SlotSet("problem", None),
        SlotSet("txn_date", None),
        SlotSet("amount", None),
        SlotSet("description", None),
        SlotSet("ticket_category", None),
        SlotSet("ticket_confirm", None),
        SlotSet("ticket_continue", None),
        SlotSet("edit_field", None),
        SlotSet("ticket_editing", None),
        SlotSet("edit_backup", None),
        SlotSet("form_paused_field", None),
        SlotSet("form_reasked", None),
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
    slots = {
        "merchant_id": None,
        "ticket_category": "repair",
        "ticket_continue": "no",
        "form_paused_field": "merchant_id",
    }
    events = await ActionSubmitTicket().run(dispatcher, submit_tracker(domain, slots), domain)
    assert services.tickets.list_for_sender("web", SENDER) == []
    assert texts(dispatcher) == ["好的，这次先不登记了。找到信息后随时再找我，也可以说“转人工”让客服帮您。"]
    assert events == [SlotSet("question_step", None)] + [SlotSet(name, None) for name in FORM_EVENTS_RESET]


async def test_cancel_leaves_the_form_cleanly(services, domain, dispatcher):
    tracker = make_tracker(domain, text="取消", intent="cancel", slots=dict(FILLED), active_loop="ticket_form")
    events = await ActionCancelForm().run(dispatcher, tracker, domain)
    assert texts(dispatcher) == ["好的，已取消这次工单登记，填写的信息已清除。还有其他问题随时问我～"]
    assert events == [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("question_step", None)] + [
        SlotSet(name, None) for name in FORM_EVENTS_RESET
    ]
    assert services.tickets.list_for_sender("web", SENDER) == []


# --- the phone: masked in Rasa, in clear on the ticket -------------------------------------------


async def test_the_masked_phone_from_the_chat_is_validated_and_filed_in_clear(services, domain, dispatcher):
    # The chat masked the number and kept it in the vault; Rasa's slot candidate is 138****5678.
    services.vault.keep(SENDER, PHONE)
    events = await validate(
        domain,
        dispatcher,
        requested="phone",
        candidates={"phone": PHONE_SLOT},
        text=PHONE_SLOT,
        slots={"merchant_id": MERCHANT, "terminal_id": TERMINAL},
    )
    assert dispatcher.messages == []
    assert slot_values(events)["phone"] == PHONE_SLOT  # never the number itself: slots go to Rasa
    slots = {**FILLED, "phone": PHONE_SLOT, "ticket_category": "repair", "ticket_confirm": "yes"}
    await ActionSubmitTicket().run(dispatcher, submit_tracker(domain, slots), domain)
    (t,) = services.tickets.list_for_sender("web", SENDER)
    assert t.contact_phone == PHONE


async def test_a_masked_phone_of_another_conversation_is_not_a_phone(services, domain, dispatcher):
    services.vault.keep("web:someone-else", PHONE)
    events = await validate(domain, dispatcher, requested="phone", candidates={"phone": PHONE_SLOT}, text=PHONE_SLOT)
    assert slot_values(events)["phone"] is None
    assert dispatcher.messages  # asked again


async def test_a_phone_the_vault_forgot_is_asked_again_before_filing(services, domain, dispatcher):
    # Kept long ago (the vault's rows expire): 确认提交 asks for the phone again instead of filing without it.
    slots = {**FILLED, "phone": PHONE_SLOT}
    events = await validate(
        domain,
        dispatcher,
        requested="ticket_confirm",
        candidates={"ticket_confirm": "yes"},
        slots=slots,
        text="/affirm",
        intent="affirm",
    )
    values = slot_values(events)
    assert values["phone"] is None and values["ticket_confirm"] is None
    assert events[-1] == SlotSet("requested_slot", "phone")
    assert "请再发一次您的11位手机号" in texts(dispatcher)[0]

"""The consumables and visit forms, their status, rescheduling, calling off and care, as a merchant slips.

The clock is fixed at Wednesday 2026-11-25 10:00 in Shanghai (tests.custom_actions.helpers.OPEN_NOW).
Each test asserts what the merchant reads and what is stored: a wrong size, an impossible
quantity, a time in the past, an address without a district, a cancel halfway, a typo at a
step, and that an accepted answer is never lost to a later slip.
"""

from __future__ import annotations

import time
from datetime import date

import pytest
from rasa_sdk.events import ActiveLoop, SlotSet

from actions.field_aftercare import (
    ActionCancelVisit,
    ActionCareChecklist,
    ActionCareReminder,
    ActionCheckField,
    ActionRescheduleVisit,
)
from actions.field_forms import (
    ActionStartConsumablesForm,
    ActionStartVisitForm,
    ValidateConsumablesForm,
    ValidateVisitForm,
)
from actions.field_questions import ActionAskFieldConfirm, ActionAskSupplyItem, ActionAskVisitTimeOk
from actions.field_submit import ActionCancelFieldForm, ActionSubmitConsumables, ActionSubmitVisit
from tests.custom_actions.helpers import SENDER, make_tracker, texts, user_event

MERCHANT = "898310048161234"
TERMINAL = "21450093"
PHONE = "13812345678"
ADDRESS = "浙江省杭州市西湖区文三路100号"


def form_tracker(domain, form, *, requested, candidates, slots=None, text="", intent="inform", sender=SENDER):
    base = {"requested_slot": requested, **(slots or {})}
    now = time.time()
    before = [{"event": "slot", "name": k, "value": v, "timestamp": now - 10} for k, v in base.items() if v is not None]
    events = (
        before
        + [
            {"event": "action", "name": "action_listen", "timestamp": now},
            user_event(text, intent),
            {"event": "slot", "name": "requested_slot", "value": requested, "timestamp": now},
            {"event": "action", "name": form, "timestamp": now},
        ]
        + [{"event": "slot", "name": k, "value": v, "timestamp": now} for k, v in candidates.items()]
    )
    return make_tracker(
        domain,
        text=text,
        intent=intent,
        slots={**base, **candidates},
        events=events,
        active_loop=form,
        sender_id=sender,
    )


def slots(events) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def consumables(domain, dispatcher, text, requested, slots_=None, intent="inform"):
    tracker = form_tracker(
        domain,
        "consumables_form",
        requested=requested,
        candidates={requested: text},
        slots=slots_,
        text=text,
        intent=intent,
    )
    return slots(await ValidateConsumablesForm().run(dispatcher, tracker, domain))


async def visit(domain, dispatcher, text, requested, slots_=None, intent="inform"):
    tracker = form_tracker(
        domain, "visit_form", requested=requested, candidates={requested: text}, slots=slots_, text=text, intent=intent
    )
    return slots(await ValidateVisitForm().run(dispatcher, tracker, domain))


# --- consumables ---------------------------------------------------------------------------


async def test_the_first_message_fills_what_it_says(services, domain, dispatcher):
    tracker = make_tracker(domain, text="给我送5卷80×80的打印纸", intent="request_consumables")
    events = await ActionStartConsumablesForm().run(dispatcher, tracker, domain)
    assert texts(dispatcher)[0].startswith("好的，我来帮您申请耗材配送")
    assert SlotSet("supply_item", "paper_80x80") in events and SlotSet("supply_quantity", "5") in events


async def test_paper_without_a_size_asks_for_the_size(services, domain, dispatcher):
    tracker = make_tracker(domain, text="打印纸用完了能送几卷吗", intent="request_consumables")
    events = await ActionStartConsumablesForm().run(dispatcher, tracker, domain)
    assert not any(e.get("name") == "supply_item" and e.get("value") for e in events)
    ask = make_tracker(domain, slots={"requested_slot": "supply_item"}, active_loop="consumables_form")
    await ActionAskSupplyItem().run(dispatcher, ask, domain)
    titles = [b["title"] for b in dispatcher.messages[-1]["buttons"]]
    assert titles[:4] == ["57×50mm 热敏打印纸", "57×40mm 热敏打印纸", "80×80mm 热敏打印纸", "80×60mm 热敏打印纸"]
    assert "针式打印机色带（色带架）" in titles


async def test_a_wrong_size_names_the_sizes_we_have_and_asks_again(services, domain, dispatcher):
    got = await consumables(domain, dispatcher, "76×76的", "supply_item")
    assert got["supply_item"] is None and got["form_reasked"] == "supply_item"
    assert texts(dispatcher) == [
        "没有 76×76 这种规格的纸，我们能送的打印纸有：57×50mm、57×40mm、80×80mm、80×60mm，请再发一次～"
    ]
    got = await consumables(domain, dispatcher, "色代", "supply_item")  # typo of 色带
    assert got["supply_item"] == "ribbon_needle"


@pytest.mark.parametrize(
    ("said", "reply"),
    [
        ("0", "数量至少是1卷，请再发一次～"),
        ("500", "一次最多能申请50卷，需要更多可以分次申请，或说“转人工”联系客服，请再发一次～"),
        ("很多", "需要一个具体的数字，比如“5卷”，一次最多50卷，请再发一次～"),
    ],
)
async def test_impossible_quantities_are_refused_in_chinese(services, domain, dispatcher, said, reply):
    got = await consumables(domain, dispatcher, said, "supply_quantity", {"supply_item": "paper_57x50"})
    assert got["supply_quantity"] is None
    assert texts(dispatcher) == [reply]


async def test_a_good_quantity_and_parts_have_their_own_limit(services, domain, dispatcher):
    assert (await consumables(domain, dispatcher, "十卷", "supply_quantity", {"supply_item": "paper_57x50"}))[
        "supply_quantity"
    ] == "10"
    got = await consumables(domain, dispatcher, "8", "supply_quantity", {"supply_item": "part_battery"})
    assert got["supply_quantity"] is None and "一次最多能申请5块" in texts(dispatcher)[-1]


async def test_delivery_address_or_pick_up(services, domain, dispatcher):
    got = await consumables(domain, dispatcher, ADDRESS, "supply_delivery")
    assert (got["supply_delivery"], got["supply_address"], got["field_area"]) == ("delivery", ADDRESS, "杭州市西湖区")
    got = await consumables(domain, dispatcher, "我自己去网点拿", "supply_delivery")
    assert got["supply_delivery"] == "pickup" and got["supply_address"] is None
    got = await consumables(domain, dispatcher, "文三路100号", "supply_delivery")
    assert got["supply_delivery"] is None and "市和区" in texts(dispatcher)[-1]


async def test_a_wrong_phone_keeps_everything_before(services, domain, dispatcher):
    before = {"supply_item": "paper_57x50", "supply_quantity": "5", "merchant_id": MERCHANT}
    got = await consumables(domain, dispatcher, "1381234567", "phone", before)
    assert got["phone"] is None and texts(dispatcher) == ["手机号是11位数字，您发的是10位，请再发一次～"]
    assert "supply_item" not in got and "merchant_id" not in got  # untouched


async def test_an_id_read_out_of_an_address_does_not_replace_the_merchant_id(services, domain, dispatcher):
    tracker = form_tracker(
        domain,
        "consumables_form",
        requested="supply_delivery",
        candidates={"supply_delivery": ADDRESS, "merchant_id": "123456789012345"},
        slots={"merchant_id": MERCHANT},
        text=ADDRESS,
    )
    got = slots(await ValidateConsumablesForm().run(dispatcher, tracker, domain))
    assert got["merchant_id"] == MERCHANT


async def test_confirm_edit_and_typed_field_name(services, domain, dispatcher):
    filled = {
        "supply_item": "paper_57x50",
        "supply_quantity": "5",
        "supply_delivery": "pickup",
        "merchant_id": MERCHANT,
    }
    got = await consumables(domain, dispatcher, "edit", "field_confirm", filled, intent="deny")
    assert got["field_editing"] is True
    got = await consumables(domain, dispatcher, "数量不对", "field_confirm", filled, intent="inform")
    assert got["supply_quantity"] is None  # asked again
    got = await consumables(domain, dispatcher, "supply_delivery", "field_edit", {**filled, "field_editing": True})
    assert got["supply_delivery"] is None and got["field_editing"] is None


async def test_submitting_creates_the_consumables_ticket_and_promises_the_lead_time(
    services, domain, dispatcher, clock
):
    services.vault.keep(SENDER, PHONE)
    filled = {
        "supply_item": "paper_80x80",
        "supply_quantity": "5",
        "supply_delivery": "delivery",
        "supply_address": ADDRESS,
        "field_area": "杭州市西湖区",
        "merchant_id": MERCHANT,
        "phone": "138****5678",
        "field_confirm": "yes",
    }
    summary_tracker = make_tracker(domain, slots=filled, active_loop="consumables_form")
    await ActionAskFieldConfirm().run(dispatcher, summary_tracker, domain)
    assert "80×80mm 热敏打印纸 × 5卷" in texts(dispatcher)[-1] and "138****5678" in texts(dispatcher)[-1]

    tracker = make_tracker(domain, slots=filled)
    events = await ActionSubmitConsumables().run(dispatcher, tracker, domain)
    number = slots(events)["last_ticket_number"]
    ticket = services.tickets.get(number)
    assert ticket.category == "consumables" and ticket.contact_phone == PHONE and ticket.merchant_id == MERCHANT
    assert ticket.field.items[0]["code"] == "paper_80x80" and ticket.field.items[0]["quantity"] == 5
    # The ticket's creation day + 3 working days (settings.field_delivery_lead_days), said as stored.
    from zoneinfo import ZoneInfo

    from bot.field.when import add_working_days, day_label

    created = ticket.created_at.astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert ticket.field.scheduled_date == add_working_days(created, 3)
    reply = texts(dispatcher)[-1]
    assert f"工单号 {number}" in reply and f"预计3个工作日内送达（{day_label(ticket.field.scheduled_date)}前）" in reply
    assert slots(events)["supply_item"] is None  # the case is done, identity slots stay
    again = await ActionSubmitConsumables().run(dispatcher, tracker, domain)  # a retried action
    assert slots(again)["last_ticket_number"] == number


async def test_the_promised_lead_time_and_pick_up_point_come_from_the_settings(
    services, settings, domain, dispatcher, clock
):
    from zoneinfo import ZoneInfo

    from bot.core.services import set_services
    from bot.field.when import add_working_days, day_label
    from bot.tickets.service import TicketService

    slow = settings.model_copy(
        update={"field_delivery_lead_days": 5, "field_pickup_lead_days": 2, "field_pickup_point": "文三路服务网点"}
    )
    services.settings, services.tickets = slow, TicketService(services.db, slow)
    set_services(services)
    services.vault.keep(SENDER, PHONE)
    base = {"supply_item": "paper_80x80", "supply_quantity": "5", "merchant_id": MERCHANT}
    base |= {"phone": "138****5678", "field_confirm": "yes"}
    delivery = {**base, "supply_delivery": "delivery", "supply_address": ADDRESS, "field_area": "杭州市西湖区"}

    events = await ActionSubmitConsumables().run(dispatcher, make_tracker(domain, slots=delivery), domain)
    ticket = services.tickets.get(slots(events)["last_ticket_number"])
    created = ticket.created_at.astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert ticket.field.scheduled_date == add_working_days(created, 5)
    by = day_label(ticket.field.scheduled_date)
    assert f"预计5个工作日内送达（{by}前）" in texts(dispatcher)[-1]
    await ActionCheckField().run(dispatcher, make_tracker(domain, text="我的纸什么时候到"), domain)
    assert f"· 预计：{by}前送达" in texts(dispatcher)[-1]

    pickup = {**base, "supply_delivery": "pickup"}
    tracker = make_tracker(domain, slots=pickup, sender_id="web:pickup-merchant")
    services.vault.keep("web:pickup-merchant", PHONE)
    events = await ActionSubmitConsumables().run(dispatcher, tracker, domain)
    ticket = services.tickets.get(slots(events)["last_ticket_number"])
    assert ticket.field.scheduled_date == add_working_days(created, 2)
    reply = texts(dispatcher)[-1]
    assert "自取：文三路服务网点" in reply and "预计2个工作日内可以领取" in reply


async def test_cancel_halfway_clears_the_form(services, domain, dispatcher):
    tracker = make_tracker(domain, slots={"supply_item": "paper_57x50"}, active_loop="consumables_form")
    events = await ActionCancelFieldForm().run(dispatcher, tracker, domain)
    assert events[0] == ActiveLoop(None) and SlotSet("supply_item", None) in events
    assert texts(dispatcher) == ["好的，已取消这次登记，填写的信息已清除。还有其他问题随时问我～"]


# --- visits --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("新店要装一台", "installation"),
        ("要搬店了机器要移机", "relocation"),
        ("想让人来培训一下", "training"),
        ("能派人上门看看吗", "repair"),
    ],
)
async def test_the_kind_of_visit_comes_from_the_first_message(services, domain, dispatcher, text, kind):
    events = await ActionStartVisitForm().run(
        dispatcher, make_tracker(domain, text=text, intent="request_visit"), domain
    )
    assert SlotSet("visit_kind", kind) in events


async def test_a_new_installation_asks_no_terminal_and_no_problem(services, domain, dispatcher):
    tracker = form_tracker(domain, "visit_form", requested=None, candidates={}, slots={"visit_kind": "installation"})
    required = await ValidateVisitForm().required_slots([], dispatcher, tracker, domain)
    assert "terminal_id" not in required and "visit_problem" not in required
    tracker = form_tracker(domain, "visit_form", requested=None, candidates={}, slots={"visit_kind": "repair"})
    required = await ValidateVisitForm().required_slots([], dispatcher, tracker, domain)
    assert required == [
        "visit_kind",
        "merchant_id",
        "terminal_id",
        "visit_address",
        "visit_problem",
        "visit_time",
        "visit_time_ok",
        "phone",
        "field_confirm",
    ]


async def test_the_time_is_parsed_and_confirmed_back_with_its_weekday(services, domain, dispatcher, clock):
    got = await visit(domain, dispatcher, "周六上午", "visit_time")
    assert got["visit_time"] == "2026-11-28 am"
    tracker = make_tracker(
        domain, slots={"visit_time": "2026-11-28 am", "requested_slot": "visit_time_ok"}, active_loop="visit_form"
    )
    await ActionAskVisitTimeOk().run(dispatcher, tracker, domain)
    assert texts(dispatcher)[-1] == "您选的是 11月28日（周六）上午，对吗？"
    assert [b["title"] for b in dispatcher.messages[-1]["buttons"]] == ["对，就这个时间", "换个时间"]


async def test_a_time_in_the_past_or_too_far_ahead_is_refused(services, domain, dispatcher, clock):
    got = await visit(domain, dispatcher, "昨天下午", "visit_time")
    assert (
        got["visit_time"] is None
        and texts(dispatcher)[-1] == "11月24日（周二）已经过去了，请选一个以后的时间，请再发一次～"
    )
    got = await visit(domain, dispatcher, "明年3月1日上午", "visit_time")
    assert got["visit_time"] is None
    got = await visit(domain, dispatcher, "2027年3月1日上午", "visit_time")
    assert got["visit_time"] is None and "最多可以预约30天以内的时间" in texts(dispatcher)[-1]


async def test_a_day_without_half_day_asks_am_or_pm_then_combines(services, domain, dispatcher, clock):
    got = await visit(domain, dispatcher, "下周三", "visit_time")
    assert got["visit_time"] is None and got["visit_day"] == "2026-12-02"
    got = await visit(domain, dispatcher, "下午", "visit_time", {"visit_day": "2026-12-02"})
    assert got["visit_time"] == "2026-12-02 pm" and got["visit_day"] is None


async def test_change_of_mind_at_the_time_check(services, domain, dispatcher, clock):
    before = {"visit_time": "2026-11-28 am"}
    got = await visit(domain, dispatcher, "no", "visit_time_ok", before, intent="deny")
    assert got["visit_time"] is None and got["visit_time_ok"] is None
    got = await visit(domain, dispatcher, "还是改成周五下午吧", "visit_time_ok", before)
    assert got["visit_time"] == "2026-11-27 pm" and got["visit_time_ok"] is None  # confirmed again


async def test_an_unclear_answer_at_the_time_check_keeps_the_time(services, domain, dispatcher, clock):
    before = {"visit_time": "2026-11-28 am"}
    got = await visit(domain, dispatcher, "嗯嗯", "visit_time_ok", before)
    assert "visit_time" not in got and got["visit_time_ok"] is None  # the chosen time untouched
    assert texts(dispatcher)[-1] == "请点“对，就这个时间”或“换个时间”，也可以直接说新的时间，比如“周五下午”。"
    got = await visit(domain, dispatcher, "昨天下午", "visit_time_ok", before)  # a past time: said why, kept
    assert got["visit_time"] == "2026-11-28 am" and "已经过去了" in texts(dispatcher)[-1]


async def test_an_address_without_district_is_asked_again(services, domain, dispatcher):
    got = await visit(domain, dispatcher, "文三路", "visit_address")
    assert got["visit_address"] is None and "地址太短了" in texts(dispatcher)[-1]
    got = await visit(domain, dispatcher, "上海市浦东新区张江路1号", "visit_address")
    assert got["field_area"] == "上海市浦东新区"


async def test_a_typo_in_the_terminal_id_and_the_serial_instead(services, domain, dispatcher):
    got = await visit(domain, dispatcher, "2145009", "terminal_id", {"visit_kind": "repair"})
    assert got["terminal_id"] is None and texts(dispatcher)[-1] == "终端号是8位数字，您发的是7位，请再发一次～"
    got = await visit(domain, dispatcher, "N910SN00123456", "terminal_id", {"visit_kind": "repair"})
    assert got["device_serial"] == "N910SN00123456"


def visit_slots(**extra):
    return {
        "visit_kind": "repair",
        "merchant_id": MERCHANT,
        "terminal_id": TERMINAL,
        "visit_address": ADDRESS,
        "field_area": "杭州市西湖区",
        "visit_problem": "打印机不出纸",
        "visit_time": "2026-11-28 am",
        "visit_time_ok": "yes",
        "phone": "138****5678",
        "field_confirm": "yes",
        **extra,
    }


async def submit_visit(services, domain, dispatcher, sender=SENDER):
    services.vault.keep(sender, PHONE)
    tracker = make_tracker(domain, slots=visit_slots(), sender_id=sender)
    events = await ActionSubmitVisit().run(dispatcher, tracker, domain)
    return slots(events)["last_ticket_number"]


async def test_submitting_books_the_visit(services, domain, dispatcher, clock):
    number = await submit_visit(services, domain, dispatcher)
    t = services.tickets.get(number)
    assert t.category == "visit" and t.terminal_id == TERMINAL and t.description == "上门维修：打印机不出纸"
    assert (t.field.kind, t.field.scheduled_date, t.field.half_day, t.field.service_area) == (
        "repair",
        date(2026, 11, 28),
        "am",
        "杭州市西湖区",
    )
    reply = texts(dispatcher)[-1]
    assert "已为您预约上门维修✅" in reply and "11月28日（周六）上午" in reply and "138****5678" in reply


async def test_reschedule_and_cancel_by_chat(services, domain, dispatcher, clock):
    number = await submit_visit(services, domain, dispatcher)
    tracker = make_tracker(domain, text="改到周五下午", intent="reschedule_visit")
    await ActionRescheduleVisit().run(dispatcher, tracker, domain)
    assert texts(dispatcher)[-1] == f"好的，已改到 11月27日（周五）下午✅（工单 {number}）。还要改的话随时告诉我。"
    assert services.tickets.get(number).field.half_day == "pm"

    # "改个时间" without a time asks for one; a past time then says why.
    events = await ActionRescheduleVisit().run(
        dispatcher, make_tracker(domain, text="想改个时间", intent="reschedule_visit"), domain
    )
    assert slots(events)["pending_question"] == "visit_reschedule" and "11月27日（周五）下午" in texts(dispatcher)[-1]
    tracker = make_tracker(domain, text="昨天", intent="inform", slots={"pending_question": "visit_reschedule"})
    await ActionRescheduleVisit().run(dispatcher, tracker, domain)
    assert "已经过去了" in texts(dispatcher)[-1]

    events = await ActionCancelVisit().run(
        dispatcher, make_tracker(domain, text="不用来了取消吧", intent="cancel_visit"), domain
    )
    assert slots(events)["pending_question"] == "visit_cancel"
    assert texts(dispatcher)[-1] == f"确定取消 11月27日（周五）下午 的上门服务吗？（工单 {number}）"
    tracker = make_tracker(domain, text="/affirm", intent="affirm", slots={"pending_question": "visit_cancel"})
    await ActionCancelVisit().run(dispatcher, tracker, domain)
    t = services.tickets.get(number)
    assert t.status == "resolved" and t.field.outcome == "cancelled"
    await ActionCancelVisit().run(dispatcher, make_tracker(domain, text="取消上门", intent="cancel_visit"), domain)
    assert "没有找到您待上门的预约" in texts(dispatcher)[-1]


async def test_a_stranger_cannot_move_or_see_someone_elses_visit(services, domain, dispatcher, clock):
    number = await submit_visit(services, domain, dispatcher)
    stranger = "web:someone-else"
    await ActionRescheduleVisit().run(dispatcher, make_tracker(domain, text="改到周五下午", sender_id=stranger), domain)
    assert "没有找到您待上门的预约" in texts(dispatcher)[-1]
    assert services.tickets.get(number).field.half_day == "am"
    # Typing the merchant's id proves nothing: still nothing shown.
    await ActionCheckField().run(
        dispatcher, make_tracker(domain, text=f"商户{MERCHANT}的纸什么时候到", sender_id=stranger), domain
    )
    assert number not in texts(dispatcher)[-1]


async def test_when_will_my_paper_come(services, domain, dispatcher, clock):
    services.vault.keep(SENDER, PHONE)
    filled = {
        "supply_item": "ribbon_needle",
        "supply_quantity": "2",
        "supply_delivery": "pickup",
        "merchant_id": MERCHANT,
        "phone": "138****5678",
        "field_confirm": "yes",
    }
    events = await ActionSubmitConsumables().run(dispatcher, make_tracker(domain, slots=filled), domain)
    number = slots(events)["last_ticket_number"]
    await ActionCheckField().run(
        dispatcher, make_tracker(domain, text="色带寄了吗", intent="check_field_status"), domain
    )
    from bot.field.when import day_label

    by = day_label(services.tickets.get(number).field.scheduled_date)
    assert texts(dispatcher)[-1] == (
        f"您申请的耗材（工单 {number}）：\n· 针式打印机色带（色带架） × 2个\n· 状态：待处理\n· 预计：{by}前可以领取"
    )


async def test_no_request_yet(services, domain, dispatcher):
    await ActionCheckField().run(dispatcher, make_tracker(domain, text="我的纸什么时候到"), domain)
    assert texts(dispatcher) == [
        "在这个对话里没有找到您的耗材申请或上门预约。需要的话直接说“送几卷打印纸”或“派人上门”；在别处登记的可以发工单号给我查。"
    ]


# --- care --------------------------------------------------------------------------------------


async def test_care_checklist_and_reminder_opt_in_and_out(services, domain, dispatcher, clock):
    from datetime import timedelta

    from bot.field import reminders
    from bot.field.models import CareReminder

    await ActionCareChecklist().run(dispatcher, make_tracker(domain, text="保养清单"), domain)
    text = texts(dispatcher)[-1]
    assert (
        text.startswith("🧰 刷卡机日常保养清单\n1. ")
        and "至少等一分钟" in text
        and "密码键盘" in text
        and "备份" in text
    )
    await ActionCareReminder().run(
        dispatcher, make_tracker(domain, text="提醒我保养", slots={"merchant_id": MERCHANT}), domain
    )
    assert texts(dispatcher)[-1] == "好的，以后每30天在这里提醒您保养一次机器。不想再收到的话说“不用提醒保养了”。"
    assert reminders.active(services.db, SENDER)

    # Due after 30 days: one message in the conversation, the next one 30 days later.
    services.conversations.log_message(SENDER, "in", "提醒我保养")
    with services.db.session() as s:
        due = s.query(CareReminder).one().next_due_at
    assert reminders.send_due(services.db, services.settings, now=due - timedelta(minutes=1)) == 0
    assert reminders.send_due(services.db, services.settings, now=due) == 1
    assert reminders.send_due(services.db, services.settings, now=due) == 0
    pending = services.conversations.pending_outgoing(SENDER)
    assert len(pending) == 1 and pending[0].text.startswith("⏰ 定期保养提醒")

    await ActionCareReminder().run(dispatcher, make_tracker(domain, text="不用提醒保养了"), domain)
    assert texts(dispatcher)[-1] == "好的，已关闭保养提醒，不会再发了。"
    assert not reminders.active(services.db, SENDER)
    assert reminders.send_due(services.db, services.settings, now=due + timedelta(days=400)) == 0


async def test_ticket_status_names_the_booked_time(services, domain, dispatcher, clock):
    from actions.tickets import ActionCheckTicket

    number = await submit_visit(services, domain, dispatcher)
    await ActionCheckTicket().run(
        dispatcher, make_tracker(domain, text="师傅什么时候上门", intent="check_ticket"), domain
    )
    reply = texts(dispatcher)[-1]
    assert number in reply and "· 类型：上门服务" in reply and "· 上门时间：11月28日（周六）上午" in reply

"""Consumables requests and on-site visits in the chat: two forms, their status, reschedule, cancel, care.

``consumables_form`` asks what (a catalogue item, bot.field.catalog), how many (within the
settings' limits), delivery address or pick-up, and the merchant id and phone the
conversation may already know. ``visit_form`` asks the kind (installation / repair /
relocation / training), the merchant id and terminal, the address (its service area),
the problem (repairs), the preferred half-day (bot.field.when), confirmed back with its
weekday, and the phone. Both end in a summary (确认提交 / 修改 / 取消) and create a ticket of
category ``consumables`` / ``visit`` with its field job.

The validators re-ask with what is wrong (a size we do not have, 0 or 500 rolls, a time
in the past); a refused answer never clears what was accepted before. Thin over
``services().tickets`` / ``services().field``; wording in actions/field_texts.py.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import field_texts as ft
from actions.common import (
    HELPED,
    PENDING,
    PROBLEM,
    STEP,
    button,
    clear_phone,
    keep_phone,
    latest_intent,
    latest_text,
    mask_phone,
    new_step,
    reset_slots,
    revealed_text,
    services,
    stable_key,
    ticket_channel,
    transcript,
    value_before_message,
)
from actions.form_kit import REASKED, FormValidation, ask_actions
from actions.texts import CONFIRM_TITLES
from actions.validators import (
    parse_description,
    parse_device_serial,
    parse_merchant_id,
    parse_phone,
    parse_terminal_id,
)
from bot.vocabulary import DELIVERY_LABELS, VISIT_KIND_LABELS

log = logging.getLogger(__name__)

CONSUMABLES_FORM = "consumables_form"
VISIT_FORM = "visit_form"
FIELD_FORMS = (CONSUMABLES_FORM, VISIT_FORM)
VISIT_KINDS = ("installation", "repair", "relocation", "training")
# Words of the first message that say which visit it is ("新店要装一台", "要搬店了").
KIND_WORDS = (
    ("relocation", ("移机", "搬店", "搬家", "搬到", "换地方", "换个地方", "迁址", "挪")),
    ("training", ("培训", "教一下", "教教", "教我", "不会用", "怎么操作")),
    ("installation", ("装机", "安装", "装一台", "装台", "新装", "新店", "开新店", "装个", "加一台")),
    ("repair", ("修", "坏", "故障", "看看", "看一下", "检查", "不能用", "用不了", "不出纸", "不打印")),
)
PICKUP_WORDS = ("自取", "自提", "自己取", "自己拿", "自己去拿", "自己来拿", "去拿", "来拿", "网点", "到店取", "我去取")
CONSUMABLE_CASE = ("supply_item", "supply_quantity", "supply_delivery", "supply_address", "field_area")
VISIT_CASE = ("visit_kind", "visit_address", "field_area", "visit_problem", "visit_time", "visit_day", "visit_time_ok")
CONTROL = ("field_confirm", "field_editing", "field_edit", REASKED)


def _settings():
    return services().settings


def _tz() -> ZoneInfo:
    return ZoneInfo(_settings().timezone)


def _now():
    from actions.common import now_utc

    return now_utc().astimezone(_tz())


def _catalog():
    from bot.field import catalog

    return catalog


def item_limit(item) -> int:
    s = _settings()
    return _catalog().max_quantity(item, s.field_paper_max_rolls, s.field_part_max_units)


def kind_from_text(text: str) -> str | None:
    for kind, words in KIND_WORDS:
        if any(w in (text or "") for w in words):
            return kind
    return None


def window_label(value: str | None) -> str | None:
    from bot.field.when import Window

    w = Window.decode(value)
    return w.label() if w else None


def _visit_fields(tracker: Tracker) -> list[str]:
    kind = tracker.get_slot("visit_kind")
    fields = ["visit_kind", "merchant_id"]
    if kind != "installation":
        fields.append("terminal_id")
    fields.append("visit_address")
    if kind == "repair":
        fields.append("visit_problem")
    return fields + ["visit_time", "phone"]


def _consumables_fields(tracker: Tracker) -> list[str]:
    return ["supply_item", "supply_quantity", "supply_delivery", "merchant_id", "phone"]


def form_fields(form: str, tracker: Tracker) -> list[str]:
    return _consumables_fields(tracker) if form == CONSUMABLES_FORM else _visit_fields(tracker)


def confirm_buttons(step: str) -> list[dict[str, str]]:
    return [button(t, i, step=step) for t, i in zip(CONFIRM_TITLES, ("affirm", "deny", "cancel"))]


# --- summaries -----------------------------------------------------------------------------


def items_text(tracker: Tracker) -> str:
    item = _catalog().BY_CODE.get(tracker.get_slot("supply_item") or "")
    quantity = tracker.get_slot("supply_quantity")
    if item is None:
        return ""
    return ft.items_line(item.label, int(quantity or 0), item.unit)


def consumables_summary(tracker: Tracker) -> str:
    method = tracker.get_slot("supply_delivery")
    label = ft.SUMMARY_LABELS
    lines = [(label["items"], items_text(tracker)), (label["delivery"], DELIVERY_LABELS.get(method, ""))]
    if method == "delivery":
        lines.append((label["address"], tracker.get_slot("supply_address")))
    lines += [
        (label["merchant_id"], tracker.get_slot("merchant_id")),
        (label["phone"], mask_phone(tracker.get_slot("phone"))),
    ]
    return ft.summary(ft.CONSUMABLES_TITLE, lines)


def visit_summary(tracker: Tracker) -> str:
    kind = tracker.get_slot("visit_kind")
    label = ft.SUMMARY_LABELS
    lines = [(label["kind"], VISIT_KIND_LABELS.get(kind, "")), (label["merchant_id"], tracker.get_slot("merchant_id"))]
    if tracker.get_slot("terminal_id"):
        lines.append((label["terminal_id"], tracker.get_slot("terminal_id")))
    elif tracker.get_slot("device_serial"):
        lines.append((label["device_serial"], tracker.get_slot("device_serial")))
    lines.append(
        (label["address"], ft.address_with_area(tracker.get_slot("visit_address"), tracker.get_slot("field_area")))
    )
    if kind == "repair":
        lines.append((label["problem"], tracker.get_slot("visit_problem")))
    lines += [
        (label["time"], window_label(tracker.get_slot("visit_time"))),
        (label["phone"], mask_phone(tracker.get_slot("phone"))),
    ]
    return ft.summary(ft.VISIT_TITLE, lines)


# --- start ---------------------------------------------------------------------------------


class ActionStartConsumablesForm(Action):
    """Says what is about to happen; takes what the first message already said ("送5卷80×80的纸")."""

    def name(self) -> str:
        return "action_start_consumables_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        dispatcher.utter_message(text=ft.consumables_intro())
        events: list[EventType] = [SlotSet(PENDING, None), *reset_slots(CONSUMABLE_CASE + CONTROL)]
        events += _forget_old_phone(tracker)
        text = latest_text(tracker)
        if text.startswith("/"):
            return events
        item, _ = _catalog().find_item(text)
        if item is not None:
            events.append(SlotSet("supply_item", item.code))
            # A number in the first message is the quantity only when a unit says so ("5卷").
            if re.search(r"(\d+|[一二两三四五六七八九十]+)\s*(卷|个|块|盒|箱)", text):
                n, _ = _catalog().parse_quantity(text, item, item_limit(item))
                if n:
                    events.append(SlotSet("supply_quantity", str(n)))
        return events


class ActionStartVisitForm(Action):
    def name(self) -> str:
        return "action_start_visit_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        text = "" if latest_text(tracker).startswith("/") else latest_text(tracker)
        kind = kind_from_text(text)
        dispatcher.utter_message(text=ft.visit_intro(VISIT_KIND_LABELS.get(kind) if kind else None))
        events: list[EventType] = [SlotSet(PENDING, None), *reset_slots(VISIT_CASE + CONTROL)]
        events += _forget_old_phone(tracker)
        if kind:
            events.append(SlotSet("visit_kind", kind))
        problem = tracker.get_slot(PROBLEM) or tracker.get_slot("faq_query")
        if kind == "repair" and problem:
            described, _ = parse_description(problem)
            if described:
                events.append(SlotSet("visit_problem", described))
        return events


def _forget_old_phone(tracker: Tracker) -> list[EventType]:
    if tracker.get_slot("phone") and clear_phone(tracker, tracker.get_slot("phone")) is None:
        return [SlotSet("phone", None)]  # from long ago: the vault forgot the number, ask again
    return []


# --- validation ----------------------------------------------------------------------------


class _FieldFormValidation(FormValidation):
    """What both field forms' validators share (a mixin: rasa-sdk serves only the concrete ones).

    A wrong answer is re-asked every time (``retry``), without the ticket form's second-miss help:
    the field questions mostly come with buttons, and their problems say what to send.
    """

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        slots = form_fields(self.form, tracker)
        if self.form == VISIT_FORM:
            slots.insert(slots.index("visit_time") + 1, "visit_time_ok")
        if tracker.get_slot("field_editing"):
            slots.append("field_edit")
        return slots + ["field_confirm"]

    async def get_validation_events(self, dispatcher, tracker, domain) -> list[EventType]:
        """Only the asked slot takes this message; other slots keep what they had (an id read out
        of an address, a number read as a phone)."""
        asked = tracker.get_slot("requested_slot")
        out: dict[str, Any] = {}
        for slot, value in tracker.slots_to_validate().items():
            if slot == asked or (asked == "terminal_id" and slot == "device_serial"):
                method = getattr(self, f"validate_{slot}", None)
                result = method(value, dispatcher, tracker, domain) if method else {slot: value}
            elif asked is None:
                result = {slot: value}
            else:
                result = {slot: value_before_message(tracker, slot)}
            out.update(result)
            tracker.slots.update(result)
        return [SlotSet(k, v) for k, v in out.items()]

    # --- helpers

    def _again(self, slot: str, problem: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        keep = value_before_message(tracker, slot) if tracker.get_slot("field_editing") else None
        return self.retry(slot, problem, dispatcher, keep)

    # --- shared fields

    def validate_merchant_id(self, value, dispatcher, tracker, domain):
        parsed, problem = parse_merchant_id(revealed_text(tracker, str(value or "")))
        return {"merchant_id": parsed} if parsed else self._again("merchant_id", problem, dispatcher, tracker)

    def validate_terminal_id(self, value, dispatcher, tracker, domain):
        text = str(value or "")
        parsed, problem = parse_terminal_id(text)
        if parsed:
            return {"terminal_id": parsed}
        serial = parse_device_serial(text) or parse_device_serial(latest_text(tracker))
        if serial:
            return {"terminal_id": None, "device_serial": serial}
        return self._again("terminal_id", problem, dispatcher, tracker)

    def validate_device_serial(self, value, dispatcher, tracker, domain):
        return {"device_serial": parse_device_serial(str(value or ""))}

    def validate_phone(self, value, dispatcher, tracker, domain):
        phone, problem = parse_phone(revealed_text(tracker, str(value or "")))
        if phone:
            return {"phone": keep_phone(tracker, phone)}
        return self._again("phone", problem, dispatcher, tracker)

    def validate_field_confirm(self, value, dispatcher, tracker, domain):
        if value == "yes":
            if tracker.get_slot("phone") and clear_phone(tracker, tracker.get_slot("phone")) is None:
                from actions.texts import PHONE_FORGOTTEN

                dispatcher.utter_message(text=PHONE_FORGOTTEN)
                return {"field_confirm": None, "phone": None}
            return {"field_confirm": "yes"}
        if value == "edit":
            return {"field_confirm": None, "field_editing": True}
        field = _named_field(str(value or ""), form_fields(self.form, tracker))
        if field:
            return {"field_confirm": None, **_start_edit(field, tracker)}
        from actions.texts import confirm_reask

        dispatcher.utter_message(text=confirm_reask())
        return {"field_confirm": None}

    def validate_field_edit(self, value, dispatcher, tracker, domain):
        allowed = form_fields(self.form, tracker)
        field = value if value in allowed else _named_field(str(value or ""), allowed)
        if field:
            return {"field_edit": None, "field_editing": None, **_start_edit(field, tracker)}
        dispatcher.utter_message(text=ft.PICK_FIELD)
        return {"field_edit": None}


_EDIT_WORDS = (
    ("supply_quantity", ("数量", "几卷", "多少")),
    ("supply_item", ("耗材", "规格", "型号", "品种")),
    ("supply_delivery", ("配送", "自取", "送货")),
    ("visit_time", ("时间", "哪天", "日期")),
    ("visit_address", ("地址",)),
    ("visit_kind", ("类型", "服务")),
    ("visit_problem", ("问题", "描述")),
    ("terminal_id", ("终端", "序列")),
    ("merchant_id", ("商户",)),
    ("phone", ("手机", "电话")),
)


def _named_field(text: str, allowed: list[str]) -> str | None:
    for field, words in _EDIT_WORDS:
        if field in allowed and any(w in text for w in words):
            return field
    return None


def _start_edit(field: str, tracker: Tracker) -> dict[str, Any]:
    """Empty the field (and what hangs on it) so the form asks it again."""
    clear = {field: None}
    if field == "supply_delivery":
        clear.update(supply_address=None, field_area=None)
    if field == "visit_address":
        clear["field_area"] = None
    if field == "visit_time":
        clear.update(visit_day=None, visit_time_ok=None)
    if field == "terminal_id":
        clear["device_serial"] = None
    if field == "visit_kind":
        clear["visit_problem"] = None
    return clear


class ValidateConsumablesForm(_FieldFormValidation, FormValidationAction):
    form = CONSUMABLES_FORM

    def validate_supply_item(self, value, dispatcher, tracker, domain):
        item, problem = _catalog().find_item(str(value or ""))
        if item is None:
            return self._again("supply_item", problem, dispatcher, tracker)
        out: dict[str, Any] = {"supply_item": item.code}
        quantity = tracker.get_slot("supply_quantity")
        if quantity and int(quantity) > item_limit(item):
            out["supply_quantity"] = None  # a changed item with a lower limit: ask again
        return out

    def validate_supply_quantity(self, value, dispatcher, tracker, domain):
        item = _catalog().BY_CODE.get(tracker.get_slot("supply_item") or "")
        limit = item_limit(item) if item else _settings().field_part_max_units
        n, problem = _catalog().parse_quantity(str(value or ""), item, limit)
        if n is None:
            return self._again("supply_quantity", problem, dispatcher, tracker)
        return {"supply_quantity": str(n)}

    def validate_supply_delivery(self, value, dispatcher, tracker, domain):
        from bot.field.areas import check_address

        text = str(value or "")
        if text == "pickup" or any(w in text for w in PICKUP_WORDS):
            return {"supply_delivery": "pickup", "supply_address": None, "field_area": None}
        address, area, problem = check_address(text)
        if address is None:
            return self._again("supply_delivery", problem, dispatcher, tracker)
        return {"supply_delivery": "delivery", "supply_address": address, "field_area": area}


class ValidateVisitForm(_FieldFormValidation, FormValidationAction):
    form = VISIT_FORM

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        slots = await super().required_slots(domain_slots, dispatcher, tracker, domain)
        if tracker.get_slot("device_serial") and not tracker.get_slot("terminal_id") and "terminal_id" in slots:
            slots.remove("terminal_id")  # the serial on the label identifies the terminal too
        return slots

    def validate_visit_kind(self, value, dispatcher, tracker, domain):
        text = str(value or "")
        kind = text if text in VISIT_KINDS else kind_from_text(text)
        if kind is None:
            return self._again("visit_kind", "请点一下需要的服务类型", dispatcher, tracker)
        return {"visit_kind": kind}

    def validate_visit_address(self, value, dispatcher, tracker, domain):
        from bot.field.areas import check_address

        address, area, problem = check_address(str(value or ""))
        if address is None:
            return self._again("visit_address", problem, dispatcher, tracker)
        return {"visit_address": address, "field_area": area}

    def validate_visit_problem(self, value, dispatcher, tracker, domain):
        parsed, problem = parse_description(str(value or ""))
        return {"visit_problem": parsed} if parsed else self._again("visit_problem", problem, dispatcher, tracker)

    def validate_visit_time(self, value, dispatcher, tracker, domain):
        return _check_time(str(value or ""), dispatcher, tracker, "visit_time")

    def validate_visit_time_ok(self, value, dispatcher, tracker, domain):
        if value == "yes":
            return {"visit_time_ok": "yes"}
        if value == "no":
            return {"visit_time_ok": None, "visit_time": None, "visit_day": None}
        # A new time typed instead of a click: read it, then confirm that one. Anything else
        # keeps the time already chosen and names the buttons again.
        from bot.field.when import find_day, find_half

        text = str(value or "")
        earlier = tracker.get_slot("visit_day")
        if find_day(text, _now().date()) != (None, None) or (find_half(text) and earlier):
            result = _check_time(text, dispatcher, tracker, "visit_time")
            if result.get("visit_time") or result.get("visit_day"):
                return {**result, "visit_time_ok": None}
            return {"visit_time": tracker.get_slot("visit_time"), "visit_time_ok": None, REASKED: None}
        dispatcher.utter_message(text=ft.time_ok_reask())
        return {"visit_time_ok": None, REASKED: "visit_time_ok"}


def _check_time(text: str, dispatcher, tracker: Tracker, slot: str) -> dict[str, Any]:
    from datetime import date as _date

    from bot.field.when import parse_window

    s = _settings()
    earlier = tracker.get_slot("visit_day")
    parsed = parse_window(
        text,
        _now(),
        earlier_day=_date.fromisoformat(earlier) if earlier else None,
        min_notice_h=s.field_visit_min_notice_hours,
        max_days=s.field_visit_max_days_ahead,
    )
    if parsed.window is not None:
        return {slot: parsed.window.encode(), "visit_day": None}
    if parsed.day is not None:
        return {slot: None, "visit_day": parsed.day.isoformat(), REASKED: None}
    dispatcher.utter_message(text=ft.retry(parsed.problem or ""))
    return {slot: None, REASKED: slot}


# --- questions -----------------------------------------------------------------------------


def _plain(slot: str):
    def question(tracker: Tracker, step: str) -> tuple[str, list[dict[str, str]]]:
        return ft.FIELD_ASK[slot], []

    return question


def _ask_supply_item(tracker: Tracker, step: str) -> tuple[str, list[dict[str, str]]]:
    buttons = [button(i.label, "inform", supply_item=i.code, step=step) for i in _catalog().ITEMS]
    return ft.FIELD_ASK["supply_item"], buttons


def _ask_supply_quantity(tracker: Tracker, step: str) -> tuple[str, list[dict[str, str]]]:
    item = _catalog().BY_CODE.get(tracker.get_slot("supply_item") or "")
    unit = item.unit if item else "个"
    return ft.ask_quantity(unit, item_limit(item) if item else _settings().field_part_max_units), []


def _ask_supply_delivery(tracker: Tracker, step: str) -> tuple[str, list[dict[str, str]]]:
    return ft.ask_delivery(_settings().field_pickup_point), [
        button(ft.PICKUP_TITLE, "inform", supply_delivery="pickup", step=step)
    ]


def _ask_visit_kind(tracker: Tracker, step: str) -> tuple[str, list[dict[str, str]]]:
    return ft.FIELD_ASK["visit_kind"], [
        button(label, "inform", visit_kind=kind, step=step) for kind, label in VISIT_KIND_LABELS.items()
    ]


def _ask_visit_time(tracker: Tracker, step: str) -> tuple[str, list[dict[str, str]]]:
    from datetime import date as _date

    from bot.field.when import day_label

    day = tracker.get_slot("visit_day")
    if day:
        label = day_label(_date.fromisoformat(day))
        return ft.ask_half(label), [button(f"{label}{t}", "inform", visit_time=t, step=step) for t in ft.HALF_TITLES]
    return ft.FIELD_ASK["visit_time"], []


def _ask_visit_time_ok(tracker: Tracker, step: str) -> tuple[str, list[dict[str, str]]]:
    return ft.ask_time_ok(window_label(tracker.get_slot("visit_time")) or ""), [
        button(ft.TIME_OK_TITLES[0], "affirm", step=step),
        button(ft.TIME_OK_TITLES[1], "deny", step=step),
    ]


# The field forms' own questions (merchant id, terminal and phone are the ticket form's ask actions).
(
    ActionAskSupplyItem,
    ActionAskSupplyQuantity,
    ActionAskSupplyDelivery,
    ActionAskVisitKind,
    ActionAskVisitAddress,
    ActionAskVisitProblem,
    ActionAskVisitTime,
    ActionAskVisitTimeOk,
) = ask_actions(
    __name__,
    {
        "supply_item": _ask_supply_item,
        "supply_quantity": _ask_supply_quantity,
        "supply_delivery": _ask_supply_delivery,
        "visit_kind": _ask_visit_kind,
        "visit_address": _plain("visit_address"),
        "visit_problem": _plain("visit_problem"),
        "visit_time": _ask_visit_time,
        "visit_time_ok": _ask_visit_time_ok,
    },
)


class ActionAskFieldConfirm(Action):
    def name(self) -> str:
        return "action_ask_field_confirm"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        step = new_step("confirm")
        form = (tracker.active_loop or {}).get("name")
        text = consumables_summary(tracker) if form == CONSUMABLES_FORM else visit_summary(tracker)
        dispatcher.utter_message(text=text, buttons=confirm_buttons(step))
        return [SlotSet(STEP, step)]


class ActionAskFieldEdit(Action):
    def name(self) -> str:
        return "action_ask_field_edit"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        step = new_step("edit")
        form = (tracker.active_loop or {}).get("name") or CONSUMABLES_FORM
        dispatcher.utter_message(
            text=ft.WHICH_FIELD,
            buttons=[
                button(ft.FIELD_EDIT_LABELS[f], "inform", edit_field=f, step=step) for f in form_fields(form, tracker)
            ],
        )
        return [SlotSet(STEP, step)]


# --- submission ----------------------------------------------------------------------------


def _instance(tracker: Tracker, form: str) -> str:
    for e in reversed(tracker.events):
        if e.get("event") == "active_loop" and e.get("name") == form:
            return str(e.get("timestamp", ""))
    return ""


def _done_events() -> list[EventType]:
    return [
        SlotSet(HELPED, True),
        SlotSet(PENDING, None),
        SlotSet(STEP, None),
        SlotSet(PROBLEM, None),
        *reset_slots(CONSUMABLE_CASE + VISIT_CASE + CONTROL),
    ]


def _create(dispatcher, tracker: Tracker, form: str, data: dict[str, Any]):
    from bot.tickets.schemas import TicketCreate

    try:
        payload = TicketCreate(
            merchant_id=tracker.get_slot("merchant_id"),
            contact_phone=clear_phone(tracker, tracker.get_slot("phone")),
            channel=ticket_channel(tracker),
            sender_id=tracker.sender_id,
            transcript=transcript(tracker),
            **data,
        )
        return services().tickets.create(
            payload, idempotency_key=stable_key(tracker.sender_id, form, _instance(tracker, form))
        )
    except ValidationError as exc:
        log.error("%s produced an invalid ticket for %s: %s", form, tracker.sender_id, exc)
    except Exception:
        log.exception("%s: ticket creation failed for %s", form, tracker.sender_id)
    dispatcher.utter_message(text=ft.FIELD_DOWN)
    return None


class ActionSubmitConsumables(Action):
    def name(self) -> str:
        return "action_submit_consumables"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        if tracker.get_slot("field_confirm") != "yes":
            dispatcher.utter_message(text=ft.CANCELLED)
            return _done_events()
        item = _catalog().BY_CODE[tracker.get_slot("supply_item")]
        quantity = int(tracker.get_slot("supply_quantity"))
        method = tracker.get_slot("supply_delivery")
        field = {
            "kind": "consumables",
            "items": [{"code": item.code, "quantity": quantity}],
            "delivery_method": method,
            "address": tracker.get_slot("supply_address") if method == "delivery" else None,
            "service_area": tracker.get_slot("field_area") if method == "delivery" else None,
        }
        line = ft.items_line(item.label, quantity, item.unit)
        ticket = _create(
            dispatcher,
            tracker,
            CONSUMABLES_FORM,
            {"category": "consumables", "description": f"耗材申请：{line}", "field": field},
        )
        if ticket is None:
            return [SlotSet(STEP, None)]
        from bot.field.when import day_label

        s = _settings()
        lead = s.field_delivery_lead_days if method == "delivery" else s.field_pickup_lead_days
        dispatcher.utter_message(
            text=ft.consumables_submitted(
                ticket.number,
                line,
                method,
                ticket.field.address,
                lead,
                day_label(ticket.field.scheduled_date),
                s.field_pickup_point,
            )
        )
        return [SlotSet("last_ticket_number", ticket.number), *_done_events()]


class ActionSubmitVisit(Action):
    def name(self) -> str:
        return "action_submit_visit"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        if tracker.get_slot("field_confirm") != "yes":
            dispatcher.utter_message(text=ft.CANCELLED)
            return _done_events()
        from bot.field.when import Window

        kind = tracker.get_slot("visit_kind")
        window = Window.decode(tracker.get_slot("visit_time"))
        if window is None:  # the form validated the time; a corrupted slot must not open a ticket
            log.error("visit form of %s finished without a valid time", tracker.sender_id)
            dispatcher.utter_message(text=ft.FIELD_DOWN)
            return _done_events()
        label = VISIT_KIND_LABELS[kind]
        problem = tracker.get_slot("visit_problem") if kind == "repair" else None
        description = f"{label}：{problem}" if problem else f"{label}预约"
        field = {
            "kind": kind,
            "address": tracker.get_slot("visit_address"),
            "service_area": tracker.get_slot("field_area"),
            "scheduled_date": window.day.isoformat(),
            "half_day": window.half,
        }
        ticket = _create(
            dispatcher,
            tracker,
            VISIT_FORM,
            {
                "category": "visit",
                "description": description,
                "terminal_id": tracker.get_slot("terminal_id"),
                "device_serial": tracker.get_slot("device_serial"),
                "field": field,
            },
        )
        if ticket is None:
            return [SlotSet(STEP, None)]
        dispatcher.utter_message(
            text=ft.visit_submitted(
                ticket.number,
                label,
                window.label(),
                ticket.field.address,
                ticket.field.service_area,
                mask_phone(ticket.contact_phone),
            )
        )
        return [SlotSet("last_ticket_number", ticket.number), *_done_events()]


class ActionCancelFieldForm(Action):
    def name(self) -> str:
        return "action_cancel_field_form"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        dispatcher.utter_message(text=ft.CANCELLED)
        return [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            SlotSet(PENDING, None),
            SlotSet(STEP, None),
            *reset_slots(CONSUMABLE_CASE + VISIT_CASE + CONTROL),
        ]


# --- after the request: status, reschedule, cancel ------------------------------------------

VISIT_WORDS = ("上门", "师傅", "维修", "来人", "装机", "培训", "移机", "预约")


def _own_field_tickets(tracker: Tracker) -> list:
    from actions.tickets import own_tickets

    return [t for t in own_tickets(tracker) if t.field is not None]


def _open_visit(tracker: Tracker):
    visits = [
        t
        for t in _own_field_tickets(tracker)
        if t.field.kind != "consumables"
        and t.field.outcome is None
        and str(getattr(t.status, "value", t.status)) in ("open", "in_progress")
    ]
    return max(visits, key=lambda t: t.created_at, default=None)


class ActionCheckField(Action):
    """ "我的纸什么时候到" / "色带寄了吗" / "师傅什么时候来": the merchant's latest request of that kind."""

    def name(self) -> str:
        return "action_check_field"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        from bot.field.when import day_label

        try:
            mine = _own_field_tickets(tracker)
        except Exception:
            log.exception("field status unavailable for %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_ticket_lookup_down")
            return []
        text = latest_text(tracker)
        wants_visit = any(w in text for w in VISIT_WORDS)
        kinds = [t for t in mine if (t.field.kind != "consumables") == wants_visit] or mine
        latest = max(kinds, key=lambda t: t.created_at, default=None)
        if latest is None:
            from actions.tickets import own_tickets, ticket_status_reply

            if own_tickets(tracker):
                return ticket_status_reply(dispatcher, tracker)  # no field request, but other tickets
            dispatcher.utter_message(text=ft.NO_FIELD_TICKET)
            return [SlotSet(PENDING, None)]
        f = latest.field
        status = str(getattr(latest.status, "value", latest.status))
        if f.kind == "consumables":
            items = "；".join(ft.items_line(i["label"], i["quantity"], i["unit"]) for i in f.items)
            by = day_label(f.scheduled_date) if f.scheduled_date else None
            reply = ft.delivery_status(latest.number, items, status, f.outcome, by, f.delivery_method)
        else:
            from bot.field.when import Window

            window = Window(f.scheduled_date, f.half_day).label() if f.scheduled_date and f.half_day else None
            reply = ft.visit_status(latest.number, f.kind_label, status, f.outcome, window, bool(latest.assignee))
        dispatcher.utter_message(text=reply)
        return [SlotSet(PENDING, None), SlotSet(HELPED, True)]


class ActionRescheduleVisit(Action):
    """ "改到周五下午": moves the merchant's open visit; without a time, asks for one."""

    def name(self) -> str:
        return "action_reschedule_visit"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        from bot.field.when import Window, parse_window

        visit = _open_visit(tracker)
        if visit is None:
            dispatcher.utter_message(text=ft.NO_OPEN_VISIT)
            return [SlotSet(PENDING, None)]
        current = Window(visit.field.scheduled_date, visit.field.half_day).label() if visit.field.half_day else None
        s = _settings()
        from datetime import date as _date

        earlier = tracker.get_slot("visit_day")
        parsed = parse_window(
            latest_text(tracker),
            _now(),
            earlier_day=_date.fromisoformat(earlier) if earlier else None,
            min_notice_h=s.field_visit_min_notice_hours,
            max_days=s.field_visit_max_days_ahead,
        )
        if parsed.window is None:
            if parsed.day is not None:
                from bot.field.when import day_label

                step = new_step("reschedule")
                label = day_label(parsed.day)
                dispatcher.utter_message(
                    text=ft.ask_half(label),
                    buttons=[button(f"{label}{t}", "inform", step=step) for t in ft.HALF_TITLES],
                )
                return [
                    SlotSet(PENDING, "visit_reschedule"),
                    SlotSet("visit_day", parsed.day.isoformat()),
                    SlotSet(STEP, step),
                ]
            asked_before = tracker.get_slot(PENDING) == "visit_reschedule"
            named_a_time = re.search(r"\d|今|明|后天|周|星期|礼拜|月|号|上午|下午", latest_text(tracker))
            if parsed.problem and (asked_before or named_a_time):
                dispatcher.utter_message(text=ft.retry(parsed.problem))
            else:
                dispatcher.utter_message(text=ft.ask_reschedule(visit.number, current))
            return [SlotSet(PENDING, "visit_reschedule")]
        try:
            t = services().field.reschedule(
                visit.number, parsed.window.day, parsed.window.half, actor="merchant", tell_merchant=False
            )
        except Exception:
            log.exception("reschedule of %s failed", visit.number)
            dispatcher.utter_message(text=ft.FIELD_DOWN)
            return [SlotSet(PENDING, None)]
        dispatcher.utter_message(text=ft.rescheduled(t.number, parsed.window.label()))
        return [SlotSet(PENDING, None), SlotSet("visit_day", None), SlotSet(HELPED, True)]


class ActionCancelVisit(Action):
    """ "不用来了取消吧": asks once, then calls off the merchant's open visit."""

    def name(self) -> str:
        return "action_cancel_visit"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        from bot.field.when import Window

        visit = _open_visit(tracker)
        if visit is None:
            dispatcher.utter_message(text=ft.NO_VISIT_TO_CANCEL)
            return [SlotSet(PENDING, None)]
        window = Window(visit.field.scheduled_date, visit.field.half_day).label() if visit.field.half_day else None
        if tracker.get_slot(PENDING) != "visit_cancel":
            step = new_step("visitcancel")
            dispatcher.utter_message(
                text=ft.ask_cancel_visit(visit.number, window),
                buttons=[
                    button(ft.CANCEL_VISIT_TITLES[0], "affirm", step=step),
                    button(ft.CANCEL_VISIT_TITLES[1], "deny", step=step),
                ],
            )
            return [SlotSet(PENDING, "visit_cancel"), SlotSet(STEP, step)]
        if latest_intent(tracker) != "affirm":
            dispatcher.utter_message(text=ft.VISIT_KEPT)
            return [SlotSet(PENDING, None), SlotSet(STEP, None)]
        try:
            services().field.cancel(visit.number, actor="merchant", tell_merchant=False)
        except Exception:
            log.exception("cancel of %s failed", visit.number)
            dispatcher.utter_message(text=ft.FIELD_DOWN)
            return [SlotSet(PENDING, None)]
        dispatcher.utter_message(text=ft.visit_cancelled(visit.number))
        return [SlotSet(PENDING, None), SlotSet(STEP, None), SlotSet(HELPED, True)]


# --- care -----------------------------------------------------------------------------------


class ActionCareChecklist(Action):
    def name(self) -> str:
        return "action_care_checklist"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        from bot.field.care import checklist

        # No step id: opting in is right whenever it is clicked.
        dispatcher.utter_message(text=checklist(), buttons=[button(ft.REMINDER_TITLE, "care_reminder")])
        return [SlotSet(HELPED, True)]


STOP_WORDS = ("不用", "取消", "关闭", "别再", "不要", "停止", "关掉", "退订")


class ActionCareReminder(Action):
    """Opt in ("提醒我保养") or out ("不用提醒保养了") of the periodic care reminder."""

    def name(self) -> str:
        return "action_care_reminder"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        from bot.field import reminders

        text = latest_text(tracker)
        try:
            if not text.startswith("/") and any(w in text for w in STOP_WORDS):
                stopped = reminders.opt_out(services().db, tracker.sender_id)
                dispatcher.utter_message(text=ft.REMINDER_OFF if stopped else ft.REMINDER_NOT_ON)
            else:
                days = _settings().field_care_reminder_days
                reminders.opt_in(services().db, tracker.sender_id, tracker.get_slot("merchant_id"), days)
                dispatcher.utter_message(text=ft.reminder_on(days))
        except Exception:
            log.exception("care reminder change failed for %s", tracker.sender_id)
            dispatcher.utter_message(text=ft.FIELD_DOWN)
        return [SlotSet(STEP, None)]

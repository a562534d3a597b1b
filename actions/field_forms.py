"""The consumables and visit forms: their start, and the validators that check every answer.

The start actions say what is about to happen and take what the first message already said
("送5卷80×80的纸", "新店要装一台"). The validators re-ask with what is wrong (a size we do
not have, 0 or 500 rolls, a time in the past); a refused answer never clears what was
accepted before. Names, slots and limits: actions/field_common.py; questions:
actions/field_questions.py.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import field_texts as ft
from actions.common import (
    PENDING,
    PROBLEM,
    clear_phone,
    keep_phone,
    latest_text,
    reset_slots,
    revealed_text,
    value_before_message,
)
from actions.field_common import (
    CONSUMABLE_CASE,
    CONSUMABLES_FORM,
    CONTROL,
    VISIT_CASE,
    VISIT_FORM,
    catalog,
    form_fields,
    item_limit,
    local_now,
    settings,
)
from actions.form_kit import REASKED, FormValidation
from actions.texts import PHONE_FORGOTTEN, confirm_reask
from actions.validators import (
    parse_description,
    parse_device_serial,
    parse_merchant_id,
    parse_phone,
    parse_terminal_id,
)
from bot.field.areas import check_address
from bot.field.when import find_day, find_half, parse_window
from bot.vocabulary import VISIT_KIND_LABELS

VISIT_KINDS = ("installation", "repair", "relocation", "training")
# Words of the first message that say which visit it is ("新店要装一台", "要搬店了").
KIND_WORDS = (
    ("relocation", ("移机", "搬店", "搬家", "搬到", "换地方", "换个地方", "迁址", "挪")),
    ("training", ("培训", "教一下", "教教", "教我", "不会用", "怎么操作")),
    ("installation", ("装机", "安装", "装一台", "装台", "新装", "新店", "开新店", "装个", "加一台")),
    ("repair", ("修", "坏", "故障", "看看", "看一下", "检查", "不能用", "用不了", "不出纸", "不打印")),
)
PICKUP_WORDS = ("自取", "自提", "自己取", "自己拿", "自己去拿", "自己来拿", "去拿", "来拿", "网点", "到店取", "我去取")


def kind_from_text(text: str) -> str | None:
    for kind, words in KIND_WORDS:
        if any(w in (text or "") for w in words):
            return kind
    return None


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
        item, _ = catalog().find_item(text)
        if item is not None:
            events.append(SlotSet("supply_item", item.code))
            # A number in the first message is the quantity only when a unit says so ("5卷").
            if re.search(r"(\d+|[一二两三四五六七八九十]+)\s*(卷|个|块|盒|箱)", text):
                n, _ = catalog().parse_quantity(text, item, item_limit(item))
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
                dispatcher.utter_message(text=PHONE_FORGOTTEN)
                return {"field_confirm": None, "phone": None}
            return {"field_confirm": "yes"}
        if value == "edit":
            return {"field_confirm": None, "field_editing": True}
        field = _named_field(str(value or ""), form_fields(self.form, tracker))
        if field:
            return {"field_confirm": None, **_start_edit(field, tracker)}

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
        item, problem = catalog().find_item(str(value or ""))
        if item is None:
            return self._again("supply_item", problem, dispatcher, tracker)
        out: dict[str, Any] = {"supply_item": item.code}
        quantity = tracker.get_slot("supply_quantity")
        if quantity and int(quantity) > item_limit(item):
            out["supply_quantity"] = None  # a changed item with a lower limit: ask again
        return out

    def validate_supply_quantity(self, value, dispatcher, tracker, domain):
        item = catalog().BY_CODE.get(tracker.get_slot("supply_item") or "")
        limit = item_limit(item) if item else settings().field_part_max_units
        n, problem = catalog().parse_quantity(str(value or ""), item, limit)
        if n is None:
            return self._again("supply_quantity", problem, dispatcher, tracker)
        return {"supply_quantity": str(n)}

    def validate_supply_delivery(self, value, dispatcher, tracker, domain):

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

        text = str(value or "")
        earlier = tracker.get_slot("visit_day")
        if find_day(text, local_now().date()) != (None, None) or (find_half(text) and earlier):
            result = _check_time(text, dispatcher, tracker, "visit_time")
            if result.get("visit_time") or result.get("visit_day"):
                return {**result, "visit_time_ok": None}
            return {"visit_time": tracker.get_slot("visit_time"), "visit_time_ok": None, REASKED: None}
        dispatcher.utter_message(text=ft.time_ok_reask())
        return {"visit_time_ok": None, REASKED: "visit_time_ok"}


def _check_time(text: str, dispatcher, tracker: Tracker, slot: str) -> dict[str, Any]:
    from datetime import date as _date

    s = settings()
    earlier = tracker.get_slot("visit_day")
    parsed = parse_window(
        text,
        local_now(),
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

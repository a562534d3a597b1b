"""The field forms' questions: one ask action per slot, the summary to confirm, which field to change.

Each question is a row of ``ask_actions`` (actions/form_kit.py); the merchant id, terminal
and phone are asked by the ticket form's ask actions. The summary lists what was collected
(the phone masked) with 确认提交 / 修改 / 取消.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet

from actions import field_texts as ft
from actions.common import STEP, button, mask_phone, new_step
from actions.field_common import CONSUMABLES_FORM, catalog, form_fields, item_limit, settings
from actions.form_kit import ask_actions
from actions.texts import CONFIRM_TITLES
from bot.field.when import Window, day_label
from bot.vocabulary import DELIVERY_LABELS, VISIT_KIND_LABELS


def window_label(value: str | None) -> str | None:

    w = Window.decode(value)
    return w.label() if w else None


def confirm_buttons(step: str) -> list[dict[str, str]]:
    return [button(t, i, step=step) for t, i in zip(CONFIRM_TITLES, ("affirm", "deny", "cancel"))]


# --- summaries -----------------------------------------------------------------------------


def items_text(tracker: Tracker) -> str:
    item = catalog().BY_CODE.get(tracker.get_slot("supply_item") or "")
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


# --- questions -----------------------------------------------------------------------------


def _plain(slot: str):
    def question(tracker: Tracker, step: str) -> tuple[str, list[dict[str, str]]]:
        return ft.FIELD_ASK[slot], []

    return question


def _ask_supply_item(tracker: Tracker, step: str) -> tuple[str, list[dict[str, str]]]:
    buttons = [button(i.label, "inform", supply_item=i.code, step=step) for i in catalog().ITEMS]
    return ft.FIELD_ASK["supply_item"], buttons


def _ask_supply_quantity(tracker: Tracker, step: str) -> tuple[str, list[dict[str, str]]]:
    item = catalog().BY_CODE.get(tracker.get_slot("supply_item") or "")
    unit = item.unit if item else "个"
    return ft.ask_quantity(unit, item_limit(item) if item else settings().field_part_max_units), []


def _ask_supply_delivery(tracker: Tracker, step: str) -> tuple[str, list[dict[str, str]]]:
    return ft.ask_delivery(settings().field_pickup_point), [
        button(ft.PICKUP_TITLE, "inform", supply_delivery="pickup", step=step)
    ]


def _ask_visit_kind(tracker: Tracker, step: str) -> tuple[str, list[dict[str, str]]]:
    return ft.FIELD_ASK["visit_kind"], [
        button(label, "inform", visit_kind=kind, step=step) for kind, label in VISIT_KIND_LABELS.items()
    ]


def _ask_visit_time(tracker: Tracker, step: str) -> tuple[str, list[dict[str, str]]]:
    from datetime import date as _date

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

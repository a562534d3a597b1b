"""The field forms' end: a confirmed request becomes a ticket with its field job; or the form is called off.

``action_submit_consumables`` / ``action_submit_visit`` create a ticket of category
``consumables`` / ``visit`` (idempotent per form instance) and say when it arrives or who
comes; ``action_cancel_field_form`` leaves either form halfway. The case slots are
cleared either way; the merchant id and phone stay.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet

from actions import field_texts as ft
from actions.common import (
    HELPED,
    PENDING,
    PROBLEM,
    STEP,
    clear_phone,
    mask_phone,
    reset_slots,
    services,
    stable_key,
    ticket_channel,
    transcript,
)
from actions.field_common import CONSUMABLE_CASE, CONSUMABLES_FORM, CONTROL, VISIT_CASE, VISIT_FORM, catalog, settings
from bot.field.when import Window, day_label
from bot.tickets.schemas import TicketCreate
from bot.vocabulary import VISIT_KIND_LABELS

log = logging.getLogger(__name__)


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
        item = catalog().BY_CODE[tracker.get_slot("supply_item")]
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

        s = settings()
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

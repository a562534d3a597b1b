"""The ticket form's end: the confirmed ticket is created (once per form instance), or the form is cancelled.

``action_submit_ticket`` creates the ticket with an idempotency key of the form instance
(``submission_key``: a late second click of 确认提交 finds the same ticket), or says
goodbye when the merchant stopped; a ticket the service refuses or cannot store is offered
to a person instead. ``action_cancel_form`` leaves the form at any point.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from pydantic import ValidationError
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import texts
from actions.common import (
    FORM_CASE_SLOTS,
    FORM_CONTROL_SLOTS,
    FORM_SLOTS,
    HELPED,
    PENDING,
    PROBLEM,
    STEP,
    button,
    clear_phone,
    new_step,
    reset_slots,
    services,
    stable_key,
    ticket_channel,
    transcript,
)
from actions.ticket_fields import FORM, category

log = logging.getLogger(__name__)


def form_instance(tracker: Tracker, before: int | None = None) -> str:
    """Timestamp of the activation of the form instance being submitted (or the last one before
    event index ``before``)."""
    events = tracker.events if before is None else tracker.events[:before]
    for e in reversed(events):
        if e.get("event") == "active_loop" and e.get("name") == FORM:
            return str(e.get("timestamp", ""))
    return ""


def submission_key(tracker: Tracker, instance: str) -> str:
    """Idempotency key of the ticket one form instance creates."""
    return stable_key(tracker.sender_id, FORM, instance)


def _ticket_description(tracker: Tracker) -> str:
    extra = []
    if tracker.get_slot("fault_type"):
        extra.append(f"故障类型：{texts.fault_type_label(tracker.get_slot('fault_type'))}")
    if tracker.get_slot("terminal_model"):
        extra.append(f"机型：{tracker.get_slot('terminal_model')}")
    text = tracker.get_slot("description") or ""
    return f"{text}（{'；'.join(extra)}）" if extra else text


class ActionSubmitTicket(Action):
    """The form is done: create the confirmed ticket, or say goodbye if the merchant stopped."""

    def name(self) -> str:
        return "action_submit_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        if tracker.get_slot("ticket_continue") == "no" or tracker.get_slot("ticket_confirm") != "yes":
            dispatcher.utter_message(response="utter_ticket_not_filed")
            return [SlotSet(STEP, None), *reset_slots(FORM_SLOTS)]
        from bot.tickets.schemas import TicketCreate

        cat = category(tracker)
        amount = tracker.get_slot("amount")
        try:
            data = TicketCreate(
                category=cat,
                merchant_id=tracker.get_slot("merchant_id"),
                terminal_id=tracker.get_slot("terminal_id"),
                device_serial=tracker.get_slot("device_serial"),
                contact_phone=clear_phone(tracker, tracker.get_slot("phone")),
                description=_ticket_description(tracker),
                settlement_date=tracker.get_slot("txn_date") if cat == "settlement" else None,
                settlement_amount=Decimal(amount) if cat == "settlement" and amount else None,
                channel=ticket_channel(tracker),
                sender_id=tracker.sender_id,
                transcript=transcript(tracker),
            )
        except ValidationError as exc:
            # The form validated every field; this is a bug, not the merchant's fault.
            log.error("ticket form produced an invalid ticket for %s: %s", tracker.sender_id, exc)
            return self._offer_person(dispatcher, "utter_ticket_invalid")
        try:
            ticket = services().tickets.create(data, idempotency_key=submission_key(tracker, form_instance(tracker)))
        except Exception:
            log.exception("ticket creation failed for %s", tracker.sender_id)
            return self._offer_person(dispatcher, "utter_ticket_system_down")
        dispatcher.utter_message(text=texts.ticket_submitted(ticket.number, cat, ticket.contact_phone))
        # Identity slots stay (the merchant confirmed them); the case itself is done.
        return [
            SlotSet("last_ticket_number", ticket.number),
            SlotSet(HELPED, True),
            SlotSet(PENDING, None),
            SlotSet(STEP, None),
            SlotSet(PROBLEM, None),
            *reset_slots(FORM_CASE_SLOTS + FORM_CONTROL_SLOTS),
        ]

    @staticmethod
    def _offer_person(dispatcher: CollectingDispatcher, response: str) -> list[EventType]:
        step = new_step("handoff_offer")
        dispatcher.utter_message(
            response=response,
            buttons=[
                button(texts.HANDOFF_TITLES[0], "affirm", step=step),
                button(texts.HANDOFF_TITLES[1], "deny", step=step),
            ],
        )
        return [SlotSet(PENDING, "handoff_offer"), SlotSet(STEP, step)]


class ActionCancelForm(Action):
    def name(self) -> str:
        return "action_cancel_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        dispatcher.utter_message(response="utter_ticket_cancelled")
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet(STEP, None), *reset_slots(FORM_SLOTS)]

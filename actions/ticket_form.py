"""The ticket form's start and its validator: a form that forgives (validate_ticket_form).

* Only the field being asked takes a bare number. Rasa's slot mappings also read ids
  out of every message (and DIET sometimes reads a mistyped phone as a merchant id); a
  value for another field is taken only when the field is still empty, or the merchant
  names it ("终端号改成…"), and never from a bare number.
* A value once accepted is never cleared by a later message: a candidate that is
  refused restores the value it would have replaced. Changing a value is explicit
  (修改, or naming the field), and the old value comes back if the new one never arrives.
* The two-strikes help counts per field, and a valid value of another field ("this is a
  phone number, not a merchant id") is said as such instead of counting as a miss.

The fields and how they are read: actions/ticket_fields.py.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import texts
from actions.common import (
    FORM_CONTROL_SLOTS,
    PENDING,
    PROBLEM,
    clear_phone,
    latest_intent,
    reset_slots,
    revealed_text,
    value_before_message,
)
from actions.form_kit import ATTEMPTS, REASKED, FormValidation
from actions.ticket_fields import (
    ANSWERS_OF,
    DATA_SLOTS,
    FORM,
    SERIAL_PROBLEM,
    asked_slot,
    category,
    check_slot,
    edit_choices,
    field_from_text,
    field_of_slot,
    local_today,
    parse_slot,
    slots_of_field,
)
from actions.validators import (
    bare_number,
    other_id_field,
    parse_amount,
    parse_date,
    parse_description,
    parse_device_serial,
    parse_merchant_id,
    parse_terminal_id,
)
from bot.vocabulary import CATEGORY_LABELS


class ActionStartTicketForm(Action):
    """Says what is about to happen and clears what a previous form left behind."""

    def name(self) -> str:
        return "action_start_ticket_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        cat = category(tracker)
        dispatcher.utter_message(text=texts.form_intro(CATEGORY_LABELS[cat]))
        # question_step stays the offer's until the form asks: the form's activation reads the
        # accepting click again, and it must not look like an old button.
        events: list[EventType] = [SlotSet(PENDING, None), SlotSet("ticket_category", cat)]
        events += reset_slots(FORM_CONTROL_SLOTS)
        # The problem the merchant chose (their words, or the suggestion they clicked) is the
        # description; they confirm it at the end.
        if tracker.get_slot("phone") and clear_phone(tracker, tracker.get_slot("phone")) is None:
            events.append(SlotSet("phone", None))  # a phone from long ago: the vault forgot it, so ask again
        problem = tracker.get_slot(PROBLEM) or tracker.get_slot("faq_query")
        if not tracker.get_slot("description") and problem:
            described, _ = parse_description(problem)
            if described:
                events.append(SlotSet("description", described))
        return events


class ValidateTicketForm(FormValidation, FormValidationAction):
    form = FORM

    def kept_when_rejected(self, slot: str, value: Any, tracker: Tracker) -> Any:
        # An urgent message that also carries a real value ("急！商户号898…") keeps the value.
        return parse_slot(slot, value, tracker) if slot in DATA_SLOTS else None

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if tracker.get_slot("ticket_continue") == "no":
            return []  # the merchant chose to stop: the form ends, action_submit_ticket says goodbye
        use_serial = tracker.get_slot("device_serial") and not tracker.get_slot("terminal_id")
        slots = ["merchant_id", "device_serial" if use_serial else "terminal_id", "phone"]
        if category(tracker) == "settlement":
            slots += ["txn_date", "amount"]
        slots.append("description")
        if tracker.get_slot("ticket_editing"):
            slots.append("edit_field")
        slots.append("ticket_confirm")
        if tracker.get_slot("form_paused_field"):
            slots.insert(0, "ticket_continue")
        return slots

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Validate this message's slot candidates; only the asked field answers from a bare number."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        asked = asked_slot(tracker)
        answers = ANSWERS_OF.get(asked or "", (asked,))
        out: dict[str, Any] = {}
        for slot, value in tracker.slots_to_validate().items():
            if slot in DATA_SLOTS and asked is None:
                # Activation: values the merchant gave before; a wrong one is simply asked for.
                result = {slot: parse_slot(slot, value, tracker)}
            elif slot in DATA_SLOTS and slot not in answers:
                result = self._not_asked(slot, value, tracker, at_confirmation=asked == "ticket_confirm")
            elif slot in required:
                method = getattr(self, f"validate_{slot}", None)
                result = method(value, dispatcher, tracker, domain) if method else {slot: value}
            else:
                continue  # e.g. a serial while the terminal id is asked: validate_terminal_id reads it
            out.update(result)
            tracker.slots.update(result)
        return [SlotSet(slot, value) for slot, value in out.items()]

    # --- shared outcome helpers -------------------------------------------------------

    @staticmethod
    def _not_asked(slot: str, value: Any, tracker: Tracker, *, at_confirmation: bool) -> dict[str, Any]:
        """A value for a field that was not asked: keep it only when it is clearly meant for that field."""
        previous = value_before_message(tracker, slot)
        text = revealed_text(tracker)
        parsed = parse_slot(slot, value, tracker)
        named = field_from_text(text, [field_of_slot(slot)]) is not None
        if parsed is not None and not bare_number(text) and (previous is None or named):
            return {slot: parsed}  # given along the way ("终端号12345678，手机13812345678"), or corrected by name
        if parsed is not None and at_confirmation and previous is not None:
            return {slot: parsed}  # the corrected value itself, typed at the summary
        return {slot: previous}  # never cleared or replaced by an answer to another question

    @staticmethod
    def _valid(field: str, value: Any, tracker: Tracker, **extra: Any) -> dict[str, Any]:
        attempts = dict(tracker.get_slot(ATTEMPTS) or {})
        out: dict[str, Any] = {field: value, **extra}
        if attempts.pop(field, None) is not None:
            out[ATTEMPTS] = attempts or None
        if tracker.get_slot("form_paused_field") == field:
            out["form_paused_field"] = None
        backup = dict(tracker.get_slot("edit_backup") or {})
        if any(backup.pop(s, None) is not None for s in ANSWERS_OF.get(field, (field,))):
            out["edit_backup"] = backup or None
        return out

    def not_a_miss(self, field: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any] | None:
        other = other_id_field(revealed_text(tracker), field)
        if other is None:
            return None
        # A valid value of another field is not a miss: say what it looks like, ask again.
        dispatcher.utter_message(text=texts.looks_like_other_field(other, field))
        return {field: None, REASKED: field}

    def second_miss(
        self, field: str, problem: str, dispatcher: CollectingDispatcher, tracker: Tracker, attempts: dict | None
    ) -> dict[str, Any]:
        """The second miss explains where to find the value (and offers to stop), or, while an accepted
        value was being changed, gives the old value back."""
        backup = dict(tracker.get_slot("edit_backup") or {})
        editing = [s for s in ANSWERS_OF.get(field, (field,)) if s in backup]
        if editing:
            restored = {s: backup.pop(s) for s in editing}
            dispatcher.utter_message(text=texts.edit_failed(problem, field))
            return {**restored, ATTEMPTS: attempts, "edit_backup": backup or None}
        dispatcher.utter_message(text=texts.where_to_find(problem, field))
        return {field: None, ATTEMPTS: attempts, "form_paused_field": field}

    @staticmethod
    def _kept(field: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any] | None:
        """ "不改了" while changing a value: restore it. None when no change is under way."""
        backup = dict(tracker.get_slot("edit_backup") or {})
        editing = [s for s in ANSWERS_OF.get(field, (field,)) if s in backup]
        if latest_intent(tracker) != "deny" or not editing:
            return None
        restored = {s: backup.pop(s) for s in editing}
        dispatcher.utter_message(text=texts.kept_value(field))
        return {**restored, "edit_backup": backup or None}

    def _check(self, field: str, parsed: Any, problem: str | None, dispatcher, tracker) -> dict[str, Any]:
        if parsed:
            return self._valid(field, parsed, tracker)
        return self._kept(field, dispatcher, tracker) or self.miss(field, problem or "", dispatcher, tracker)

    # --- one method per slot ----------------------------------------------------------

    def validate_merchant_id(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        parsed, problem = parse_merchant_id(str(value or ""))
        return self._check("merchant_id", parsed, problem, dispatcher, tracker)

    def validate_terminal_id(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        text = str(value or "")
        parsed, problem = parse_terminal_id(text)
        if parsed:
            return self._valid("terminal_id", parsed, tracker)
        serial = parse_device_serial(text) or parse_device_serial(revealed_text(tracker))
        if serial:
            # The merchant answered with the serial on the device label: that identifies it too.
            return self._valid("terminal_id", None, tracker, device_serial=serial)
        assert problem is not None  # parse_terminal_id gives a value or a problem
        return self._kept("terminal_id", dispatcher, tracker) or self.miss("terminal_id", problem, dispatcher, tracker)

    def validate_device_serial(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        serial = parse_device_serial(str(value or ""))
        if serial:
            return self._valid("device_serial", serial, tracker)
        terminal, _ = parse_terminal_id(revealed_text(tracker))
        if terminal:
            return self._valid("device_serial", None, tracker, terminal_id=terminal)
        kept = self._kept("device_serial", dispatcher, tracker)
        if kept is not None:
            return kept
        return self.miss("device_serial", SERIAL_PROBLEM, dispatcher, tracker)

    def validate_phone(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        parsed, problem = check_slot("phone", value, tracker)
        return self._check("phone", parsed, problem, dispatcher, tracker)

    def validate_txn_date(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        parsed, problem = parse_date(str(value or ""), local_today())
        return self._check("txn_date", parsed, problem, dispatcher, tracker)

    def validate_amount(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        parsed, problem = parse_amount(str(value or ""))
        return self._check("amount", parsed, problem, dispatcher, tracker)

    def validate_description(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        parsed, problem = parse_description(str(value or ""))
        return self._check("description", parsed, problem, dispatcher, tracker)

    def validate_ticket_continue(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        paused = tracker.get_slot("form_paused_field")
        if not paused:
            return {"ticket_continue": None}  # the paused field was just answered: the form goes on
        if value == "yes":
            dispatcher.utter_message(response="utter_form_continue")
            return {"ticket_continue": None, "form_paused_field": None}
        if value == "no":
            return {"ticket_continue": "no"}
        # Neither button: maybe the value itself, typed instead of clicking 继续登记.
        parsed, problem = check_slot(paused, value, tracker)
        if parsed is not None:
            return {"ticket_continue": None, **self._valid(paused, parsed, tracker)}
        if problem and bare_number(revealed_text(tracker, str(value or ""))):
            dispatcher.utter_message(text=texts.problem_only(problem))
        return {"ticket_continue": None}  # action_ask_ticket_continue names the buttons again

    def validate_ticket_confirm(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        if value == "yes":
            if tracker.get_slot("phone") and clear_phone(tracker, tracker.get_slot("phone")) is None:
                # The vault forgot the number (pii_vault_ttl_s): ask it again, then the summary again.
                dispatcher.utter_message(text=texts.PHONE_FORGOTTEN)
                return {"ticket_confirm": None, "phone": None}
            return {"ticket_confirm": "yes"}
        if value == "edit":
            return {"ticket_confirm": None, "ticket_editing": True}
        just_given = {
            s
            for s in set(tracker.slots_to_validate()) & set(DATA_SLOTS)
            if tracker.get_slot(s) != value_before_message(tracker, s)
        }
        if just_given:
            return {"ticket_confirm": None}  # a corrected value came with the message: show the summary again
        field = field_from_text(str(value or ""), edit_choices(tracker))
        if field:
            return {"ticket_confirm": None, **self._start_edit(field, tracker)}
        dispatcher.utter_message(text=texts.confirm_reask())
        return {"ticket_confirm": None}

    def validate_edit_field(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        allowed = edit_choices(tracker)
        field = value if value in allowed else field_from_text(str(value or ""), allowed)
        if field:
            return {"edit_field": None, "ticket_editing": None, **self._start_edit(field, tracker)}
        if any(
            tracker.get_slot(s) != value_before_message(tracker, s)
            for s in set(tracker.slots_to_validate()) & set(DATA_SLOTS)
        ):
            return {"edit_field": None, "ticket_editing": None}  # they typed the new value right away
        dispatcher.utter_message(response="utter_form_pick_field")
        return {"edit_field": None}

    @staticmethod
    def _start_edit(field: str, tracker: Tracker) -> dict[str, Any]:
        """Empty the field so the form asks it again; keep the old value to restore."""
        backup = dict(tracker.get_slot("edit_backup") or {})
        for s in slots_of_field(field):
            if tracker.get_slot(s) is not None:
                backup[s] = tracker.get_slot(s)
        return {**{s: None for s in slots_of_field(field)}, "edit_backup": backup or None}

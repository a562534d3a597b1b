"""The ticket form: one form (``ticket_form``) for repair, settlement, activation and other tickets.

One form with a ``ticket_category`` slot rather than three forms: the questions, the
validation, the confirmation, the edit loop and the rules are the same for every
category; only settlement asks two more questions (date and amount), which
``required_slots`` adds. Three forms would triple the rules and the tests for that.

Flow: action_start_ticket_form (intro) → ticket_form asks what is missing →
validate_ticket_form checks every answer → summary with 确认提交/修改/取消 →
action_submit_ticket creates the ticket. 取消 at any point → action_cancel_form.

A form that forgives (validate_ticket_form):

* Only the field being asked takes a bare number. Rasa's slot mappings also read ids
  out of every message (and DIET sometimes reads a mistyped phone as a merchant id); a
  value for another field is taken only when the field is still empty, or the merchant
  names it ("终端号改成…"), and never from a bare number.
* A value once accepted is never cleared by a later message: a candidate that is
  refused restores the value it would have replaced. Changing a value is explicit
  (修改, or naming the field), and the old value comes back if the new one never arrives.
* The two-strikes help counts per field, and a valid value of another field ("this is a
  phone number, not a merchant id") is said as such instead of counting as a miss.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import common, texts
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
    keep_phone,
    latest_intent,
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
from actions.form_kit import ATTEMPTS, REASKED, FormValidation, ask_actions
from actions.validators import (
    bare_number,
    other_id_field,
    parse_amount,
    parse_date,
    parse_description,
    parse_device_serial,
    parse_merchant_id,
    parse_phone,
    parse_terminal_id,
)
from bot.vocabulary import CATEGORY_LABELS

log = logging.getLogger(__name__)

FORM = "ticket_form"
TICKET_CATEGORIES = ("repair", "settlement", "activation", "other")

EDIT_FIELD_WORDS = (
    ("merchant_id", ("商户",)),
    ("terminal", ("终端", "序列", "SN", "sn", "机身")),
    ("phone", ("手机", "电话", "联系")),
    ("txn_date", ("日期", "哪天", "时间")),
    ("amount", ("金额", "钱", "多少")),
    ("description", ("描述", "问题", "情况")),
)
DATA_SLOTS = ("merchant_id", "terminal_id", "device_serial", "phone", "txn_date", "amount", "description")
# Slots one question accepts: the terminal question takes a serial number too.
ANSWERS_OF = {"terminal_id": ("terminal_id", "device_serial"), "device_serial": ("device_serial", "terminal_id")}


def category(tracker: Tracker) -> str:
    value = tracker.get_slot("ticket_category")
    return value if value in TICKET_CATEGORIES else "repair"


def local_today() -> date:
    return common.now_utc().astimezone(ZoneInfo(services().settings.timezone)).date()


def summary(tracker: Tracker) -> str:
    """Everything collected, for the merchant to confirm."""
    cat = category(tracker)
    label = texts.SUMMARY_LABELS
    lines = [(label["merchant_id"], tracker.get_slot("merchant_id"))]
    if tracker.get_slot("terminal_id"):
        lines.append((label["terminal_id"], tracker.get_slot("terminal_id")))
    elif tracker.get_slot("device_serial"):
        lines.append((label["device_serial"], tracker.get_slot("device_serial")))
    # Masked: the summary is stored (transcript, Rasa) like every bot message; the merchant
    # still sees the number they typed in full, right above it on their own screen.
    lines.append((label["phone"], mask_phone(tracker.get_slot("phone"))))
    if cat == "settlement":
        lines.append((label["txn_date"], tracker.get_slot("txn_date")))
        lines.append((label["amount"], texts.yuan(tracker.get_slot("amount"))))
    lines.append((label["description"], tracker.get_slot("description")))
    return texts.summary(CATEGORY_LABELS[cat], lines)


def edit_choices(tracker: Tracker) -> list[str]:
    fields = ["merchant_id", "terminal", "phone"]
    if category(tracker) == "settlement":
        fields += ["txn_date", "amount"]
    return fields + ["description"]


def slots_of_field(field: str) -> tuple[str, ...]:
    return ("terminal_id", "device_serial") if field == "terminal" else (field,)


def field_of_slot(slot: str) -> str:
    return "terminal" if slot in ("terminal_id", "device_serial") else slot


def field_from_text(text: str, allowed: list[str]) -> str | None:
    for field, words in EDIT_FIELD_WORDS:
        if field in allowed and any(w in (text or "") for w in words):
            return field
    return None


def asked_slot(tracker: Tracker) -> str | None:
    """The field the merchant is answering: the requested slot, or the field a pause is about."""
    requested = tracker.get_slot("requested_slot")
    if requested == "ticket_continue":
        return tracker.get_slot("form_paused_field")
    return requested


SERIAL_PROBLEM = texts.SERIAL_PROBLEM


def check_slot(slot: str, value: Any, tracker: Tracker) -> tuple[Any, str | None]:
    """``(normalised value, None)`` or ``(None, what is wrong)`` for a value of ``slot``.

    A phone's normalised value is its masked form (138****5678): that is what the slot holds
    and Rasa stores; the number itself waits in the phone vault for the ticket."""
    text = str(value or "")
    if slot == "merchant_id":
        return parse_merchant_id(text)
    if slot == "terminal_id":
        return parse_terminal_id(text)
    if slot == "device_serial":
        serial = parse_device_serial(text)
        return (serial, None) if serial else (None, SERIAL_PROBLEM)
    if slot == "phone":
        phone, problem = parse_phone(revealed_text(tracker, text))
        return (keep_phone(tracker, phone), None) if phone else (None, problem)
    if slot == "txn_date":
        return parse_date(text, local_today())
    if slot == "amount":
        return parse_amount(text)
    if slot == "description":
        return parse_description(text)
    return None, None


def parse_slot(slot: str, value: Any, tracker: Tracker) -> Any:
    """The normalised value of ``slot`` from ``value``, or None when it is not valid."""
    return check_slot(slot, value, tracker)[0]


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


CONTINUE_INTENTS = ("affirm", "deny")


def continue_buttons(step: str) -> list[dict[str, str]]:
    return [button(title, intent, step=step) for title, intent in zip(texts.CONTINUE_TITLES, CONTINUE_INTENTS)]


def confirm_buttons(step: str) -> list[dict[str, str]]:
    return [
        button(title, intent, step=step) for title, intent in zip(texts.CONFIRM_TITLES, ("affirm", "deny", "cancel"))
    ]


def ask_question(slot: str):
    """The ticket form's question for ``slot``; while the merchant changes a value, naming the old one."""

    def question(tracker: Tracker, step: str) -> tuple[str, list[dict[str, str]]]:
        backup = tracker.get_slot("edit_backup") or {}
        old = next((backup[s] for s in ANSWERS_OF.get(slot, (slot,)) if s in backup), None)
        return (texts.ask_new_value(slot, old) if old is not None else texts.ASK_TEXTS[slot]), []

    return question


ASKED_SLOTS = ("merchant_id", "terminal_id", "device_serial", "phone", "txn_date", "amount", "description")
(
    ActionAskMerchantId,
    ActionAskTerminalId,
    ActionAskDeviceSerial,
    ActionAskPhone,
    ActionAskTxnDate,
    ActionAskAmount,
    ActionAskDescription,
) = ask_actions(__name__, {slot: ask_question(slot) for slot in ASKED_SLOTS})


class ActionAskTicketContinue(Action):
    def name(self) -> str:
        return "action_ask_ticket_continue"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        step = new_step("continue")
        dispatcher.utter_message(text=texts.continue_prompt(), buttons=continue_buttons(step))
        return [SlotSet(STEP, step)]


class ActionAskTicketConfirm(Action):
    def name(self) -> str:
        return "action_ask_ticket_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        step = new_step("confirm")
        dispatcher.utter_message(text=summary(tracker), buttons=confirm_buttons(step))
        return [SlotSet(STEP, step)]


class ActionAskEditField(Action):
    def name(self) -> str:
        return "action_ask_edit_field"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        step = new_step("edit")
        dispatcher.utter_message(
            response="utter_form_which_field",
            buttons=[button(texts.FIELD_LABELS[f], "inform", edit_field=f, step=step) for f in edit_choices(tracker)],
        )
        return [SlotSet(STEP, step)]


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

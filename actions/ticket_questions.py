"""The ticket form's questions: one ask action per field, the pause (继续登记?), the summary, which field to change.

The field questions are rows of ``ask_actions`` (actions/form_kit.py); while the merchant
changes a value, the question names the value being replaced. The summary lists what was
collected (the phone masked) with 确认提交 / 修改 / 取消.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import texts
from actions.common import STEP, button, mask_phone, new_step
from actions.form_kit import ask_actions
from actions.ticket_fields import ANSWERS_OF, category, edit_choices
from bot.vocabulary import CATEGORY_LABELS


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

"""The ticket form's fields: its name and categories, which slots it asks, how a value is read and checked.

One form (``ticket_form``) with a ``ticket_category`` slot serves repair, settlement,
activation and other tickets, rather than three forms: the questions, the validation,
the confirmation, the edit loop and the rules are the same for every category; only
settlement asks two more questions (date and amount), which ``required_slots`` adds.
Three forms would triple the rules and the tests for that.

Flow: action_start_ticket_form (intro) → ticket_form asks what is missing →
validate_ticket_form checks every answer (actions/ticket_form.py) → summary with
确认提交/修改/取消 (actions/ticket_questions.py) → action_submit_ticket creates the ticket
(actions/ticket_submit.py). 取消 at any point → action_cancel_form.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker

from actions import common, texts
from actions.common import keep_phone, revealed_text, services
from actions.validators import (
    parse_amount,
    parse_date,
    parse_description,
    parse_device_serial,
    parse_merchant_id,
    parse_phone,
    parse_terminal_id,
)

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

"""The ticket form: one form (``ticket_form``) for repair, settlement, activation and other tickets.

One form with a ``ticket_category`` slot rather than three forms: the questions, the
validation, the confirmation, the edit loop and the rules are the same for every
category; only settlement asks two more questions (date and amount), which
``required_slots`` adds. Three forms would triple the rules and the tests for that.

Flow: action_start_ticket_form (intro) → ticket_form asks what is missing →
validate_ticket_form checks every answer → summary with 确认/修改/取消 → action_submit_ticket
creates the ticket. 取消 at any point → action_cancel_form.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecutionRejected, ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import common
from actions.common import (
    CATEGORY_LABELS,
    FORM_CASE_SLOTS,
    FORM_CONTROL_SLOTS,
    FORM_SLOTS,
    HELPED,
    PENDING,
    URGENT,
    button,
    mask_phone,
    reset_slots,
    services,
    stable_key,
    ticket_channel,
    transcript,
)
from actions.validators import (
    parse_amount,
    parse_date,
    parse_description,
    parse_device_serial,
    parse_merchant_id,
    parse_phone,
    parse_terminal_id,
)

log = logging.getLogger(__name__)

FORM = "ticket_form"
TICKET_CATEGORIES = ("repair", "settlement", "activation", "other")

FIELD_LABELS = {
    "merchant_id": "商户号",
    "terminal": "终端号/序列号",
    "phone": "手机号",
    "txn_date": "交易日期",
    "amount": "交易金额",
    "description": "问题描述",
}
# Where to find each value: shown after the second wrong answer for the same field.
WHERE_TO_FIND = {
    "merchant_id": "商户号印在签购单（刷卡小票）最上方的“商户编号”一栏；商户App“我的/商户信息”里也能看到。",
    "terminal_id": "终端号印在签购单最上方、商户编号下面的“终端编号”一栏；没有签购单的话，"
    "也可以发机身背面标签上的SN序列号。",
    "phone": "客服会通过这个号码联系您，请留一个能接通的11位手机号（1开头）。",
    "txn_date": "可以说“今天”“昨天”“前天”，或者“11月20日”；签购单上也印着交易时间。",
    "amount": "请只发金额数字，比如 1280 或 1280.50（单位：元），签购单上“金额”一栏就是。",
    "description": "简单说一下遇到的问题就行，比如“打印机不出纸”“昨天的款没到账”。",
}
# What each category's merchant can expect after submitting.
NEXT_STEPS = {
    "repair": "技术客服会先电话帮您远程排查，需要上门或换机会和您约时间",
    "settlement": "结算专员会核实这笔交易的清算和出款情况",
    "activation": "开通专员会核对资料并协助您完成激活",
    "other": "客服会尽快跟进处理",
}
CONFIRM_BUTTONS = [button("确认提交", "affirm"), button("修改", "deny"), button("取消", "cancel")]
EDIT_FIELD_WORDS = (
    ("merchant_id", ("商户",)),
    ("terminal", ("终端", "序列", "SN", "sn", "机身")),
    ("phone", ("手机", "电话", "联系")),
    ("txn_date", ("日期", "哪天", "时间")),
    ("amount", ("金额", "钱", "多少")),
    ("description", ("描述", "问题", "情况")),
)
DATA_SLOTS = ("merchant_id", "terminal_id", "device_serial", "phone", "txn_date", "amount", "description")


def category(tracker: Tracker) -> str:
    value = tracker.get_slot("ticket_category")
    return value if value in TICKET_CATEGORIES else "repair"


def local_today() -> date:
    return common.now_utc().astimezone(ZoneInfo(services().settings.timezone)).date()


def summary(tracker: Tracker) -> str:
    """Everything collected, for the merchant to confirm."""
    cat = category(tracker)
    lines = [f"请核对工单信息（{CATEGORY_LABELS[cat]}）：", f"· 商户号：{tracker.get_slot('merchant_id')}"]
    if tracker.get_slot("terminal_id"):
        lines.append(f"· 终端号：{tracker.get_slot('terminal_id')}")
    elif tracker.get_slot("device_serial"):
        lines.append(f"· 设备序列号：{tracker.get_slot('device_serial')}")
    lines.append(f"· 联系手机：{tracker.get_slot('phone')}")
    if cat == "settlement":
        lines.append(f"· 交易日期：{tracker.get_slot('txn_date')}")
        lines.append(f"· 交易金额：{tracker.get_slot('amount')} 元")
    lines.append(f"· 问题描述：{tracker.get_slot('description')}")
    lines.append("没问题请点“确认提交”；需要改就点“修改”。")
    return "\n".join(lines)


def edit_choices(tracker: Tracker) -> list[str]:
    fields = ["merchant_id", "terminal", "phone"]
    if category(tracker) == "settlement":
        fields += ["txn_date", "amount"]
    return fields + ["description"]


def slots_of_field(field: str) -> tuple[str, ...]:
    return ("terminal_id", "device_serial") if field == "terminal" else (field,)


def field_from_text(text: str, allowed: list[str]) -> str | None:
    for field, words in EDIT_FIELD_WORDS:
        if field in allowed and any(w in (text or "") for w in words):
            return field
    return None


class ActionStartTicketForm(Action):
    """Says what is about to happen and clears what a previous form left behind."""

    def name(self) -> str:
        return "action_start_ticket_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        cat = category(tracker)
        dispatcher.utter_message(
            text=f"好的，我来帮您登记{CATEGORY_LABELS[cat]}工单，需要几项信息，之前告诉过我的就不用再说了。"
            "中途说“取消”可以随时退出。"
        )
        events: list[EventType] = [SlotSet(PENDING, None), SlotSet("ticket_category", cat)]
        events += reset_slots(FORM_CONTROL_SLOTS)
        # The words the merchant first used for the problem are the description; they confirm it at the end.
        query = tracker.get_slot("faq_query")
        if not tracker.get_slot("description") and query:
            described, _ = parse_description(query)
            if described:
                events.append(SlotSet("description", described))
        return events


class ValidateTicketForm(FormValidationAction):
    def name(self) -> str:
        return "validate_ticket_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if tracker.get_slot(URGENT) and tracker.active_loop.get("name") == FORM:
            # An angry or urgent message must reach a person, not fill a form field:
            # rejecting lets the urgency rule run action_handoff.
            return [ActionExecutionRejected(FORM)]
        return await super().run(dispatcher, tracker, domain)

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

    # --- shared outcome helpers -------------------------------------------------------

    @staticmethod
    def _valid(field: str, value: Any, tracker: Tracker, **extra: Any) -> dict[str, Any]:
        attempts = dict(tracker.get_slot("invalid_attempts") or {})
        out: dict[str, Any] = {field: value, **extra}
        if attempts.pop(field, None) is not None:
            out["invalid_attempts"] = attempts or None
        if tracker.get_slot("form_paused_field") == field:
            out["form_paused_field"] = None
        return out

    @staticmethod
    def _invalid(field: str, problem: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        """Re-ask with what is wrong; the second miss in a row explains where to find the value."""
        attempts = dict(tracker.get_slot("invalid_attempts") or {})
        count = int(attempts.get(field, 0)) + 1
        if count >= 2:
            attempts.pop(field, None)
            dispatcher.utter_message(text=f"{problem}。\n{WHERE_TO_FIND[field]}")
            return {field: None, "invalid_attempts": attempts or None, "form_paused_field": field}
        attempts[field] = count
        dispatcher.utter_message(text=f"{problem}，请再发一次～")
        return {field: None, "invalid_attempts": attempts}

    # --- one method per slot ----------------------------------------------------------

    def validate_merchant_id(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        parsed, problem = parse_merchant_id(str(value or ""))
        if parsed:
            return self._valid("merchant_id", parsed, tracker)
        return self._invalid("merchant_id", problem, dispatcher, tracker)

    def validate_terminal_id(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        text = str(value or "")
        parsed, problem = parse_terminal_id(text)
        if parsed:
            return self._valid("terminal_id", parsed, tracker)
        serial = parse_device_serial(text)
        if serial:
            # The merchant answered with the serial on the device label: that identifies it too.
            return self._valid("terminal_id", None, tracker, device_serial=serial)
        if tracker.get_slot("device_serial"):
            return {"terminal_id": None}  # a serial came as an entity in the same message
        return self._invalid("terminal_id", problem, dispatcher, tracker)

    def validate_device_serial(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        serial = parse_device_serial(str(value or ""))
        if serial:
            return {"device_serial": serial}
        return {"device_serial": None}

    def validate_phone(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        parsed, problem = parse_phone(str(value or ""))
        if parsed:
            return self._valid("phone", parsed, tracker)
        return self._invalid("phone", problem, dispatcher, tracker)

    def validate_txn_date(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        parsed, problem = parse_date(str(value or ""), local_today())
        if parsed:
            return self._valid("txn_date", parsed, tracker)
        return self._invalid("txn_date", problem, dispatcher, tracker)

    def validate_amount(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        parsed, problem = parse_amount(str(value or ""))
        if parsed:
            return self._valid("amount", parsed, tracker)
        return self._invalid("amount", problem, dispatcher, tracker)

    def validate_description(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        parsed, problem = parse_description(str(value or ""))
        if parsed:
            return self._valid("description", parsed, tracker)
        return self._invalid("description", problem, dispatcher, tracker)

    def validate_ticket_continue(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        if value == "yes":
            dispatcher.utter_message(text="好的，我们继续～")
            return {"ticket_continue": None, "form_paused_field": None}
        if value == "no":
            return {"ticket_continue": "no"}
        dispatcher.utter_message(text="请回复“继续”或者“不登记了”～")
        return {"ticket_continue": None}

    def validate_ticket_confirm(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        if value == "yes":
            return {"ticket_confirm": "yes"}
        if value == "edit":
            return {"ticket_confirm": None, "ticket_editing": True}
        just_given = set(tracker.slots_to_validate()) & set(DATA_SLOTS)
        if just_given:
            return {"ticket_confirm": None}  # a corrected value came with the message: show the summary again
        field = field_from_text(str(value or ""), edit_choices(tracker))
        if field:
            dispatcher.utter_message(text=f"好的，我们重新填一下{FIELD_LABELS[field]}。")
            return {"ticket_confirm": None, **{s: None for s in slots_of_field(field)}}
        dispatcher.utter_message(text="请点“确认提交”；要改哪一项可以点“修改”，不登记了就点“取消”。")
        return {"ticket_confirm": None}

    def validate_edit_field(self, value: Any, dispatcher, tracker, domain) -> dict[str, Any]:
        allowed = edit_choices(tracker)
        field = value if value in allowed else field_from_text(str(value or ""), allowed)
        if field:
            return {"edit_field": None, "ticket_editing": None, **{s: None for s in slots_of_field(field)}}
        if set(tracker.slots_to_validate()) & set(DATA_SLOTS):
            return {"edit_field": None, "ticket_editing": None}  # they typed the new value right away
        dispatcher.utter_message(text="请点一下要修改的项目～")
        return {"edit_field": None}


ASK_TEXTS = {
    "merchant_id": "请提供您的15位商户号（印在签购单最上方）：",
    "terminal_id": "请提供8位终端号（签购单上商户编号下面一行）；手边没有签购单的话，发机身背面标签上的SN序列号也可以。",
    "phone": "请留一个能联系到您的手机号（11位）：",
    "txn_date": "请问是哪天的交易？可以说“昨天”“前天”或“11月20日”。",
    "amount": "这笔交易的金额是多少元？",
    "description": "请简单描述一下遇到的问题，比如“打印机不出纸”“昨天的款没到账”：",
}
CONTINUE_BUTTONS = [button("继续登记", "affirm"), button("先不登记了", "deny")]


def validator_just_complained(tracker: Tracker, slot: str) -> bool:
    """True when this form run's validation already said what was wrong with ``slot`` ("…请再发一次")."""
    if not (tracker.get_slot("invalid_attempts") or {}).get(slot):
        return False
    for e in reversed(tracker.events):
        if e.get("event") == "bot":
            return True
        if e.get("event") in ("action", "user"):
            return False  # reached the form's own execution marker or the merchant's message
    return False


class _AskSlot:
    """Asks for one form slot; after a wrong answer the validator's message already re-asked."""

    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        if not validator_just_complained(tracker, self.slot):
            dispatcher.utter_message(text=ASK_TEXTS[self.slot])
        return []


class ActionAskMerchantId(_AskSlot, Action):
    slot = "merchant_id"


class ActionAskTerminalId(_AskSlot, Action):
    slot = "terminal_id"


class ActionAskPhone(_AskSlot, Action):
    slot = "phone"


class ActionAskTxnDate(_AskSlot, Action):
    slot = "txn_date"


class ActionAskAmount(_AskSlot, Action):
    slot = "amount"


class ActionAskDescription(_AskSlot, Action):
    slot = "description"


class ActionAskTicketContinue(Action):
    def name(self) -> str:
        return "action_ask_ticket_continue"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        dispatcher.utter_message(text="还要继续登记工单吗？", buttons=CONTINUE_BUTTONS)
        return []


class ActionAskTicketConfirm(Action):
    def name(self) -> str:
        return "action_ask_ticket_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        dispatcher.utter_message(text=summary(tracker), buttons=CONFIRM_BUTTONS)
        return []


class ActionAskEditField(Action):
    def name(self) -> str:
        return "action_ask_edit_field"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        dispatcher.utter_message(
            text="请问要修改哪一项？",
            buttons=[button(FIELD_LABELS[f], "inform", edit_field=f) for f in edit_choices(tracker)],
        )
        return []


def _form_instance(tracker: Tracker) -> str:
    """Timestamp of the activation of the form instance being submitted."""
    for e in reversed(tracker.events):
        if e.get("event") == "active_loop" and e.get("name") == FORM:
            return str(e.get("timestamp", ""))
    return ""


def _ticket_description(tracker: Tracker) -> str:
    extra = []
    if tracker.get_slot("fault_type"):
        extra.append(f"故障类型：{tracker.get_slot('fault_type')}")
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
            dispatcher.utter_message(
                text="好的，这次先不登记了。找到信息后随时再找我，也可以说“转人工”让客服帮您。"
            )
            return reset_slots(FORM_SLOTS)
        from bot.tickets.schemas import TicketCreate

        cat = category(tracker)
        amount = tracker.get_slot("amount")
        try:
            data = TicketCreate(
                category=cat,
                merchant_id=tracker.get_slot("merchant_id"),
                terminal_id=tracker.get_slot("terminal_id"),
                device_serial=tracker.get_slot("device_serial"),
                contact_phone=tracker.get_slot("phone"),
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
            dispatcher.utter_message(text="抱歉，工单信息有点问题没能提交。要为您转人工客服吗？",
                                     buttons=[button("转人工", "affirm"), button("不用了", "deny")])
            return [SlotSet(PENDING, "handoff_offer")]
        key = stable_key(tracker.sender_id, FORM, _form_instance(tracker))
        try:
            ticket = services().tickets.create(data, idempotency_key=key)
        except Exception:
            log.exception("ticket creation failed for %s", tracker.sender_id)
            dispatcher.utter_message(
                text="抱歉，工单系统暂时出了点问题，没能提交成功😥 要为您转人工客服吗？",
                buttons=[button("转人工", "affirm"), button("不用了", "deny")],
            )
            return [SlotSet(PENDING, "handoff_offer")]
        dispatcher.utter_message(
            text=(
                f"工单已提交 ✅\n工单号：{ticket.number}\n接下来：\n"
                f"1. {NEXT_STEPS[cat]}，会通过 {mask_phone(ticket.contact_phone)} 联系您；\n"
                f"2. 想看进度，随时发“查工单 {ticket.number}”；\n"
                "3. 处理完成后，我会在这里通知您。"
            )
        )
        # Identity slots stay (the merchant confirmed them); the case itself is done.
        return [
            SlotSet("last_ticket_number", ticket.number),
            SlotSet(HELPED, True),
            SlotSet(PENDING, None),
            *reset_slots(FORM_CASE_SLOTS + FORM_CONTROL_SLOTS),
        ]


class ActionCancelForm(Action):
    def name(self) -> str:
        return "action_cancel_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        dispatcher.utter_message(text="好的，已取消这次工单登记，填写的信息已清除。还有其他问题随时问我～")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *reset_slots(FORM_SLOTS)]

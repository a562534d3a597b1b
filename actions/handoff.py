"""转人工: hand the conversation to a person.

Triggered by request_human, by an anger/urgency keyword (``urgent`` slot, see
actions.common.URGENT_KEYWORDS) and by two fallbacks in a row (from action_faq_search).
Creates a ``handoff`` ticket with the transcript, marks the conversation as owned by a
person (the chat layer then keeps the bot silent until staff hand it back) and tells
the merchant what happens next, depending on the service hours.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import common
from actions.common import (
    FALLBACKS,
    FORM_CASE_SLOTS,
    FORM_CONTROL_SLOTS,
    PENDING,
    URGENT,
    channel_of,
    latest_text,
    message_key,
    reset_slots,
    services,
    ticket_channel,
    transcript,
)
from bot.conversations.hours import ServiceHours

log = logging.getLogger(__name__)

REASON_TEXT = {
    "request_human": "商户要求转人工客服",
    "urgent": "商户情绪激动或情况紧急，已自动转人工",
    "fallback": "机器人连续两次没能回答，已自动转人工",
}


def _description(tracker: Tracker, reason: str) -> str:
    parts = [REASON_TEXT.get(reason, "转人工")]
    last = latest_text(tracker).strip()
    if last and not last.startswith("/"):
        parts.append(f"商户最后说：{last}")
    query = tracker.get_slot("faq_query")
    if query and query != last:
        parts.append(f"之前咨询：{query}")
    for slot, label in (("fault_type", "故障类型"), ("terminal_model", "机型"), ("description", "问题描述")):
        if tracker.get_slot(slot):
            parts.append(f"{label}：{tracker.get_slot(slot)}")
    return "\n".join(parts)


def _create_ticket(tracker: Tracker, reason: str):
    """The handoff ticket, or None when the ticket service cannot take it (logged)."""
    from bot.tickets.schemas import TicketCreate

    try:
        data = TicketCreate(
            category="handoff",
            priority="high" if reason == "urgent" else "normal",
            merchant_id=tracker.get_slot("merchant_id"),
            terminal_id=tracker.get_slot("terminal_id"),
            device_serial=tracker.get_slot("device_serial"),
            contact_phone=tracker.get_slot("phone"),
            description=_description(tracker, reason),
            channel=ticket_channel(tracker),
            sender_id=tracker.sender_id,
            transcript=transcript(tracker),
        )
    except ValidationError as exc:
        # Handoff tickets need no merchant id or phone (the chat is the contact), so this is a
        # slot value the schema refuses; the handoff still happens: staff have the transcript.
        log.info(
            "handoff of %s without ticket: %s",
            tracker.sender_id,
            "; ".join(e["msg"] for e in exc.errors()),
        )
        return None
    try:
        return services().tickets.create(data, idempotency_key=message_key(tracker))
    except Exception:
        log.exception("handoff ticket for %s failed", tracker.sender_id)
        return None


def _next_steps(number: str | None, reason: str) -> str:
    svc = services()
    now = common.now_utc()
    sorry = "非常抱歉给您带来不好的体验😔 " if reason == "urgent" else ""
    ref = f"（工单号 {number}）" if number else ""
    try:
        hours = ServiceHours.parse(svc.settings.service_hours, svc.settings.timezone)
    except ValueError:
        log.error("invalid service_hours %r: treating as always open", svc.settings.service_hours)
        hours = None
    if hours is None or hours.is_open(now):
        return f"{sorry}已为您转接人工客服，请稍候，客服会在这里回复您{ref}。"
    ticket = f"已为您登记工单 {number}，" if number else "已为您记录下来，"
    return (
        f"{sorry}现在是非人工服务时间（人工客服在线时间 {hours.label}）。{ticket}"
        f"客服会在{hours.describe_next_open(now)} 上班后尽快在这里回复您。\n"
        "您可以先留言补充情况（比如商户号、手机号、遇到的问题），客服上线后会一并查看。"
    )


def perform_handoff(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> list[EventType]:
    """Create the handoff ticket, silence the bot for this conversation and tell the merchant."""
    conv = tracker.sender_id
    ticket = _create_ticket(tracker, reason)
    number = ticket.number if ticket is not None else None
    try:
        services().conversations.start_handoff(conv, channel_of(conv), number, reason)
    except Exception:
        log.exception("start_handoff failed for %s", conv)
        dispatcher.utter_message(
            text="抱歉，转接人工暂时没有成功，请稍后再说一次“转人工”，着急的话可拨打机身背面的客服热线。"
        )
        return [SlotSet(URGENT, None), SlotSet(FALLBACKS, 0.0), SlotSet(PENDING, None)]
    dispatcher.utter_message(text=_next_steps(number, reason))
    events: list[EventType] = [SlotSet(URGENT, None), SlotSet(FALLBACKS, 0.0), SlotSet(PENDING, None)]
    if number:
        events.append(SlotSet("last_ticket_number", number))
    if (tracker.active_loop or {}).get("name"):
        # A person takes over mid-form: leave the form; collected identity slots stay for reuse.
        events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        events += reset_slots(FORM_CASE_SLOTS + FORM_CONTROL_SLOTS)
    return events


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        reason = "urgent" if tracker.get_slot(URGENT) else "request_human"
        return perform_handoff(dispatcher, tracker, reason)

"""转人工: hand the conversation to a person, as one story per problem.

Triggered by request_human, by an anger/urgency keyword (``urgent`` slot, see
actions.common.URGENT_KEYWORDS) and by two fallbacks in a row (from action_faq_search).

When the conversation already has an unfinished ticket (a repair ticket just filed, say),
the handoff joins it: an internal note says why the merchant asked for a person, an urgent
request raises its priority, and the agent works on that ticket. Otherwise a ``handoff``
ticket is opened with the transcript and everything the merchant already told the bot.
Either way the conversation is marked as owned by a person (the chat layer keeps the bot
silent until staff hand it back) and the merchant hears one consistent promise of when a
person answers (bot.conversations.hours.reply_promise), asked only for what is missing.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import common, texts
from actions.common import (
    FALLBACKS,
    FORM_CASE_SLOTS,
    FORM_CONTROL_SLOTS,
    PENDING,
    STEP,
    URGENT,
    clear_phone,
    in_form,
    latest_text,
    message_key,
    reset_slots,
    services,
    ticket_channel,
    transcript,
)
from bot.conversations import hours
from bot.tickets.schemas import TicketCreate, TicketPatch
from bot.vocabulary import channel_of

log = logging.getLogger(__name__)

REASON_TEXT = {
    "request_human": "商户要求转人工客服",
    "urgent": "商户情绪激动或情况紧急，已自动转人工",
    "fallback": "机器人连续两次没能回答，已自动转人工",
}
ACTIVE_STATUSES = ("open", "in_progress")


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
            value = tracker.get_slot(slot)
            parts.append(f"{label}：{texts.fault_type_label(value) if slot == 'fault_type' else value}")
    return "\n".join(parts)


def open_ticket_of(tracker: Tracker):
    """The conversation's newest unfinished ticket, or None."""
    try:
        mine = services().tickets.list_for_conversation(tracker.sender_id, limit=20)
    except Exception:
        log.exception("tickets of %s unavailable", tracker.sender_id)
        return None
    return next((t for t in mine if getattr(t.status, "value", t.status) in ACTIVE_STATUSES), None)


def _attach(ticket, tracker: Tracker, reason: str):
    """Note on the open ticket why a person is needed now (once per message); urgent raises it."""
    svc = services().tickets
    note = _description(tracker, reason)
    try:
        last = [e for e in svc.events(ticket.number) if getattr(e.type, "value", e.type) == "commented"]
        if not last or (last[-1].data or {}).get("body") != note:  # a retried action adds nothing
            svc.add_comment(ticket.number, "bot", note)
        if reason == "urgent" and getattr(ticket.priority, "value", ticket.priority) in ("low", "normal"):
            svc.update(ticket.number, TicketPatch(priority="high"), actor="bot")
    except Exception:
        log.exception("handoff note on %s failed", ticket.number)
    return ticket


def _create_ticket(tracker: Tracker, reason: str):
    """The handoff ticket, or None when the ticket service cannot take it (logged)."""
    try:
        data = TicketCreate(
            category="handoff",
            priority="high" if reason == "urgent" else "normal",
            merchant_id=tracker.get_slot("merchant_id"),
            terminal_id=tracker.get_slot("terminal_id"),
            device_serial=tracker.get_slot("device_serial"),
            contact_phone=clear_phone(tracker, tracker.get_slot("phone")),
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


def _ticket_of_this_message(tracker: Tracker) -> str | None:
    try:
        created = services().tickets.find_by_idempotency_key(message_key(tracker))
    except Exception:
        log.exception("idempotency lookup for %s failed", tracker.sender_id)
        return None
    return created.number if created is not None else None


def _missing(tracker: Tracker, ticket) -> list[str]:
    """What a person will need and nobody has told us yet (merchant id, phone)."""
    known = {
        "merchant_id": tracker.get_slot("merchant_id") or (ticket.merchant_id if ticket else None),
        "phone": tracker.get_slot("phone") or (ticket.contact_phone if ticket else None),
    }
    return [k for k, v in known.items() if not v]


def perform_handoff(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> list[EventType]:
    """Join or open the ticket, silence the bot for this conversation and tell the merchant."""
    conv = tracker.sender_id
    existing = open_ticket_of(tracker)
    if existing is not None and existing.number == _ticket_of_this_message(tracker):
        ticket, existing = existing, None  # a retried action: the ticket it opened the first time
    elif existing is not None:
        ticket = _attach(existing, tracker, reason)
    else:
        ticket = _create_ticket(tracker, reason)
    number = ticket.number if ticket is not None else None
    after = [SlotSet(URGENT, None), SlotSet(FALLBACKS, 0.0), SlotSet(PENDING, None), SlotSet(STEP, None)]
    try:
        services().conversations.start_handoff(conv, channel_of(conv), number, reason)
    except Exception:
        log.exception("start_handoff failed for %s", conv)
        dispatcher.utter_message(response="utter_handoff_failed")
        return after
    now = common.now_utc()
    service_hours = hours.from_settings(services().settings)
    dispatcher.utter_message(
        text=texts.handoff_reply(
            hours.reply_promise(service_hours, now),
            number=number,
            attached=existing is not None,
            urgent=reason == "urgent",
            open_now=service_hours is None or service_hours.is_open(now),
            missing=_missing(tracker, ticket),
        )
    )
    events: list[EventType] = list(after)
    if number:
        events.append(SlotSet("last_ticket_number", number))
    if in_form(tracker):
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

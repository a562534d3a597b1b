"""Ticket status ("查工单"), private by default.

A ticket is shown in a chat only to the conversation that opened it, or after the merchant
proved who they are: the mobile number on the ticket (the bot asks for it), or the
merchant identity the host app signs (``verified_merchant_id`` in the message metadata,
see actions.common.verified_merchant_id). A stranger's guess gets the same answer for a
ticket that exists and one that does not (no oracle for ticket numbers), never a
resolution text, and is told how to check safely.

"我的工单怎么样了" lists this conversation's tickets (and, with a verified identity, the
merchant's): unfinished ones first, newest first, states named as they are.
"""

from __future__ import annotations

import logging
import re
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import ticket_status_texts as st
from actions.common import (
    HELPED,
    PENDING,
    entity,
    in_form,
    latest_intent,
    latest_text,
    revealed_text,
    services,
    verified_merchant_id,
)
from actions.validators import normalize, parse_phone
from bot.field.when import HALF_LABELS, day_label
from bot.masking import mask_id
from bot.tickets import TicketNotFound
from bot.tickets.numbers import find_ticket_number
from bot.tickets.schemas import TicketFilters
from bot.vocabulary import CATEGORY_LABELS

log = logging.getLogger(__name__)

MAX_LISTED = 5
VERIFY_TRIES = 3  # wrong phones for one ticket before the bot stops asking
VERIFY_TICKET = "verify_ticket"  # the ticket number waiting for the phone check
VERIFY_FAILS = "verify_failures"  # {ticket number: wrong phones so far}
VERIFIED = "verified_tickets"  # numbers this session proved with the phone
ACTIVE = ("in_progress", "open")


def _value(v) -> str:
    return getattr(v, "value", v)


def ticket_number_in(tracker: Tracker) -> str | None:
    value = entity(tracker, "ticket_number")
    return find_ticket_number(str(value)) if value else find_ticket_number(normalize(latest_text(tracker)))


def merchant_id_in(tracker: Tracker) -> str | None:
    """A merchant id named in this message ("查工单 898310048161234")."""
    value = entity(tracker, "merchant_id")
    if value and len(str(value)) == 15 and str(value).isdigit():
        return str(value)
    m = re.search(r"(?<!\d)\d{15}(?!\d)", normalize(latest_text(tracker)))
    return m.group(0) if m else None


def may_see(ticket, tracker: Tracker) -> bool:
    """The conversation that opened the ticket, a verified merchant, or a phone proved this session."""
    if ticket.sender_id and ticket.sender_id == tracker.sender_id:
        return True
    verified = verified_merchant_id(tracker)
    if verified and ticket.merchant_id == verified:
        return True
    return ticket.number in (tracker.get_slot(VERIFIED) or [])


def describe(ticket, tz: ZoneInfo) -> str:
    """One ticket as its merchant reads it; the resolution only if staff sent it to them."""
    status = _value(ticket.status)
    category = _value(ticket.category)
    resolution = None
    if status in ("resolved", "closed"):
        try:
            resolution = services().tickets.told_resolution(ticket.number)
        except Exception:
            log.exception("resolution of %s unavailable", ticket.number)
    lines = st.ticket_lines(
        ticket.number,
        CATEGORY_LABELS.get(category, category),
        status,
        f"{ticket.updated_at.astimezone(tz):%Y-%m-%d %H:%M}",
        resolution,
    )
    field = getattr(ticket, "field", None)
    if field is not None and field.outcome is None and status in ACTIVE and field.scheduled_date:
        when = day_label(field.scheduled_date) + HALF_LABELS.get(field.half_day or "", "")
        lines += st.field_when_line(field.kind, when)
    return lines


def overview(tickets: list, tz: ZoneInfo) -> str:
    """Unfinished tickets first (in progress before waiting), each group newest first."""

    def order(t):
        status = _value(t.status)
        rank = ACTIVE.index(status) if status in ACTIVE else len(ACTIVE)
        return (rank, -t.created_at.timestamp())

    ranked = sorted(tickets, key=order)
    shown, more = ranked[:MAX_LISTED], max(0, len(ranked) - MAX_LISTED)
    # The counts are of all tickets, the list of the first few: "6 张…" with 5 shown says so.
    counts = {s: sum(1 for t in ranked if _value(t.status) == s) for s in ACTIVE}
    return st.tickets_overview(
        [describe(t, tz) for t in shown if _value(t.status) in ACTIVE],
        [describe(t, tz) for t in shown if _value(t.status) not in ACTIVE],
        counts,
        more,
    )


def own_tickets(tracker: Tracker) -> list:
    """This conversation's tickets, the ones proved with their phone this session, and the
    verified merchant's from any channel."""
    svc = services().tickets
    found = {t.number: t for t in svc.list_for_conversation(tracker.sender_id, limit=50)}
    for number in tracker.get_slot(VERIFIED) or []:
        if number not in found:
            try:
                found[number] = svc.get(number)
            except TicketNotFound:
                continue
    verified = verified_merchant_id(tracker)
    if verified:
        for t in svc.list(TicketFilters(merchant_id=verified), limit=50).items:
            found.setdefault(t.number, t)
    return list(found.values())


def _shown(dispatcher: CollectingDispatcher, text: str) -> list[EventType]:
    dispatcher.utter_message(text=text)
    return [SlotSet(PENDING, None), SlotSet(HELPED, True), SlotSet(VERIFY_TICKET, None)]


def ask_phone(dispatcher: CollectingDispatcher, number: str) -> list[EventType]:
    dispatcher.utter_message(text=st.ask_phone_to_verify(number))
    return [SlotSet(PENDING, "verify_phone"), SlotSet(VERIFY_TICKET, number)]


def by_number(dispatcher: CollectingDispatcher, tracker: Tracker, number: str, tz: ZoneInfo) -> list[EventType]:
    try:
        ticket = services().tickets.get(number)
    except TicketNotFound:
        ticket = None
    if ticket is not None and may_see(ticket, tracker):
        return _shown(dispatcher, describe(ticket, tz))
    if in_form(tracker):
        # The form is asking for its own fields (a phone among them): check the ticket afterwards.
        dispatcher.utter_message(text=st.verify_after_form(number))
        return []
    failures = (tracker.get_slot(VERIFY_FAILS) or {}).get(number, 0)
    if failures >= VERIFY_TRIES:
        dispatcher.utter_message(text=st.check_safely())
        return [SlotSet(PENDING, None), SlotSet(VERIFY_TICKET, None)]
    # Unknown or someone else's: the same answer, so a guessed number reveals nothing.
    return ask_phone(dispatcher, number)


def verify_phone(dispatcher: CollectingDispatcher, tracker: Tracker, number: str, tz: ZoneInfo) -> list[EventType]:
    """The merchant answered the phone question for ``number``."""
    phone, _ = parse_phone(revealed_text(tracker))  # the chat masked it; the vault has the number
    if phone is None and latest_intent(tracker) == "deny":
        dispatcher.utter_message(text=st.check_safely())
        return [SlotSet(PENDING, None), SlotSet(VERIFY_TICKET, None)]
    if phone is None:
        dispatcher.utter_message(text=st.ask_phone_to_verify(number))
        return [SlotSet(PENDING, "verify_phone")]
    try:
        ticket = services().tickets.get(number)
    except TicketNotFound:
        ticket = None
    if ticket is not None and ticket.contact_phone == phone:
        verified = list(tracker.get_slot(VERIFIED) or [])
        return _shown(dispatcher, describe(ticket, tz)) + [SlotSet(VERIFIED, [*verified, number])]
    failures = dict(tracker.get_slot(VERIFY_FAILS) or {})
    failures[number] = failures.get(number, 0) + 1
    log.info("conversation %s: phone check for a ticket failed (%d)", tracker.sender_id, failures[number])
    if failures[number] >= VERIFY_TRIES:
        dispatcher.utter_message(text=st.check_safely())
        return [SlotSet(PENDING, None), SlotSet(VERIFY_TICKET, None), SlotSet(VERIFY_FAILS, failures)]
    dispatcher.utter_message(text=st.phone_mismatch(number))
    return [SlotSet(PENDING, "verify_phone"), SlotSet(VERIFY_FAILS, failures)]


def ticket_status_reply(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    tz = ZoneInfo(services().settings.timezone)
    number = ticket_number_in(tracker)
    waiting = tracker.get_slot(VERIFY_TICKET)
    if number:
        return by_number(dispatcher, tracker, number, tz)
    if waiting and tracker.get_slot(PENDING) == "verify_phone":
        return verify_phone(dispatcher, tracker, waiting, tz)

    merchant_id = merchant_id_in(tracker)
    events: list[EventType] = [SlotSet("merchant_id", merchant_id)] if merchant_id else []
    mine = own_tickets(tracker)
    if merchant_id and merchant_id != verified_merchant_id(tracker):
        # Anyone can type a merchant id: show only what this chat may see of it.
        mine = [t for t in mine if t.merchant_id == merchant_id]
        if not mine:
            dispatcher.utter_message(text=st.merchant_lookup_needs_identity(mask_id(merchant_id)))
            return events + [SlotSet(PENDING, "ticket_lookup")]
    if mine:
        return events + _shown(dispatcher, overview(mine, tz))
    dispatcher.utter_message(text=st.ask_ticket_number())
    return events + [SlotSet(PENDING, "ticket_lookup")]


class ActionCheckTicket(Action):
    def name(self) -> str:
        return "action_check_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        try:
            return ticket_status_reply(dispatcher, tracker)
        except Exception:
            log.exception("ticket lookup failed for %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_ticket_lookup_down")
            return []

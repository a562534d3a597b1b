"""Offers after an answer that did not help: a ticket of the entry's category, or a person; and "不用了".

``offer_escalation`` picks the offer from the knowledge-base entry that did not help
(``ticket_category_for``: its ``escalate`` or its category); ``offer_ticket`` and
``offer_handoff`` ask with buttons that carry the question's step, so a late click is known
for one. ``action_decline_offer`` closes politely and forgets the offer.
"""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import texts
from actions.common import PENDING, STEP, button, new_step, services
from bot.faq.kb import Entry
from bot.vocabulary import CATEGORY_LABELS

log = logging.getLogger(__name__)

# Escalations for which a ticket can take over when the answer did not solve the problem.
TICKET_ESCALATIONS = ("repair", "settlement", "activation")


def ticket_category_for(entry: Entry) -> str | None:
    """Ticket category to offer when ``entry`` did not help; None means offer a person instead."""
    esc = entry.escalate
    if esc == "handoff":
        return None
    if esc in TICKET_ESCALATIONS or esc == "other":
        return esc
    return {"fault": "repair", "settlement": "settlement", "activation": "activation"}.get(entry.category, "other")


def faq_entry(faq_id: str | None) -> Entry | None:
    """The knowledge-base entry, or None (unknown id, or the engine failed: logged)."""
    if not faq_id:
        return None
    try:
        return services().faq.get(faq_id)
    except Exception:
        log.exception("FAQ lookup of %s failed", faq_id)
        return None


def offer_handoff(dispatcher: CollectingDispatcher, lead: str) -> list[EventType]:
    step = new_step("handoff_offer")
    dispatcher.utter_message(
        text=texts.handoff_offer(lead),
        buttons=[
            button(texts.HANDOFF_TITLES[0], "affirm", step=step),
            button(texts.HANDOFF_TITLES[1], "deny", step=step),
        ],
    )
    return [SlotSet(PENDING, "handoff_offer"), SlotSet(STEP, step)]


def offer_ticket(
    dispatcher: CollectingDispatcher, lead: str, category: str, faq_id: str | None = None
) -> list[EventType]:
    step = new_step("ticket_offer")
    ids = {"faq_id": faq_id} if faq_id else {}
    dispatcher.utter_message(
        text=texts.ticket_offer(lead, CATEGORY_LABELS[category]),
        buttons=[
            button(texts.TICKET_OFFER_TITLES[0], "affirm", category=category, **ids, step=step),
            button(texts.TICKET_OFFER_TITLES[1], "deny", category=category, **ids, step=step),
        ],
    )
    return [SlotSet(PENDING, "ticket_offer"), SlotSet(STEP, step), SlotSet("ticket_category", category)]


def offer_escalation(
    dispatcher: CollectingDispatcher, tracker: Tracker, lead: str, faq_id: str | None = None
) -> list[EventType]:
    """After an answer that did not help: offer a ticket of the entry's category, or a person.

    ``faq_id``: the answer that did not help (a clicked button names it); else the last one.
    """
    faq_id = faq_id or tracker.get_slot("faq_id")
    entry = faq_entry(faq_id)
    category = ticket_category_for(entry) if entry is not None else "other"
    if category is None:
        return offer_handoff(dispatcher, lead)
    return offer_ticket(dispatcher, lead, category, entry.id if entry is not None else None)


class ActionDeclineOffer(Action):
    """ "不用了" to a ticket or a person: close politely and forget the offer."""

    def name(self) -> str:
        return "action_decline_offer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        if tracker.get_slot(PENDING) == "handoff_offer":
            dispatcher.utter_message(text=texts.HANDOFF_DECLINED)
        else:
            dispatcher.utter_message(text=texts.TICKET_DECLINED)
        # Answered: its buttons are out of date now (a late 登记工单 is asked again).
        return [SlotSet(PENDING, None), SlotSet(STEP, None)]

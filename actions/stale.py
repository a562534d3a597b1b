"""A button of an earlier question, clicked late (after more turns, a reload, in a second tab).

action_turn_hook flags such a click (``stale_button``) when its step id is not the one of the
question asked last; this action then answers it for *that* question, never for today's
state: the note says which question the button belonged to, and the follow-up is that
question's own. Nothing acts on its own from an old button: a click that would start
something (a ticket, a handoff) asks again with fresh buttons; a vote or a rating is just
recorded for the answer it names. Inside the ticket form the form then asks its question.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import texts
from actions.common import (
    PENDING,
    PROBLEM,
    STALE,
    clicked_step,
    entity,
    in_form,
    latest_intent,
    services,
    stable_key,
    step_kind,
    value_before_message,
)
from actions.feedback import REASONS, record_vote
from actions.offers import faq_entry, offer_handoff, offer_ticket, ticket_category_for
from actions.ticket_submit import form_instance, submission_key
from actions.validators import parse_rating

log = logging.getLogger(__name__)

TICKET_CATEGORIES = ("repair", "settlement", "activation", "other")


def offering_event(tracker: Tracker, step: str) -> int | None:
    """Index of the bot message whose buttons carry ``step``."""
    for i in range(len(tracker.events) - 1, -1, -1):
        e = tracker.events[i]
        if e.get("event") == "bot":
            buttons = (e.get("data") or {}).get("buttons") or []
            if any(f'"step":"{step}"' in (b.get("payload") or "") for b in buttons):
                return i
    return None


def problem_before(tracker: Tracker, index: int | None, entry: Any) -> str | None:
    """What the merchant said the problem was before the question at ``index``: their words,
    or the suggestion they clicked."""
    if index is not None:
        for e in reversed(tracker.events[:index]):
            if e.get("event") != "user":
                continue
            text = (e.get("text") or "").strip()
            intent = ((e.get("parse_data") or {}).get("intent") or {}).get("name")
            if text.startswith("/") or intent in ("choose_faq", "affirm", "deny", "give_feedback"):
                break  # a click: the entry it chose says it better
            return text
    return texts.topic_of(entry.question) if entry is not None else None


class ActionStaleButton(Action):
    def name(self) -> str:
        return "action_stale_button"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        step = clicked_step(tracker) or ""
        kind = step_kind(step)
        entry = faq_entry(entity(tracker, "faq_id"))
        topic = texts.topic_of(entry.question) if entry is not None else None
        lead = texts.earlier_button(topic)
        affirm = latest_intent(tracker) == "affirm"
        # The question that was open before the click stays open unless a new one replaces it.
        events: list[EventType] = [SlotSet(STALE, None), SlotSet(PENDING, value_before_message(tracker, PENDING))]
        log.info("conversation %s: late click on %s (%s)", tracker.sender_id, step, latest_intent(tracker))

        if kind in ("feedback", "reason", "rating"):
            return events + self._record(dispatcher, tracker)
        if kind in ("confirm", "continue", "edit"):
            return events + self._form_button(dispatcher, tracker, step, lead)
        if in_form(tracker):
            # Whatever it offered, the form in progress is the current question.
            dispatcher.utter_message(text=lead + texts.IN_FORM_LATE)
            return events
        if kind == "resolved":
            index = offering_event(tracker, step)
            problem = problem_before(tracker, index, entry)
            if affirm:
                record_vote(tracker, "up")
                dispatcher.utter_message(text=lead + texts.LATE_SOLVED)
                return events
            record_vote(tracker, "down", REASONS["unresolved"])
            category = ticket_category_for(entry) if entry is not None else "other"
            if category is None:
                return events + offer_handoff(dispatcher, lead)
            return (
                events
                + offer_ticket(dispatcher, lead, category, entry.id if entry else None)
                + [
                    SlotSet(PROBLEM, problem),
                    SlotSet("faq_id", entry.id if entry else None),
                ]
            )
        if kind == "ticket_offer":
            if not affirm:
                dispatcher.utter_message(text=lead + texts.LATE_DECLINED)
                return events
            category = entity(tracker, "category")
            category = category if category in TICKET_CATEGORIES else (ticket_category_for(entry) if entry else None)
            problem = problem_before(tracker, offering_event(tracker, step), entry)
            return (
                events
                + offer_ticket(dispatcher, lead, category or "other", entry.id if entry else None)
                + [SlotSet(PROBLEM, problem)]
            )
        if kind == "handoff_offer":
            if not affirm:
                dispatcher.utter_message(text=lead + texts.LATE_DECLINED)
                return events
            return events + offer_handoff(dispatcher, lead)
        dispatcher.utter_message(text=lead + texts.LATE_OTHER)
        return events

    @staticmethod
    def _record(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """A vote, a reason or a rating clicked during the form: record it, the form goes on."""
        rating = entity(tracker, "rating")
        if rating is not None:
            value = parse_rating(str(rating))
            if value and 1 <= value <= 5:
                key = stable_key(tracker.sender_id, "rating", clicked_step(tracker))
                try:
                    services().conversations.record_rating(tracker.sender_id, value, dedupe_key=key)
                except Exception:
                    log.exception("storing the rating of %s failed", tracker.sender_id)
        else:
            code = entity(tracker, "feedback_reason")
            vote = str(entity(tracker, "feedback") or "")
            if vote in ("up", "down"):
                record_vote(tracker, vote, REASONS.get(str(code)) if code else None)
        dispatcher.utter_message(text=texts.LATE_RECORDED_IN_FORM)
        return []

    @staticmethod
    def _form_button(dispatcher: CollectingDispatcher, tracker: Tracker, step: str, lead: str) -> list[EventType]:
        """确认提交 / 修改 / 继续登记 … of an earlier form run, or of an earlier step of this one."""
        if in_form(tracker):
            dispatcher.utter_message(text=texts.earlier_form_step())
            return []
        index = offering_event(tracker, step)
        ticket = None
        if index is not None:
            try:
                ticket = services().tickets.find_by_idempotency_key(
                    submission_key(tracker, form_instance(tracker, before=index))
                )
            except Exception:
                log.exception("looking up the ticket of an earlier form failed")
        if ticket is not None:
            dispatcher.utter_message(text=texts.form_already_submitted(ticket.number))
        else:
            dispatcher.utter_message(response="utter_form_already_closed")
        return []

"""Feedback: 👍/👎 on FAQ answers (with a reason for 👎), "问题解决了吗？", and the 1-5 rating."""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import texts
from actions.common import (
    HELPED,
    PENDING,
    STEP,
    button,
    clicked_step,
    entity,
    latest_intent,
    latest_text,
    message_key,
    new_step,
    services,
    stable_key,
)
from actions.offers import offer_escalation
from actions.validators import parse_rating

log = logging.getLogger(__name__)

# Reasons offered after 👎 (button payload code -> what staff read in the summary).
REASONS = {"irrelevant": "答非所问", "unclear": "看不懂", "unresolved": "没解决问题"}
RATING_TITLES = ((5, "5分 非常满意"), (4, "4分 满意"), (3, "3分 一般"), (2, "2分 不满意"), (1, "1分 很不满意"))


def reason_buttons(step: str, faq_id: str) -> list[dict[str, str]]:
    return [
        button(label, "give_feedback", feedback="down", feedback_reason=code, faq_id=faq_id, step=step)
        for code, label in REASONS.items()
    ]


def rating_buttons(step: str) -> list[dict[str, str]]:
    return [button(title, "give_feedback", rating=str(n), step=step) for n, title in RATING_TITLES]


_UP_WORDS = ("有用", "有帮助", "不错", "满意", "好评", "点赞", "挺好", "很好")
_DOWN_WORDS = ("没用", "没啥用", "答非所问", "文不对题", "废话", "看不懂", "不靠谱", "没什么帮助", "不满意", "差评")


def ask_rating(dispatcher: CollectingDispatcher, lead: str) -> list[EventType]:
    step = new_step("rating")
    dispatcher.utter_message(text=texts.ask_rating(lead), buttons=rating_buttons(step))
    return [SlotSet(PENDING, "rating"), SlotSet(STEP, step), SlotSet(HELPED, None)]


def voted_faq_id(tracker: Tracker) -> str | None:
    """The answer a vote is about: named by the clicked button, else the last answer.

    A button that carries a step but no entry (under an explained response code) is about no
    entry: a late click on it must not be counted for whatever was answered since.
    """
    named = entity(tracker, "faq_id")
    if named or clicked_step(tracker):
        return named
    return tracker.get_slot("faq_id")


def _vote(tracker: Tracker) -> str | None:
    value = str(entity(tracker, "feedback") or "").strip()
    if value in ("up", "down"):
        return value
    text = value or latest_text(tracker)
    # "不满意" contains "满意": test the negative words first.
    if any(w in text for w in _DOWN_WORDS):
        return "down"
    if any(w in text for w in _UP_WORDS):
        return "up"
    return None


def _rating(tracker: Tracker) -> int | None:
    value = entity(tracker, "rating")
    if value is not None:
        return parse_rating(str(value))
    if tracker.get_slot(PENDING) == "rating":
        return parse_rating(latest_text(tracker))
    return None


def record_vote(tracker: Tracker, vote: str, reason: str | None = None) -> None:
    faq_id = voted_faq_id(tracker)
    if not faq_id:
        return  # feedback without an answer to attach it to: nothing to store
    try:
        services().conversations.record_faq_feedback(tracker.sender_id, faq_id, vote, reason)
        services().faq_turns.record_vote(tracker.sender_id, faq_id, vote)  # 👎: back in the unanswered queue
    except Exception:
        # Losing one vote must not break the conversation.
        log.exception("storing FAQ feedback of %s failed", tracker.sender_id)


class ActionRecordFeedback(Action):
    """give_feedback (👍/👎, a reason, a rating) and free-text answers to those questions."""

    def name(self) -> str:
        return "action_record_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        pending = tracker.get_slot(PENDING)
        rating = _rating(tracker)
        if rating is not None:
            return self._rate(dispatcher, tracker, rating)
        if pending == "rating":
            step = tracker.get_slot(STEP) or new_step("rating")
            dispatcher.utter_message(text=texts.RATING_REASK, buttons=rating_buttons(step))
            return [SlotSet(STEP, step)]
        code = entity(tracker, "feedback_reason")
        if code or pending == "feedback_reason":
            return self._reason(dispatcher, tracker, code)
        vote = _vote(tracker)
        if vote == "up":
            record_vote(tracker, "up")
            dispatcher.utter_message(text=texts.THANKS_UP)
            return [SlotSet(PENDING, None)]
        if vote == "down":
            record_vote(tracker, "down")
            faq_id = voted_faq_id(tracker)
            if not faq_id:
                dispatcher.utter_message(text=texts.SORRY_DOWN)
                return [SlotSet(PENDING, None)]
            step = new_step("reason")
            dispatcher.utter_message(text=texts.ASK_DOWN_REASON, buttons=reason_buttons(step, faq_id))
            # The reason (typed or clicked) and a ticket offer are about this answer from now on.
            return [SlotSet(PENDING, "feedback_reason"), SlotSet(STEP, step), SlotSet("faq_id", faq_id)]
        dispatcher.utter_message(text=texts.THANKS_FEEDBACK)
        return [SlotSet(PENDING, None)]

    @staticmethod
    def _rate(dispatcher: CollectingDispatcher, tracker: Tracker, rating: int) -> list[EventType]:
        if not 1 <= rating <= 5:
            step = new_step("rating")
            dispatcher.utter_message(text=texts.RATING_OUT_OF_RANGE, buttons=rating_buttons(step))
            return [SlotSet(STEP, step)]
        # One rating per rating question: a second click on the same buttons (a reload, a
        # double click) is the same rating, not another one.
        clicked = clicked_step(tracker)
        key = stable_key(tracker.sender_id, "rating", clicked) if clicked else message_key(tracker)
        try:
            services().conversations.record_rating(tracker.sender_id, rating, dedupe_key=key)
        except Exception:
            log.exception("storing the rating of %s failed", tracker.sender_id)
        if rating <= 2:
            dispatcher.utter_message(text=texts.THANKS_LOW_RATING)
        else:
            dispatcher.utter_message(text=texts.THANKS_RATING)
        return [SlotSet(PENDING, None), SlotSet(HELPED, None)]

    @staticmethod
    def _reason(dispatcher: CollectingDispatcher, tracker: Tracker, code: str | None) -> list[EventType]:
        text = latest_text(tracker).strip()
        reason = REASONS.get(str(code)) if code else (text if not text.startswith("/") else None)
        record_vote(tracker, "down", reason)
        if code == "unresolved" or (not code and latest_intent(tracker) == "deny"):
            return offer_escalation(dispatcher, tracker, texts.LEAD_AFTER_REASON, voted_faq_id(tracker))
        dispatcher.utter_message(text=texts.THANKS_REASON)
        return [SlotSet(PENDING, None)]


class ActionFaqResolved(Action):
    """ "解决了": close kindly and ask for a rating."""

    def name(self) -> str:
        return "action_faq_resolved"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        record_vote(tracker, "up")
        return ask_rating(dispatcher, texts.LEAD_SOLVED)


class ActionFaqUnresolved(Action):
    """ "没解决": count it as 👎 and offer a ticket of the entry's category (or a person)."""

    def name(self) -> str:
        return "action_faq_unresolved"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        record_vote(tracker, "down", REASONS["unresolved"])
        return offer_escalation(dispatcher, tracker, texts.LEAD_UNSOLVED, voted_faq_id(tracker))


class ActionAskRating(Action):
    """Thanks or goodbye after the bot helped: ask for the 1-5 rating once."""

    def name(self) -> str:
        return "action_ask_rating"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        if latest_intent(tracker) == "goodbye":
            return ask_rating(dispatcher, texts.LEAD_GOODBYE)
        return ask_rating(dispatcher, texts.LEAD_THANKS)

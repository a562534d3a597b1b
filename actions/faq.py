"""FAQ answers: search on the merchant's words, answer / suggest / fall back, and the follow-ups.

``action_faq_search`` serves ask_question, report_fault, settlement_problem,
activation_problem, inform and nlu_fallback: the FAQ engine decides, not the intent.
``action_out_of_scope`` answers the out_of_scope intent. Both log the question
(``bot.analytics.turns``) for the unanswered queue and the analytics.
Inside the ticket form the answer is given plainly and the form re-asks its question.
What is offered when an answer did not help (a ticket or a person): actions/offers.py.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import texts
from actions.common import (
    FALLBACKS,
    HELPED,
    PENDING,
    PROBLEM,
    STEP,
    button,
    cjk_count,
    entities,
    entity,
    in_form,
    latest_intent,
    latest_text,
    new_step,
    services,
)
from actions.faq_replies import (
    AREA_COMMON_TEXT,
    AREA_TEXT,
    CLOSEST_TEXT,
    HUMAN_BUTTON,
    IN_FORM_NONE_TEXT,
    NONE_OF_THESE,
    OUT_OF_SCOPE_TEXT,
    PROVIDER_KNOWN,
    PROVIDER_UNKNOWN,
    SEARCH_ERROR_TEXT,
    SUGGEST_TEXT,
    TOPIC_EMPTY_TEXT,
    TOPIC_TEXT,
    area_buttons,
    feedback_buttons,
    resolved_buttons,
    ticket_or_human_buttons,
)
from actions.offers import TICKET_ESCALATIONS
from bot.faq.kb import Entry
from bot.faq.triage import AREA_CATEGORIES, AREA_LABELS, Plan, search_area, triage
from bot.masking import mask_id, mask_phone

log = logging.getLogger(__name__)

FACT_ENTITIES = ("merchant_id", "terminal_id", "device_serial", "phone", "ticket_number")
FACT_LABELS = {"merchant_id": "商户号", "terminal_id": "终端号", "device_serial": "序列号", "phone": "手机号"}
_LABEL_WORDS = re.compile(
    r"商户号|商户编号|终端号|终端编号|终端|序列号|机身号|手机号|手机|电话|联系方式|工单号|单号|我的|是|号码|打这个号"
)

# Ticket category for an area the merchant chose but that has no answer.
AREA_TICKET = {"fault": "repair", "settlement": "settlement", "activation": "activation"}


def asks_resolved(entry: Entry) -> bool:
    """Troubleshooting answers end with "问题解决了吗？" because a ticket can take over."""
    return entry.category == "fault" or entry.escalate in TICKET_ESCALATIONS


def merchant_brand(tracker: Tracker) -> str | None:
    """The brand the merchant named: in this message, else earlier (the ``brand`` slot)."""
    lexicon = services().lexicon
    found = lexicon.find_brand(latest_text(tracker))
    if found is None:
        value = entity(tracker, "brand") or tracker.get_slot("brand")
        found = lexicon.brand(value) if value else None
    return found.name if found is not None else None


def provider_line(tracker: Tracker, entry: Entry) -> str | None:
    """For a provider-specific answer: where the rule that applies is written."""
    if not entry.provider_specific:
        return None
    brand = merchant_brand(tracker)
    return PROVIDER_KNOWN.format(brand=brand) if brand else PROVIDER_UNKNOWN


def answer_entry(
    dispatcher: CollectingDispatcher, tracker: Tracker, entry: Entry, query: str, *, chosen: bool = False
) -> list[EventType]:
    """Send one FAQ answer with its follow-up; the events remember which entry was answered.

    ``chosen``: the merchant picked the entry (a suggestion), so the entry's question, not
    their earlier words, is the problem a ticket will describe.
    """
    text = texts.answer_text(tracker, entry.answer)
    line = provider_line(tracker, entry)
    if line:
        text = f"{text}\n\n{line}"
    if in_form(tracker):
        # Mid-form: no buttons, no follow-up question; the form asks its pending slot next.
        dispatcher.utter_message(text=f"{text}\n\n{texts.IN_FORM_SUFFIX}")
        return [SlotSet("faq_id", entry.id)]
    if asks_resolved(entry):
        step = new_step("resolved")
        question, titles = texts.resolved_question(text)
        dispatcher.utter_message(text=text)
        dispatcher.utter_message(text=question, buttons=resolved_buttons(step, entry.id, titles))
        pending = "resolved"
    else:
        step = new_step("feedback")
        dispatcher.utter_message(text=text, buttons=feedback_buttons(step, entry.id))
        pending = None
    return [
        SlotSet("faq_id", entry.id),
        SlotSet("faq_query", query),
        SlotSet("faq_suggestions", None),
        SlotSet(PENDING, pending),
        SlotSet(STEP, step),
        SlotSet(PROBLEM, texts.topic_of(entry.question) if chosen else query),
        SlotSet(HELPED, True),
        SlotSet(FALLBACKS, 0.0),
    ]


def _facts_only(tracker: Tracker, text: str) -> dict[str, str]:
    """Entity values when the message is just ids/numbers ("商户号 898310048161234"), else {}."""
    facts: dict[str, str] = {}
    rest = text
    for e in entities(tracker):
        if e.get("entity") in FACT_ENTITIES:
            facts.setdefault(e["entity"], str(e["value"]))
            rest = rest.replace(str(e["value"]), " ")
    if not facts:
        return {}
    rest = _LABEL_WORDS.sub("", rest)
    return facts if cjk_count(rest) <= 3 else {}


class ActionFaqSearch(Action):
    def name(self) -> str:
        return "action_faq_search"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        text = latest_text(tracker).strip()
        facts = _facts_only(tracker, text)
        if facts and not in_form(tracker):
            return self._acknowledge(dispatcher, tracker, facts, text)
        svc = services()
        latest = tracker.latest_message or {}
        try:
            plan = triage(
                svc.faq,
                text,
                intent=latest_intent(tracker),
                intent_confidence=(latest.get("intent") or {}).get("confidence"),
                code_value=entity(tracker, "response_code"),
                codes=svc.codes,
                lexicon=svc.lexicon,
            )
        except Exception:
            log.exception("FAQ search failed for %s", tracker.sender_id)
            dispatcher.utter_message(text=SEARCH_ERROR_TEXT)
            return []
        log_turn(tracker, plan, text)
        if plan.kind == "code":
            from actions.codes import reply_code

            assert plan.code is not None  # a "code" plan always carries its code
            return reply_code(dispatcher, tracker, plan.code, text, in_form=in_form(tracker))
        if plan.kind == "answer":
            return answer_entry(dispatcher, tracker, plan.hits[0].entry, text)
        if plan.kind == "suggest":
            return self._suggest(dispatcher, tracker, plan.hits, text)
        if plan.kind == "closest":
            return self._suggest(dispatcher, tracker, plan.hits, text, lead=CLOSEST_TEXT)
        if plan.kind == "clarify" and not in_form(tracker):
            return ask_topic(dispatcher, text)
        return self._none(dispatcher, tracker, text)

    @staticmethod
    def _suggest(
        dispatcher: CollectingDispatcher, tracker: Tracker, hits: list, text: str, lead: str = SUGGEST_TEXT
    ) -> list[EventType]:
        buttons = [button(h.question, "choose_faq", faq_id=h.id) for h in hits]
        if lead != SUGGEST_TEXT and not in_form(tracker):
            buttons.append(NONE_OF_THESE)
        dispatcher.utter_message(text=lead, buttons=buttons)
        events: list[EventType] = [SlotSet("faq_suggestions", [h.id for h in hits]), SlotSet("faq_query", text)]
        if not in_form(tracker):
            events += [SlotSet(PENDING, None), SlotSet(FALLBACKS, 0.0)]
        return events

    @staticmethod
    def _none(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> list[EventType]:
        """Outside what the bot knows: say so honestly and offer a person; twice in a row hands over."""
        if in_form(tracker):
            dispatcher.utter_message(text=f"{IN_FORM_NONE_TEXT}{texts.IN_FORM_SUFFIX}")
            return []
        count = int(tracker.get_slot(FALLBACKS) or 0) + 1
        if count >= 2:
            from actions.handoff import perform_handoff  # handoff imports this module's helpers

            return perform_handoff(dispatcher, tracker, reason="fallback")
        dispatcher.utter_message(text=OUT_OF_SCOPE_TEXT, buttons=[HUMAN_BUTTON])
        return [
            SlotSet(FALLBACKS, float(count)),
            SlotSet(PENDING, None),
            SlotSet("faq_query", text),
            SlotSet("faq_id", None),
        ]

    @staticmethod
    def _acknowledge(
        dispatcher: CollectingDispatcher, tracker: Tracker, facts: dict[str, str], text: str
    ) -> list[EventType]:
        if "ticket_number" in facts or "工单" in text:  # "查工单 898310048161234": a lookup, not a fact
            from actions.tickets import ticket_status_reply

            return ticket_status_reply(dispatcher, tracker)
        noted = "、".join(
            f"{FACT_LABELS[k]} {mask_phone(v) if k == 'phone' else mask_id(v)}"
            for k, v in facts.items()
            if k in FACT_LABELS
        )
        dispatcher.utter_message(text=texts.facts_noted(noted))
        return [SlotSet(PENDING, None)]


def log_turn(tracker: Tracker, plan: Any, text: str) -> None:
    """Record the FAQ decision (bot.analytics.turns) for the unanswered queue and the analytics.

    The candidates are what the engine found closest, offered or not. A failure is logged and
    never keeps the merchant from the answer."""
    if not text or text.startswith("/"):
        return
    try:
        result = plan.result
        found = plan.hits or ((result.results or result.closest) if result is not None else [])
        services().faq_turns.record(
            tracker.sender_id,
            text,
            plan.kind,
            [(h.id, h.score) for h in found],
            entry_id=plan.entry_id,
            top_score=result.top_score if result is not None else None,
        )
    except Exception:
        log.exception("recording the FAQ turn of %s failed", tracker.sender_id)


class ActionOutOfScope(Action):
    """The out_of_scope intent: the domain's reply, and the question logged (decision none,
    with the closest entries) so staff see in 未解答问题 what merchants ask that the bot does not
    cover, including questions NLU took for out of scope that the knowledge base should answer."""

    def name(self) -> str:
        return "action_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        text = latest_text(tracker).strip()
        try:
            result = services().faq.search(text, k=5, closest=True)
        except Exception:
            log.exception("FAQ search of an out-of-scope question failed for %s", tracker.sender_id)
            result = None
        log_turn(tracker, Plan("none", result=result), text)
        dispatcher.utter_message(response="utter_out_of_scope")
        return []


def log_taken(tracker: Tracker, entry_id: str) -> None:
    """The merchant reached ``entry_id`` from the choices offered: that question was answered."""
    try:
        services().faq_turns.mark_taken(tracker.sender_id, entry_id)
    except Exception:
        log.exception("recording the choice of %s failed", tracker.sender_id)


def ask_topic(dispatcher: CollectingDispatcher, text: str) -> list[EventType]:
    """About POS work but nothing close enough: ask the area (the chosen area narrows the search)."""
    dispatcher.utter_message(text=TOPIC_TEXT, buttons=[*area_buttons(), HUMAN_BUTTON])
    return [
        SlotSet("faq_query", text),
        SlotSet("faq_suggestions", None),
        SlotSet("faq_id", None),
        SlotSet(PENDING, None),
        SlotSet(FALLBACKS, 0.0),
    ]


def answer_topic(dispatcher: CollectingDispatcher, tracker: Tracker, area: str) -> list[EventType]:
    """The merchant chose an area: search the earlier question within it, or list its common questions."""
    query = tracker.get_slot("faq_query")
    kind, hits = search_area(services().faq, area, query)
    label = AREA_LABELS[area]
    if kind == "answer" and hits:
        log_taken(tracker, hits[0].id)
        return answer_entry(dispatcher, tracker, hits[0].entry, query or hits[0].question)
    if not hits:
        category = AREA_TICKET.get(area, "other")
        step = new_step("ticket_offer")
        dispatcher.utter_message(
            text=TOPIC_EMPTY_TEXT.format(area=label), buttons=ticket_or_human_buttons(step, category)
        )
        events = [SlotSet(PENDING, "ticket_offer"), SlotSet(STEP, step), SlotSet("ticket_category", category)]
        return events + ([SlotSet(PROBLEM, query)] if query else [])
    lead = (AREA_TEXT if query else AREA_COMMON_TEXT).format(area=label)
    dispatcher.utter_message(
        text=lead, buttons=[*(button(h.question, "choose_faq", faq_id=h.id) for h in hits), NONE_OF_THESE]
    )
    return [SlotSet("faq_suggestions", [h.id for h in hits]), SlotSet(PENDING, None)]


_ORDINALS = {"一": 0, "1": 0, "二": 1, "2": 1, "三": 2, "3": 2, "四": 3, "4": 3}


def ordinal_index(text: str, n: int) -> int | None:
    """Which of ``n`` suggestions "第一个" / "第2条" / "最后一个" / "中间那个" means."""
    if "最后" in text:
        return n - 1 if n else None
    if "中间" in text and n == 3:
        return 1
    m = re.search(r"第?([一二三四1-4])(?:个|条|项)?", text)
    if m and m.group(1) in _ORDINALS and _ORDINALS[m.group(1)] < n:
        return _ORDINALS[m.group(1)]
    return None


class ActionAnswerFaq(Action):
    """A suggestion was chosen: by button (faq_id in the payload) or typed ("第二个")."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        topic = entity(tracker, "faq_topic")
        if topic in AREA_CATEGORIES and not entity(tracker, "faq_id"):
            return answer_topic(dispatcher, tracker, topic)
        faq_id = entity(tracker, "faq_id")
        if not faq_id:
            suggestions = tracker.get_slot("faq_suggestions") or []
            idx = ordinal_index(latest_text(tracker), len(suggestions))
            faq_id = suggestions[idx] if idx is not None else None
        entry = services().faq.get(faq_id) if faq_id else None
        if entry is None:
            dispatcher.utter_message(text=texts.CHOSEN_ENTRY_GONE)
            return [] if in_form(tracker) else [SlotSet(PENDING, None)]
        log_taken(tracker, entry.id)
        return answer_entry(dispatcher, tracker, entry, tracker.get_slot("faq_query") or entry.question, chosen=True)

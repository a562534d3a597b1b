"""Helpers every action module uses, the per-turn hook, session start and the core fallback.

Actions run inside the app service (rasa-sdk's ActionExecutor behind /webhook) in a
worker thread, so they call the in-process services synchronously via ``services()``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions import texts
from bot.core.services import Services, get_services
from bot.masking import mask_phone  # noqa: F401  (re-exported for the action modules)
from bot.vocabulary import (
    CATEGORY_LABELS,  # noqa: F401  (the one table; tests/staff reads it through here)
    MERCHANT_ID_PATTERN,
    ticket_channel_of,
)

# datetime.UTC is Python 3.11+; Rasa's Python 3.10 also imports this module (it runs
# action_turn_hook in-process, bot/rasa_ext/local_actions.py).
UTC = timezone.utc  # noqa: UP017

log = logging.getLogger(__name__)

# --- slot names --------------------------------------------------------------------------

PENDING = "pending_question"  # what the bot just asked: resolved | ticket_offer | handoff_offer | ...
HELPED = "helped"  # True once the bot helped (answer, ticket, status): thanks/goodbye then ask a rating
URGENT = "urgent"  # set by action_turn_hook when the merchant is angry or in a hurry
FALLBACKS = "fallback_count"  # consecutive turns the bot could not answer
STEP = "question_step"  # step id of the question the bot asked last (its buttons carry it)
STALE = "stale_button"  # set by action_turn_hook: the click answers an earlier question
PROBLEM = "problem"  # the problem the merchant chose (typed, or the clicked entry): a ticket's description

# Facts about the merchant: kept after a ticket and across sessions.
IDENTITY_SLOTS = ("merchant_id", "terminal_id", "device_serial", "phone")
# What one ticket form instance collects or uses to steer itself.
FORM_CASE_SLOTS = ("txn_date", "amount", "description", "ticket_category")
FORM_CONTROL_SLOTS = (
    "ticket_confirm",
    "ticket_continue",
    "edit_field",
    "ticket_editing",
    "edit_backup",
    "form_paused_field",
    "form_reasked",
    "invalid_attempts",
)
FORM_SLOTS = IDENTITY_SLOTS + FORM_CASE_SLOTS + FORM_CONTROL_SLOTS

# Anger and urgency words that hand the merchant to a person at once. The one list.
URGENT_KEYWORDS = (
    "投诉",
    "举报",
    "12315",
    "报警",
    "垃圾",
    "气死",
    "骗子",
    "骗钱",
    "坑人",
    "太差劲",
    "急",
    "马上",
    "赶紧",
    "立刻",
)

FAQ_INTENTS = frozenset({"ask_question", "report_fault", "settlement_problem", "activation_problem"})

# Which intents answer each pending question; any other intent means the merchant moved on.
PENDING_ANSWERS: dict[str, frozenset[str]] = {
    "resolved": frozenset({"affirm", "deny"}),
    "ticket_offer": frozenset({"affirm", "deny"}),
    "handoff_offer": frozenset({"affirm", "deny"}),
    "feedback_reason": frozenset({"give_feedback", "inform", "nlu_fallback", "deny", "chitchat", "out_of_scope"}),
    "rating": frozenset({"give_feedback", "inform"}),
    "ticket_lookup": frozenset({"inform", "check_ticket"}),
    "verify_phone": frozenset({"inform", "check_ticket", "nlu_fallback", "deny"}),
    "visit_reschedule": frozenset({"inform", "reschedule_visit", "nlu_fallback"}),
    "visit_cancel": frozenset({"affirm", "deny", "cancel_visit"}),
}


def services() -> Services:
    return get_services()


def now_utc() -> datetime:
    """The clock of every action (tests replace it)."""
    return datetime.now(UTC)


# --- tracker helpers ---------------------------------------------------------------------


def ticket_channel(tracker: Tracker) -> str:
    """The ticket's channel enum value for this conversation (web / wechat / wecom, else api)."""
    return ticket_channel_of(tracker.sender_id)


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


# --- phones: masked in Rasa, in clear only in the phone vault (bot/conversations/vault.py) ----------
# The chat masks every phone before the text reaches Rasa, so slots and texts hold 138****5678.
# These run in the app process only (the vault lives in the app's services).


def revealed_text(tracker: Tracker, text: str | None = None) -> str:
    """The latest message (or ``text``) with this conversation's masked phones in clear: for parsing only,
    never for an event, a reply or a log line."""
    return services().vault.reveal(tracker.sender_id, latest_text(tracker) if text is None else text)


def keep_phone(tracker: Tracker, phone: str) -> str:
    """The masked form of a valid phone (what the slot holds); the vault keeps the number for the ticket."""
    return services().vault.keep(tracker.sender_id, phone)


def clear_phone(tracker: Tracker, value: str | None) -> str | None:
    """The number behind the phone slot's value, None when unknown or expired."""
    return services().vault.resolve(tracker.sender_id, value) if value else None


def latest_intent(tracker: Tracker) -> str:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name") or ""


# Rasa runs DIET and the regex/lookup extractor side by side; where both find an entity
# type the pattern match is the exact one (ids, phones, ticket numbers), so it comes first.
_EXTRACTOR_RANK = {"RegexEntityExtractor": 0}


def entities(tracker: Tracker) -> list[dict[str, Any]]:
    """Entities of the latest message, pattern matches first, each (type, value) once."""
    found = sorted(
        (tracker.latest_message or {}).get("entities") or [],
        key=lambda e: _EXTRACTOR_RANK.get(e.get("extractor") or "", 1),
    )
    seen: set[tuple[str, str]] = set()
    out = []
    for e in found:
        key = (e.get("entity") or "", str(e.get("value")))
        if e.get("value") in (None, "") or key in seen:
            continue
        seen.add(key)
        out.append(e)
    return out


def entity(tracker: Tracker, name: str) -> Any:
    """Best value of entity ``name`` in the latest message (button payloads included)."""
    return next((e["value"] for e in entities(tracker) if e.get("entity") == name), None)


def payload(intent: str, **entities: Any) -> str:
    """A button payload Rasa parses without NLU: ``/intent{"entity": "value"}``."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


def button(title: str, intent: str, **entities: Any) -> dict[str, str]:
    return {"title": title, "payload": payload(intent, **entities)}


# --- buttons that know their moment -------------------------------------------------------
# Every button that answers a question carries the question's step id ("resolved-3fa2c1"):
# the kind of question and a random token. The step of the question asked last is kept in
# the question_step slot. A click whose step is not that one answers an earlier question
# (an old button, a reload, a second tab); action_turn_hook flags it and action_stale_button
# answers it for that question instead of for today's state.

# Kinds whose buttons say everything themselves (which answer, which vote): outside the
# ticket form a late click is simply recorded.
SELF_CONTAINED_KINDS = frozenset({"feedback", "reason", "rating"})


def new_step(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(3)}"


def step_kind(step: str | None) -> str:
    return (step or "").partition("-")[0]


def clicked_step(tracker: Tracker) -> str | None:
    """The step id carried by the clicked button, None for typed text."""
    if not latest_text(tracker).startswith("/"):
        return None
    value = entity(tracker, "step")
    return str(value) if value else None


def in_form(tracker: Tracker) -> bool:
    return bool((tracker.active_loop or {}).get("name"))


def is_stale_click(tracker: Tracker) -> bool:
    """True when the clicked button belongs to another question than the one asked last."""
    step = clicked_step(tracker)
    if not step or step == tracker.get_slot(STEP):
        return False
    return in_form(tracker) or step_kind(step) not in SELF_CONTAINED_KINDS


def verified_merchant_id(tracker: Tracker) -> str | None:
    """The merchant id the host app vouches for with this message, else None.

    The app service checks the host page's signed merchant identity and passes the result
    to Rasa as message metadata ``{"verified_merchant_id": "<15 digits>"}``; nothing the
    merchant types can set it.
    """
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    value = metadata.get("verified_merchant_id") if isinstance(metadata, dict) else None
    return value if isinstance(value, str) and re.fullmatch(MERCHANT_ID_PATTERN, value) else None


def value_before_message(tracker: Tracker, slot: str) -> Any:
    """The slot's value before the latest merchant message (what this message may have replaced)."""
    value = None
    last_user = max((i for i, e in enumerate(tracker.events) if e.get("event") == "user"), default=-1)
    for e in tracker.events[: last_user + 1]:
        kind = e.get("event")
        if kind == "slot" and e.get("name") == slot:
            value = e.get("value")
        elif kind in ("session_started", "restart", "reset_slots"):
            value = None
    return value


def latest_user_event(tracker: Tracker) -> dict[str, Any] | None:
    for e in reversed(tracker.events):
        if e.get("event") == "user":
            return e
    return None


def stable_key(*parts: Any) -> str:
    """Idempotency key from conversation facts: printable ASCII, at most 128 characters."""
    raw = "|".join(str(p) for p in parts)
    return "chat-" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:48]


def message_key(tracker: Tracker) -> str:
    """Identifies the merchant message being handled: a retried action sees the same one."""
    ev = latest_user_event(tracker) or {}
    msg_id = (tracker.latest_message or {}).get("message_id") or ev.get("message_id") or ""
    return stable_key(tracker.sender_id, msg_id, ev.get("timestamp", ""), ev.get("text", ""))


def transcript(tracker: Tracker, limit: int = 100) -> list[dict[str, Any]]:
    """User and bot lines of the conversation, button clicks shown by their titles."""
    lines: list[dict[str, Any]] = []
    titles: dict[str, str] = {}
    for e in tracker.events:
        kind = e.get("event")
        if kind not in ("user", "bot"):
            continue
        text = e.get("text") or ""
        at = e.get("timestamp")
        when = datetime.fromtimestamp(at, UTC).isoformat() if isinstance(at, (int, float)) else None
        if kind == "bot":
            titles = {b.get("payload", ""): b.get("title", "") for b in (e.get("data") or {}).get("buttons") or []}
            if text:
                lines.append({"role": "bot", "text": text, "at": when})
        else:
            if text.startswith("/"):
                text = f"[点击] {titles.get(text) or text}"
            if text:
                lines.append({"role": "user", "text": text, "at": when})
    return lines[-limit:]


def detect_urgency(text: str) -> str | None:
    """The first anger/urgency keyword in ``text``; payloads (button clicks) never count."""
    if not text or text.startswith("/"):
        return None
    return next((w for w in URGENT_KEYWORDS if w in text), None)


def reset_slots(names: tuple[str, ...] | list[str]) -> list[EventType]:
    return [SlotSet(n, None) for n in names]


_CJK = re.compile(r"[\u4e00-\u9fff]")


def cjk_count(text: str) -> int:
    return len(_CJK.findall(text or ""))


# --- actions -----------------------------------------------------------------------------


class ActionTurnHook(Action):
    """Runs inside action_extract_slots on every merchant message (custom slot mapping of ``urgent``).

    Flags anger/urgency so a rule hands over to a person, flags a click on an earlier
    question's button (``stale_button``), forgets a question the merchant did not answer
    (so a late "好的" cannot trigger an old offer, and its buttons are out of date), and
    ends a run of fallbacks when the merchant says something else.
    """

    def name(self) -> str:
        return "action_turn_hook"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        events: list[EventType] = []
        intent = latest_intent(tracker)
        word = detect_urgency(latest_text(tracker))
        if word and not tracker.get_slot(URGENT):
            log.info("conversation %s: urgency keyword %r", tracker.sender_id, word)
            events.append(SlotSet(URGENT, True))
        if is_stale_click(tracker):
            # An earlier question's button: action_stale_button answers it (a rule keys on
            # stale_button; the form rejects the click). The current question is set aside
            # so no rule reads the click as its answer; action_stale_button puts it back.
            log.info("conversation %s: button of an earlier question (%s)", tracker.sender_id, clicked_step(tracker))
            events.append(SlotSet(STALE, True))
            if tracker.get_slot(PENDING):
                events.append(SlotSet(PENDING, None))
            return events
        if tracker.get_slot(STALE):
            events.append(SlotSet(STALE, None))
        pending = tracker.get_slot(PENDING)
        moved_on = bool(pending) and intent not in PENDING_ANSWERS.get(pending, frozenset())
        if moved_on:
            events.append(SlotSet(PENDING, None))
        if tracker.get_slot(STEP) and not clicked_step(tracker) and not in_form(tracker) and (moved_on or not pending):
            # Typed text that does not answer the open question: its buttons are out of date now.
            events.append(SlotSet(STEP, None))
        if tracker.get_slot(FALLBACKS) and intent not in FAQ_INTENTS | {"nlu_fallback", "inform"}:
            events.append(SlotSet(FALLBACKS, 0.0))
        return events


class ActionSessionStart(Action):
    """New session: carry over only what we know about the merchant, not half-finished questions."""

    CARRY_OVER = IDENTITY_SLOTS + ("last_ticket_number",)  # never question_step: old buttons are stale

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        for slot in self.CARRY_OVER:
            value = tracker.get_slot(slot)
            if value is not None:
                events.append(SlotSet(slot, value))
        events.append(ActionExecuted("action_listen"))
        return events


class ActionDefaultFallback(Action):
    """Core fallback (no policy is confident): a Chinese re-ask instead of Rasa's English default."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        dispatcher.utter_message(text=texts.NOT_UNDERSTOOD)
        return [UserUtteranceReverted()]

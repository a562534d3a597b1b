"""The per-turn hook, session start, the core fallback, the transcript, and domain ↔ actions consistency."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet, UserUtteranceReverted

from actions.common import (
    URGENT_KEYWORDS,
    ActionDefaultFallback,
    ActionSessionStart,
    ActionTurnHook,
    detect_urgency,
    transcript,
)
from tests.dialogue.helpers import bot_event, make_tracker, texts, user_event

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("text", ["我要投诉你们", "什么垃圾机器", "气死我了", "你们是骗子吧", "很急！", "马上给我处理"])
async def test_anger_or_urgency_sets_the_urgent_slot(domain, dispatcher, text):
    tracker = make_tracker(domain, text=text, intent="report_fault")
    assert await ActionTurnHook().run(dispatcher, tracker, domain) == [SlotSet("urgent", True)]
    assert dispatcher.messages == []


async def test_calm_message_and_button_payload_are_not_urgent(domain, dispatcher):
    assert await ActionTurnHook().run(dispatcher, make_tracker(domain, text="打印机不出纸", intent="report_fault"), domain) == []
    assert detect_urgency('/give_feedback{"feedback":"down"}') is None
    assert detect_urgency("") is None
    assert "投诉" in URGENT_KEYWORDS and "急" in URGENT_KEYWORDS


async def test_an_answered_question_stays_pending(domain, dispatcher):
    tracker = make_tracker(domain, text="没解决", intent="deny", slots={"pending_question": "resolved"})
    assert await ActionTurnHook().run(dispatcher, tracker, domain) == []


async def test_moving_on_forgets_the_pending_question(domain, dispatcher):
    tracker = make_tracker(domain, text="费率多少", intent="ask_question", slots={"pending_question": "ticket_offer"})
    assert await ActionTurnHook().run(dispatcher, tracker, domain) == [SlotSet("pending_question", None)]


async def test_other_intents_end_a_run_of_fallbacks(domain, dispatcher):
    keep = make_tracker(domain, text="asdf", intent="nlu_fallback", slots={"fallback_count": 1.0})
    assert await ActionTurnHook().run(dispatcher, keep, domain) == []
    reset = make_tracker(domain, text="你好", intent="greet", slots={"fallback_count": 1.0})
    assert await ActionTurnHook().run(dispatcher, reset, domain) == [SlotSet("fallback_count", 0.0)]


async def test_session_start_carries_over_only_the_merchant_facts(domain, dispatcher):
    slots = {
        "merchant_id": "898310048161234",
        "phone": "13812345678",
        "last_ticket_number": "GD20261125-0001",
        "pending_question": "resolved",
        "helped": True,
        "description": "打印机不出纸",
    }
    events = await ActionSessionStart().run(dispatcher, make_tracker(domain, slots=slots), domain)
    assert events == [
        SessionStarted(),
        SlotSet("merchant_id", "898310048161234"),
        SlotSet("phone", "13812345678"),
        SlotSet("last_ticket_number", "GD20261125-0001"),
        ActionExecuted("action_listen"),
    ]


async def test_default_fallback_re_asks_in_chinese(domain, dispatcher):
    events = await ActionDefaultFallback().run(dispatcher, make_tracker(domain, text="嗯？"), domain)
    assert texts(dispatcher) == ["抱歉，我没太明白您的意思😅 可以换个说法，直接说说遇到的问题；也可以说“转人工”。"]
    assert events == [UserUtteranceReverted()]


def test_transcript_shows_button_clicks_by_title(domain):
    events = [
        user_event("打印机不出纸", "report_fault", ts=1700000000.0),
        bot_event("问题解决了吗？", [{"title": "没解决", "payload": "/deny"}], ts=1700000001.0),
        user_event("/deny", "deny", ts=1700000002.0),
        {"event": "slot", "name": "pending_question", "value": None},
        bot_event("", ts=1700000003.0),  # image-only or empty messages are skipped
    ]
    lines = transcript(make_tracker(domain, events=events))
    assert lines == [
        {"role": "user", "text": "打印机不出纸", "at": "2023-11-14T22:13:20+00:00"},
        {"role": "bot", "text": "问题解决了吗？", "at": "2023-11-14T22:13:21+00:00"},
        {"role": "user", "text": "[点击] 没解决", "at": "2023-11-14T22:13:22+00:00"},
    ]


def test_every_domain_action_is_served_and_every_served_action_is_in_the_domain(domain):
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    served = set(executor.actions)
    declared = set(domain["actions"])
    assert served == declared


def test_rules_and_stories_only_use_known_responses_and_actions(domain):
    known = set(domain["actions"]) | set(domain["responses"]) | set(domain["forms"]) | {"action_listen"}
    used = set()
    for name in ("rules.yml", "stories.yml"):
        data = yaml.safe_load((ROOT / "data" / "dialogue" / name).read_text(encoding="utf-8"))
        for block in data.get("rules", []) + data.get("stories", []):
            used |= {step["action"] for step in block["steps"] if "action" in step}
    assert used <= known, used - known


def test_slot_defaults_are_json_serialisable(domain):
    import json

    for name, slot in domain["slots"].items():
        json.dumps({name: slot.get("initial_value")})
        assert slot["type"] in ("text", "bool", "categorical", "float", "list", "any"), name

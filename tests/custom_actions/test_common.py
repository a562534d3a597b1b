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
from tests.custom_actions.helpers import bot_event, make_tracker, texts, user_event

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("text", ["我要投诉你们", "什么垃圾机器", "气死我了", "你们是骗子吧", "很急！", "马上给我处理"])
async def test_anger_or_urgency_sets_the_urgent_slot(domain, dispatcher, text):
    tracker = make_tracker(domain, text=text, intent="report_fault")
    assert await ActionTurnHook().run(dispatcher, tracker, domain) == [SlotSet("urgent", True)]
    assert dispatcher.messages == []


async def test_calm_message_and_button_payload_are_not_urgent(domain, dispatcher):
    assert (
        await ActionTurnHook().run(dispatcher, make_tracker(domain, text="打印机不出纸", intent="report_fault"), domain)
        == []
    )
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


# --- buttons that know their moment -----------------------------------------------------------


def click(domain, payload: str, intent: str, slots: dict, active_loop: str | None = None, **entities):
    import json

    values = json.loads(payload[payload.index("{") :]) if "{" in payload else {}
    return make_tracker(
        domain,
        text=payload,
        intent=intent,
        entities=[{"entity": k, "value": v} for k, v in values.items()],
        slots=slots,
        active_loop=active_loop,
    )


async def test_a_button_of_the_current_question_is_its_answer(domain, dispatcher):
    tracker = click(
        domain,
        '/deny{"faq_id":"fault-printer-no-paper","step":"resolved-aaaaaa"}',
        "deny",
        {"pending_question": "resolved", "question_step": "resolved-aaaaaa"},
    )
    assert await ActionTurnHook().run(dispatcher, tracker, domain) == []


async def test_a_button_of_an_earlier_question_is_flagged_and_sets_the_current_one_aside(domain, dispatcher):
    tracker = click(
        domain,
        '/deny{"faq_id":"fault-printer-no-paper","step":"resolved-aaaaaa"}',
        "deny",
        {"pending_question": "resolved", "question_step": "resolved-bbbbbb"},
    )
    assert await ActionTurnHook().run(dispatcher, tracker, domain) == [
        SlotSet("stale_button", True),
        SlotSet("pending_question", None),
    ]


async def test_a_late_vote_or_rating_is_simply_recorded_outside_the_form(domain, dispatcher):
    for payload in (
        '/give_feedback{"feedback":"up","faq_id":"x","step":"feedback-aaaaaa"}',
        '/give_feedback{"rating":"4","step":"rating-aaaaaa"}',
    ):
        tracker = click(domain, payload, "give_feedback", {"question_step": "resolved-bbbbbb"})
        assert SlotSet("stale_button", True) not in await ActionTurnHook().run(dispatcher, tracker, domain)


async def test_inside_the_form_every_other_button_is_an_earlier_one(domain, dispatcher):
    tracker = click(
        domain,
        '/give_feedback{"rating":"4","step":"rating-aaaaaa"}',
        "give_feedback",
        {"question_step": "confirm-cccccc"},
        "ticket_form",
    )
    assert await ActionTurnHook().run(dispatcher, tracker, domain) == [SlotSet("stale_button", True)]


async def test_typed_text_that_leaves_the_question_makes_its_buttons_old(domain, dispatcher):
    tracker = make_tracker(
        domain,
        text="费率多少",
        intent="ask_question",
        slots={"pending_question": "resolved", "question_step": "resolved-aaaaaa"},
    )
    assert await ActionTurnHook().run(dispatcher, tracker, domain) == [
        SlotSet("pending_question", None),
        SlotSet("question_step", None),
    ]
    # Typed "没解决" answers it: its buttons stay current.
    typed_answer = make_tracker(
        domain, text="没解决", intent="deny", slots={"pending_question": "resolved", "question_step": "resolved-aaaaaa"}
    )
    assert await ActionTurnHook().run(dispatcher, typed_answer, domain) == []


async def test_the_stale_flag_lasts_one_message(domain, dispatcher):
    tracker = make_tracker(domain, text="你好", intent="greet", slots={"stale_button": True})
    assert await ActionTurnHook().run(dispatcher, tracker, domain) == [SlotSet("stale_button", None)]


async def test_a_payload_without_a_step_is_taken_as_it_is(domain, dispatcher):
    # Buttons sent before steps existed (a widget open over the upgrade) still work.
    tracker = make_tracker(
        domain, text="/deny", intent="deny", slots={"pending_question": "resolved", "question_step": "resolved-aaaaaa"}
    )
    assert await ActionTurnHook().run(dispatcher, tracker, domain) == []


def test_verified_merchant_id_comes_only_from_the_message_metadata(domain):
    from actions.common import verified_merchant_id

    tracker = make_tracker(
        domain, text="查工单 898310048161234", entities=[{"entity": "merchant_id", "value": "898310048161234"}]
    )
    assert verified_merchant_id(tracker) is None
    tracker.latest_message["metadata"] = {"verified_merchant_id": "898310048161234"}
    assert verified_merchant_id(tracker) == "898310048161234"
    for bad in ("89831004816123", "89831004816123x", 898310048161234, None):
        tracker.latest_message["metadata"] = {"verified_merchant_id": bad}
        assert verified_merchant_id(tracker) is None


def test_value_before_message(domain):
    from actions.common import value_before_message

    events = [
        {"event": "slot", "name": "merchant_id", "value": "898310048161234"},
        user_event("1381234567", "inform"),
        {"event": "slot", "name": "merchant_id", "value": "1381234567"},
    ]
    tracker = make_tracker(domain, events=events, slots={"merchant_id": "1381234567"})
    assert value_before_message(tracker, "merchant_id") == "898310048161234"
    after_session = [
        {"event": "slot", "name": "phone", "value": "13812345678"},
        {"event": "session_started"},
        user_event("hi", "greet"),
    ]
    assert value_before_message(make_tracker(domain, events=after_session), "phone") is None


async def test_a_second_hello_is_not_another_greeting(domain, dispatcher):
    from actions.smalltalk import ActionGreet

    first = make_tracker(domain, text="你好", intent="greet")
    await ActionGreet().run(dispatcher, first, domain)
    again = make_tracker(
        domain,
        text="你好",
        intent="greet",
        events=[
            user_event("你好", "greet"),
            bot_event("您好！我是刷卡机智能客服小助手😊"),
            user_event("你好", "greet"),
        ],
    )
    await ActionGreet().run(dispatcher, again, domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_greet", "utter_greet_again"]
    assert "您好" not in texts(dispatcher)[1]

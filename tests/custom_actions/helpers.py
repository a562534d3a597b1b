"""Tracker builders and message helpers of the custom-action tests (importable as tests.custom_actions.helpers)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

SENDER = "web:merchant-1"
# 2026-11-25 10:00 in Shanghai: inside the 09:00-21:00 service hours.
OPEN_NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
# 2026-11-25 23:30 in Shanghai: after hours, the next opening is tomorrow 09:00.
CLOSED_NOW = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)


def user_event(text: str, intent: str | None = None, entities: list | None = None, ts: float | None = None) -> dict:
    return {
        "event": "user",
        "timestamp": ts if ts is not None else time.time(),
        "text": text,
        "parse_data": {"intent": {"name": intent, "confidence": 1.0}, "entities": entities or [], "text": text},
        "message_id": f"msg-{abs(hash((text, ts))) % 10**8}",
    }


def bot_event(text: str, buttons: list | None = None, ts: float | None = None) -> dict:
    return {
        "event": "bot",
        "timestamp": ts if ts is not None else time.time(),
        "text": text,
        "data": {"buttons": buttons or []},
    }


def ents(**values: Any) -> list[dict[str, Any]]:
    return [{"entity": k, "value": v} for k, v in values.items()]


def make_tracker(
    domain: dict[str, Any],
    *,
    text: str = "",
    intent: str | None = None,
    entities: list | None = None,
    slots: dict[str, Any] | None = None,
    events: list | None = None,
    active_loop: str | None = None,
    sender_id: str = SENDER,
) -> Tracker:
    """A tracker as Rasa serialises it: every domain slot present, the latest message parsed."""
    all_slots: dict[str, Any] = {name: None for name in domain["slots"]}
    all_slots["requested_slot"] = None
    all_slots.update(slots or {})
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": entities or [],
        "message_id": "msg-latest",
    }
    if events is None:
        events = [
            {"event": "action", "name": "action_listen", "timestamp": time.time()},
            user_event(text, intent, entities),
        ]
    return Tracker(
        sender_id,
        all_slots,
        latest,
        events,
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


_RESPONSES: dict[str, str] = {}


def response_text(name: str) -> str:
    """A domain response as Rasa renders it (our fixed replies have one variant and no slots)."""
    if not _RESPONSES:
        from pathlib import Path

        import yaml

        domain = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text(encoding="utf-8"))
        _RESPONSES.update({k: v[0]["text"] for k, v in domain["responses"].items()})
    return _RESPONSES[name]


def texts(dispatcher: CollectingDispatcher) -> list[str]:
    """What the merchant reads: texts, and domain responses rendered."""
    return [m["text"] if m.get("text") else response_text(m["response"]) for m in dispatcher.messages]


def step_of(button: dict[str, str]) -> str:
    """The step id a button's payload carries (actions.common.new_step)."""
    import json

    payload = button["payload"]
    return json.loads(payload[payload.index("{") :])["step"]


def buttons(dispatcher: CollectingDispatcher, index: int = -1) -> list[dict[str, str]]:
    return dispatcher.messages[index]["buttons"]

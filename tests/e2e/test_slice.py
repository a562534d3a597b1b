"""The first slice end to end: merchant text -> app -> Rasa (NLU + dialogue) -> action endpoint -> answer.

Real Rasa server, real app service, real SQLite database; nothing mocked.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.support import operator_key, texts

pytestmark = pytest.mark.integration
CJK = re.compile(r"[\u4e00-\u9fff]")


def sid() -> str:
    return "t" + uuid.uuid4().hex[:12]


def test_greeting_is_answered_in_chinese(chat):
    status, body = chat(sid(), "你好")
    assert status == 200
    assert body["status"] == "ok"
    assert CJK.search(texts(body)), body


def test_activation_question_gets_the_activation_answer(chat):
    status, body = chat(sid(), "刷卡机怎么激活")
    assert status == 200
    reply = texts(body)
    assert "激活" in reply, body
    assert len(reply) > 30  # a real answer, not a one-word fallback


def test_healthz_reports_rasa_and_model(live_stack):
    public = httpx.get(f"{live_stack.app_url}/healthz", timeout=10)
    assert public.status_code == 200 and public.json() == {"status": "ok"}  # no versions for anyone
    key = operator_key(live_stack.settings.effective_database_url)
    r = httpx.get(f"{live_stack.app_url}/healthz", headers=key, timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["rasa"]["reachable"] is True
    assert body["rasa"]["model_loaded"] is True
    assert body["rasa"]["version"].startswith("3.6")
    assert body["database"]["ok"] is True


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"sender_id": "abc", "text": "   "}, "text"),
        ({"sender_id": "abc", "text": "好" * 1001}, "text"),
        ({"sender_id": "", "text": "你好"}, "sender_id"),
        ({"sender_id": "a b<script>", "text": "你好"}, "sender_id"),
        ({"text": "你好"}, "sender_id"),
        ({"sender_id": "abc", "text": 123}, "text"),
    ],
)
def test_bad_chat_input_is_a_clear_422(live_stack, payload, field):
    r = httpx.post(f"{live_stack.app_url}/api/chat", json=payload, timeout=10)
    assert r.status_code == 422
    assert field in str(r.json()["detail"])


def test_malformed_json_is_422(live_stack):
    r = httpx.post(
        f"{live_stack.app_url}/api/chat",
        content=b'{"sender_id": "abc", "text": ',
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert r.status_code == 422


def test_action_endpoint_rejects_calls_without_the_token(live_stack):
    r = httpx.post(f"{live_stack.app_url}/webhook", json={"next_action": "action_faq_search"}, timeout=10)
    assert r.status_code == 401

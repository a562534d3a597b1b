"""Rate limits and quotas (bot.api.ratelimit): a flood gets 429 with Retry-After, everyone else is served."""

from __future__ import annotations

import uuid

import pytest

from bot.api.ratelimit import RATE_LIMITED_MESSAGE, SESSION_CAP_MESSAGE
from bot.core.settings import Settings

from .conftest import api_key, browser

REDIS_URL = "redis://127.0.0.1:6379/0"


def assert_429(r, code="rate_limited"):
    assert r.status_code == 429, r.text
    body = r.json()
    assert body["code"] == code
    assert body["message"] == body["detail"]
    assert "/" in body["message"] and any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])  # bilingual
    assert int(r.headers["Retry-After"]) >= 1


def test_a_sender_sending_too_fast_is_told_to_wait_and_others_are_not(make_app):
    _, client, services = make_app(rate_limit_sender_messages="3/minute")
    flooder, other = browser(client), browser(client)
    for i in range(3):
        assert flooder.say(f"第{i}条").status_code == 200
    r = flooder.say("又一条")
    assert_429(r)
    assert r.json()["message"] == RATE_LIMITED_MESSAGE
    assert r.json()["message"].startswith("发送太频繁了，请稍等一会儿再试")
    assert "又一条" not in [t for _, t, _ in services_rasa(client).received]  # never reached Rasa
    assert other.say("你好").status_code == 200


def services_rasa(client):
    return client.app.state.rasa.scripted


def test_polling_updates_too_fast_is_limited_per_sender(make_app):
    _, client, _ = make_app(rate_limit_sender_requests="3/minute")
    b = browser(client)
    assert [b.updates().status_code for _ in range(3)] == [200, 200, 200]
    assert_429(b.updates())
    assert_429(b.ack(["m1"]))
    assert browser(client).updates().status_code == 200


def test_a_conversation_has_a_message_cap_with_a_polite_refusal(make_app):
    _, client, _ = make_app(chat_session_max_messages=2)
    b = browser(client)
    assert b.say("一").status_code == 200
    assert b.say("二").status_code == 200
    r = b.say("三")
    assert_429(r, "session_message_cap")
    assert r.json()["message"] == SESSION_CAP_MESSAGE
    assert "转人工" in r.json()["message"]
    assert "三" not in services_rasa(client).texts_for(b.conv)


def test_one_client_ip_flooding_is_limited_but_wechat_callbacks_are_not(make_app):
    _, client, _ = make_app(rate_limit_ip="5/minute")
    codes = [client.get("/healthz").status_code for _ in range(5)]
    assert 429 not in codes
    r = client.post("/api/chat/session", json={})
    assert_429(r)
    assert r.headers["X-Content-Type-Options"] == "nosniff"  # refusals carry the security headers too
    # WeChat/WeCom servers speak for every follower: never limited per IP (404: not configured here).
    assert client.post("/wechat", content=b"<xml/>").status_code == 404


def test_api_keys_have_their_own_budget(make_app):
    _, client, services = make_app(rate_limit_api_key="3/minute")
    busy, calm = api_key(services, ["tickets:read"]), api_key(services, ["tickets:read"])
    assert [client.get("/api/tickets", headers=busy).status_code for _ in range(3)] == [200, 200, 200]
    assert_429(client.get("/api/tickets", headers=busy))
    assert_429(client.get("/api/tickets", headers={"Authorization": busy["X-API-Key"].join(["Bearer ", ""])}))
    assert client.get("/api/tickets", headers=calm).status_code == 200


def test_instances_sharing_redis_share_the_counters(make_app):
    """Two app instances behind a load balancer: a flood split over both is still one flood."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        pytest.fail(f"Redis is part of this project's test setup ({REDIS_URL})")
    _, a, _ = make_app(redis_url=REDIS_URL, rate_limit_sender_requests="3/minute", chat_session_secret="shared")
    _, b, _ = make_app(redis_url=REDIS_URL, rate_limit_sender_requests="3/minute", chat_session_secret="shared")
    sender = "r" + uuid.uuid4().hex[:12]
    on_a = browser(a, sender)  # 1 (the session)
    on_b = browser(b)
    on_b.sender_id, on_b.token = sender, on_a.token
    assert on_a.updates().status_code == 200  # 2
    assert on_b.updates().status_code == 200  # 3
    assert_429(on_a.updates())
    assert_429(on_b.updates())


def test_a_broken_counter_store_never_takes_the_chat_down(make_app):
    _, client, _ = make_app(redis_url="redis://127.0.0.1:1/0", rate_limit_sender_messages="1/minute")
    b = browser(client)
    assert b.say("一").status_code == 200
    assert b.say("二").status_code == 200  # counters unavailable: served, not refused


def test_limits_can_be_raised_or_switched_off_by_environment(monkeypatch, make_app):
    monkeypatch.setenv("POSBOT_RATE_LIMIT_SENDER_MESSAGES", "1000/second")
    monkeypatch.setenv("POSBOT_RATE_LIMITS_ENABLED", "false")
    s = Settings(_env_file=None)
    assert s.rate_limit_sender_messages == "1000/second" and s.rate_limits_enabled is False
    _, client, _ = make_app(rate_limits_enabled=False, rate_limit_sender_messages="1/minute", rate_limit_ip="1/minute")
    b = browser(client)
    assert [b.say(str(i)).status_code for i in range(3)] == [200, 200, 200]


def test_defaults_leave_room_for_a_busy_merchant():
    """A merchant typing fast and the widget polling every 4 s stay far below the defaults."""
    from limits import parse_many

    s = Settings(_env_file=None)
    per_minute = {str(i.GRANULARITY.name): i.amount for i in parse_many(s.rate_limit_sender_messages)}
    assert per_minute["minute"] >= 20
    assert parse_many(s.rate_limit_sender_requests)[0].amount >= 60 // 4 * 4  # polls + acks + photos
    assert s.chat_session_max_messages >= 200

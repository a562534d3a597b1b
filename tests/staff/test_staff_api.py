"""/api/staff: login with a session cookie, roles as scopes, who did what, labels, the queue."""

from __future__ import annotations

import logging
import uuid

import pytest
from fastapi.testclient import TestClient

from bot.api.auth import SESSION_COOKIE
from bot.api.ratelimit import KEY_PREFIX
from bot.staff.accounts import StaffStore
from bot.tickets.apikeys import ApiKeyStore
from bot.tickets.schemas import TicketCreate
from bot.tickets.states import STATUS_LABELS, TRANSITIONS, Status

from .conftest import PASSWORD, login, make_app


def ticket(app, **over):
    data = {
        "category": "repair",
        "merchant_id": "898310048161234",
        "terminal_id": "12345678",
        "contact_phone": "13800138000",
        "description": "打印机不出纸",
    } | over
    return app.state.services.tickets.create(TicketCreate(**data))


def test_login_sets_a_strict_httponly_secure_cookie_and_me_answers(client, accounts):
    r = login(client, "agent1")
    assert r.status_code == 200
    assert r.json()["display_name"] == "小李" and r.json()["role"] == "agent"
    cookie = r.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie and "Max-Age=28800" in cookie
    me = client.get("/api/staff/me")
    assert me.status_code == 200 and me.json()["username"] == "agent1" and me.json()["role_label"] == "客服"


def test_plain_http_gets_no_secure_flag_unless_configured(app, accounts, settings):
    with TestClient(app, base_url="http://staff.test") as c:
        assert "Secure" not in login(c, "agent1").headers["set-cookie"]
    settings.staff_cookie_secure = True
    with TestClient(app, base_url="http://staff.test") as c:
        assert "Secure" in login(c, "agent1").headers["set-cookie"]


def test_wrong_credentials_are_refused_with_one_message(client, accounts, caplog):
    caplog.set_level(logging.WARNING)
    wrong = login(client, "agent1", "not the password")
    unknown = login(client, "nobody", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "用户名或密码不正确 / wrong username or password"
    assert "set-cookie" not in wrong.headers
    assert client.get("/api/staff/me").status_code == 401
    assert "not the password" not in caplog.text and PASSWORD not in caplog.text


def test_a_second_tab_shares_the_session_and_logout_ends_it(app, client, accounts):
    login(client, "agent1")
    token = client.cookies[SESSION_COOKIE]
    with TestClient(app, base_url="https://staff.test", cookies={SESSION_COOKIE: token}) as tab2:
        assert tab2.get("/api/staff/me").json()["username"] == "agent1"
        assert client.post("/api/staff/logout").status_code == 204
        assert tab2.get("/api/staff/me").status_code == 401  # ended on the server, not only in one tab
    assert client.get("/api/staff/me").status_code == 401


def test_disabling_an_account_stops_its_open_session(app, client, accounts):
    login(client, "agent1")
    assert client.get("/api/tickets").status_code == 200
    StaffStore(app.state.services.db).disable("agent1")
    r = client.get("/api/tickets")
    assert r.status_code == 401 and "重新登录" in r.json()["detail"]
    assert login(client, "agent1").status_code == 401


def test_roles_decide_what_a_session_may_do(app, client, accounts):
    number = ticket(app).number
    login(client, "viewer1")
    assert client.get(f"/api/tickets/{number}").status_code == 200
    assert client.get("/api/conversations").status_code == 200
    r = client.patch(f"/api/tickets/{number}", json={"status": "in_progress"})
    assert r.status_code == 403 and "tickets:write" in r.json()["detail"]
    assert client.post("/api/conversations/web:x/messages", json={"text": "您好"}).status_code == 403

    login(client, "agent1")
    assert client.patch(f"/api/tickets/{number}", json={"status": "in_progress"}).status_code == 200


def test_every_staff_action_records_the_account(app, client, accounts):
    convs = app.state.services.conversations
    conv = f"web:{uuid.uuid4().hex[:12]}"
    convs.log_message(conv, "in", "转人工")
    convs.start_handoff(conv, "web")
    number = ticket(app, channel="web", sender_id=conv).number
    login(client, "agent1")

    assert client.patch(f"/api/tickets/{number}", json={"assignee": "小李"}).status_code == 200
    # A session cannot sign a comment or a hand-back as somebody else.
    client.post(f"/api/tickets/{number}/comments", json={"body": "已电话联系", "author": "ceo2"})
    events = client.get(f"/api/tickets/{number}/events").json()
    assert {e["actor"] for e in events if e["type"] in ("assigned", "commented")} == {"agent1"}

    sent = client.post(f"/api/conversations/{conv}/messages", json={"text": "您好，我是小李"})
    assert sent.status_code == 201
    assert sent.json()["author"] == "小李"  # what the merchant reads
    assert sent.json()["actor"] == "agent1"  # who it was
    back = client.post(f"/api/conversations/{conv}/handback", json={"by": "ceo2"})
    assert back.json()["handoff"]["ended_by"] == "agent1"


def test_cross_site_writes_with_the_cookie_are_refused(client, accounts, app):
    number = ticket(app).number
    login(client, "agent1")
    r = client.patch(f"/api/tickets/{number}", json={"status": "in_progress"}, headers={"Origin": "https://evil.test"})
    assert r.status_code == 403
    same = client.patch(
        f"/api/tickets/{number}", json={"status": "in_progress"}, headers={"Origin": "https://staff.test"}
    )
    assert same.status_code == 200


def test_repeated_failures_are_throttled(client, accounts, settings):
    settings.staff_login_max_failures = 3
    for _ in range(3):
        assert login(client, "agent1", "wrong password!").status_code == 401
    r = login(client, "agent1")  # even the right password waits now
    assert r.status_code == 429 and r.headers["Retry-After"] == "900"


REDIS_URL = "redis://127.0.0.1:6379/0"


def test_app_instances_sharing_redis_share_the_failed_login_count(sqlite_database, settings):
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        pytest.fail(f"Redis is part of this project's test setup ({REDIS_URL})")
    # Redis outlives the test: a fresh account and client address, so earlier runs count nothing.
    name, address = f"agent{uuid.uuid4().hex[:8]}", f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    StaffStore(sqlite_database).create(name, "agent", PASSWORD)
    settings.redis_url, settings.staff_login_max_failures = REDIS_URL, 3
    a, b = make_app(sqlite_database, settings), make_app(sqlite_database, settings)
    with (
        TestClient(a, base_url="https://staff.test", client=(address, 1)) as on_a,
        TestClient(b, base_url="https://staff.test", client=(address, 2)) as on_b,
    ):
        assert login(on_a, name, "wrong password!").status_code == 401
        assert login(on_b, name, "wrong password!").status_code == 401
        assert login(on_a, name, "wrong password!").status_code == 401
        # three failures spread over two instances: the other one refuses too, right password or not
        r = login(on_b, name)
        assert r.status_code == 429 and r.headers["Retry-After"] == "900"
    # The keys would expire in 15 minutes; tests clean up what they leave in shared Redis at once.
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{KEY_PREFIX}*staff_login_failures*"):
        client.delete(key)


def test_failed_logins_are_still_counted_when_redis_is_down(sqlite_database, settings, caplog):
    name = f"agent{uuid.uuid4().hex[:8]}"
    StaffStore(sqlite_database).create(name, "agent", PASSWORD)
    settings.redis_url, settings.staff_login_max_failures = "redis://127.0.0.1:1/0", 2
    with TestClient(make_app(sqlite_database, settings), base_url="https://staff.test") as c:
        assert login(c, name).status_code == 200  # Redis down takes no sign-in away
        assert login(c, name, "wrong password!").status_code == 401
        assert login(c, name, "wrong password!").status_code == 401
        assert login(c, name).status_code == 429
    assert "login failure store unavailable" in caplog.text


def test_api_keys_keep_working_and_conversation_scopes_stand_alone(app, client):
    keys = ApiKeyStore(app.state.services.db)
    legacy = {"X-API-Key": keys.create("crm", ["tickets:read"]).token}
    convs_only = {"X-API-Key": keys.create("wallboard", ["conversations:read"]).token}
    faq_only = {"X-API-Key": keys.create("faq", ["faq:read"]).token}
    assert client.get("/api/conversations", headers=legacy).status_code == 200  # tickets:read still reads them
    assert client.get("/api/staff/queue", headers=legacy).status_code == 200
    assert client.get("/api/conversations", headers=convs_only).status_code == 200
    assert client.get("/api/tickets", headers=convs_only).status_code == 403
    assert client.get("/api/conversations", headers=faq_only).status_code == 403
    assert client.post("/api/conversations/web:x/handback", json={}, headers=convs_only).status_code == 403
    with pytest.raises(ValueError):
        keys.create("bad", ["staff:admin"])  # accounts are managed by people, not keys
    bad = client.get("/api/tickets", headers={"X-API-Key": "posbot_00000000_" + "x" * 43})
    assert bad.status_code == 401


def test_labels_come_from_the_server_tables(client, accounts):
    assert client.get("/api/staff/labels").status_code == 401
    login(client, "viewer1")
    labels = client.get("/api/staff/labels").json()
    assert labels["status"] == STATUS_LABELS
    assert labels["transitions"] == {s.value: sorted(t.value for t in TRANSITIONS[s]) for s in Status}
    assert labels["category"]["repair"] == "故障报修"
    assert labels["faq_subcategory"]["printer"] == "打印"
    assert labels["match"] == {"high": "高", "medium": "中", "low": "低"}
    assert labels["staff"]["agent1"] == "小李"
    assert labels["field"]["merchant_id"] == "商户号"
    assert labels["staff_role"]["agent"] == "客服"


def test_rasas_copies_of_the_labels_agree_with_the_server():
    from actions.common import CATEGORY_LABELS as action_categories
    from actions.ticket_status_texts import STATUS_LABELS as action_statuses
    from bot.tickets.states import CATEGORY_LABELS

    assert action_statuses == STATUS_LABELS
    assert action_categories == CATEGORY_LABELS


def test_fault_types_reach_the_ticket_in_chinese():
    from actions.texts import fault_type_label

    assert fault_type_label("printer") == "打印机"
    assert fault_type_label("屏幕碎了") == "屏幕碎了"  # the merchant's own words stay


def test_queue_has_one_row_per_conversation_with_wait_and_last_message(app, client, accounts):
    convs = app.state.services.conversations
    first, second = "web:" + "a" * 12, "wechat:" + "b" * 12
    convs.log_message(first, "in", "转人工")
    convs.start_handoff(first, "web")
    convs.start_handoff(first, "web")  # idempotent: still one row
    ticket(app, channel="web", sender_id=first, merchant_id="898310048161234")
    convs.log_message(second, "in", "人工")
    convs.start_handoff(second, "wechat", reason="urgent")
    convs.log_message(second, "in", "快点！机器不能刷卡了")
    login(client, "viewer1")

    q = client.get("/api/staff/queue").json()
    assert q["count"] == 2
    rows = {r["conversation_id"]: r for r in q["items"]}
    assert [r["conversation_id"] for r in q["items"]] == [first, second]  # longest waiting first
    assert rows[first]["merchant_id_masked"] == "8983****1234"
    assert rows[first]["contact_phone_masked"] == "138****8000"  # the agent can call back without a click
    assert rows[second]["contact_phone_masked"] is None  # nothing filed: no phone to show
    assert rows[second]["last_message"]["text"] == "快点！机器不能刷卡了"
    # written after the handoff began, no staff reply yet ("人工" itself was answered by the bot)
    assert rows[second]["unanswered"] == 1 and rows[second]["reason"] == "urgent"

    login(client, "agent1")
    client.post(f"/api/conversations/{second}/messages", json={"text": "马上看"})
    after = {r["conversation_id"]: r for r in client.get("/api/staff/queue").json()["items"]}
    assert after[second]["unanswered"] == 0 and after[second]["last_message"]["direction"] == "staff"
    client.post(f"/api/conversations/{first}/handback", json={})
    assert client.get("/api/staff/queue").json()["count"] == 1


def test_faq_match_levels_follow_the_engine_thresholds():
    from types import SimpleNamespace

    from bot.api.faq import match_level
    from bot.faq.scoring import Thresholds

    engine = SimpleNamespace(thresholds=lambda mode: Thresholds(answer=0.6, suggest=0.4, closest=0.3))
    assert [match_level(s, engine) for s in (0.7, 0.6, 0.45, 0.3, 0.1)] == ["high", "high", "medium", "medium", "low"]

"""The ticket REST API through FastAPI's TestClient, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import re
import threading

import pytest
from sqlalchemy import func, select, update

from bot.tickets.models import OutboxEvent, Ticket

from .helpers import MERCHANT, ticket_fields

CJK = re.compile(r"[\u4e00-\u9fff]")


def _count(database, model=Ticket) -> int:
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def _create(api, **overrides):
    r = api.client.post("/api/tickets", json=ticket_fields(**overrides), headers=api.rw)
    assert r.status_code == 201, r.text
    return r.json()


def _assert_422(r, field: str):
    assert r.status_code == 422, r.text
    body = r.json()
    fields = [d["field"] for d in body["detail"]]
    assert field in fields, body
    item = body["detail"][fields.index(field)]
    assert CJK.search(item["msg"]) and " / " in item["msg"], item
    assert field.rsplit(".", 1)[-1].lower() in item["msg"].lower(), item
    assert "input" not in item  # never echo what was sent
    assert body["message"] and body["code"] == "validation_error"
    return body


# --- authentication -----------------------------------------------------------------------


def test_missing_and_invalid_keys_get_401_and_are_logged_without_the_key(api, caplog):
    caplog.set_level(logging.WARNING, logger="bot.api.auth")
    token = api.rw["X-API-Key"]
    prefix = token[: len("posbot_") + 8]
    wrong_secret = prefix + "_" + "A" * 43
    cases = [
        {},
        {"X-API-Key": "not-a-key"},
        {"X-API-Key": "posbot_00000000_" + "B" * 43},
        {"X-API-Key": wrong_secret},
        {"Authorization": "Bearer " + wrong_secret},
        {"Authorization": "Basic " + token},
    ]
    for headers in cases:
        r = api.client.get("/api/tickets", headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert "API" in r.json()["detail"]
    rejected = [rec for rec in caplog.records if rec.name == "bot.api.auth"]
    assert len(rejected) == len(cases)
    text = caplog.text
    assert "GET /api/tickets" in text and "missing key" in text and "wrong secret" in text
    assert prefix in text  # the public prefix helps operators find the key
    for secret in [token, wrong_secret, "A" * 43, "B" * 43, "not-a-key", token[len(prefix) + 1 :]]:
        assert secret not in text


def test_revoked_key_gets_401(api):
    assert api.client.get("/api/tickets", headers=api.rw).status_code == 200
    api.store.revoke(api.rw_key.info.id)
    assert api.client.get("/api/tickets", headers=api.rw).status_code == 401


def test_missing_scope_gets_403_and_is_logged(api, caplog):
    caplog.set_level(logging.WARNING, logger="bot.api.auth")
    r = api.client.post("/api/tickets", json=ticket_fields(), headers=api.ro)
    assert r.status_code == 403 and "tickets:write" in r.json()["detail"]
    assert api.client.get("/api/tickets", headers=api.faq).status_code == 403
    assert "missing scope tickets:write" in caplog.text
    for token in api.tokens:
        assert token not in caplog.text


def test_bearer_token_is_accepted(api):
    token = api.rw["X-API-Key"]
    r = api.client.get("/api/tickets", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200


def test_require_scope_rejects_unknown_scopes():
    from bot.api.auth import require_scope

    with pytest.raises(ValueError):
        require_scope("tickets:admin")


# --- creation -----------------------------------------------------------------------------


def test_create_returns_201_and_location(api):
    r = api.client.post(
        "/api/tickets",
        json=ticket_fields(settlement_amount=99.9, category="settlement", terminal_id=None),
        headers=api.rw,
    )
    assert r.status_code == 201
    body = r.json()
    assert re.fullmatch(r"GD\d{8}-[2-9A-HJKMNP-Z]{6}", body["number"])
    assert r.headers["Location"] == f"/api/tickets/{body['number']}"
    assert body["status"] == "open" and body["settlement_amount"] == "99.90"
    got = api.client.get(f"/api/tickets/{body['number']}", headers=api.ro)
    assert got.status_code == 200 and got.json() == body
    events = api.client.get(f"/api/tickets/{body['number']}/events", headers=api.ro).json()
    assert [e["type"] for e in events] == ["created"] and events[0]["actor"] == "api:staff-console"


def test_idempotency_key_replays_the_first_ticket(api, database):
    headers = {**api.rw, "Idempotency-Key": "crm-7f3a"}
    first = api.client.post("/api/tickets", json=ticket_fields(), headers=headers)
    again = api.client.post("/api/tickets", json=ticket_fields(description="重复提交"), headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["number"] == first.json()["number"]
    assert _count(database) == 1


def test_concurrent_requests_with_the_same_key_make_one_ticket(api, database):
    n = 6
    barrier = threading.Barrier(n)
    responses = []

    def post() -> None:
        barrier.wait()
        responses.append(
            api.client.post("/api/tickets", json=ticket_fields(), headers={**api.rw, "Idempotency-Key": "dup-1"})
        )

    threads = [threading.Thread(target=post) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in responses) == [200] * (n - 1) + [201]
    assert len({r.json()["number"] for r in responses}) == 1
    assert _count(database) == 1


def test_sql_ish_strings_are_harmless(api, database):
    nasty = "Robert'); DROP TABLE tickets;-- 😀 \u202e <img src=x onerror=alert(1)>"
    body = _create(api, description=nasty, sender_id="1' OR '1'='1", channel="web")
    got = api.client.get(f"/api/tickets/{body['number']}", headers=api.ro).json()
    assert got["description"] == nasty and got["sender_id"] == "1' OR '1'='1"
    r = api.client.get("/api/tickets", params={"assignee": "x' OR '1'='1"}, headers=api.ro)
    assert r.status_code == 200 and r.json()["items"] == []
    assert api.client.get("/api/tickets/GD' OR '1'='1", headers=api.ro).status_code == 404
    assert _count(database) == 1


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (ticket_fields(merchant_id="12345"), "merchant_id"),
        (ticket_fields(merchant_id=123456789012345), "merchant_id"),
        (ticket_fields(contact_phone="10086"), "contact_phone"),
        (ticket_fields(contact_phone=13800138000), "contact_phone"),
        (ticket_fields(description=["not", "text"]), "description"),
        (ticket_fields(description="x" * 2001), "description"),
        (ticket_fields(category="refund"), "category"),
        (ticket_fields(terminal_id=None), "terminal_id"),
        (ticket_fields(settlement_amount="abc"), "settlement_amount"),
        (ticket_fields(transcript="not a list"), "transcript"),
        (ticket_fields(transcript=[{"role": "user"}]), "transcript.0.text"),
        ({k: v for k, v in ticket_fields().items() if k != "contact_phone"}, "contact_phone"),
        ({**ticket_fields(), "status": "closed"}, "status"),
        ([ticket_fields()], "body"),
        ("just a string", "body"),
    ],
)
def test_invalid_bodies_get_422_naming_the_field(sqlite_api, payload, field):
    r = sqlite_api.client.post("/api/tickets", json=payload, headers=sqlite_api.rw)
    _assert_422(r, field)
    assert _count(sqlite_api.database) == 0


def test_malformed_json_gets_422(sqlite_api):
    r = sqlite_api.client.post(
        "/api/tickets",
        content=b'{"category": "repair", "merchant_id": ',
        headers={**sqlite_api.rw, "Content-Type": "application/json"},
    )
    body = _assert_422(r, "body")
    assert "JSON" in body["message"]
    assert _count(sqlite_api.database) == 0


def test_bad_idempotency_key_gets_422(sqlite_api):
    r = sqlite_api.client.post(
        "/api/tickets", json=ticket_fields(), headers={**sqlite_api.rw, "Idempotency-Key": "has space"}
    )
    _assert_422(r, "Idempotency-Key")
    assert _count(sqlite_api.database) == 0


def test_one_megabyte_description_gets_413_and_stores_nothing(sqlite_api):
    r = sqlite_api.client.post(
        "/api/tickets", json=ticket_fields(description="长" * (1024 * 1024)), headers=sqlite_api.rw
    )
    assert r.status_code == 413
    assert "65536" in r.json()["detail"]
    assert _count(sqlite_api.database) == 0


def test_chunked_oversized_body_gets_413(sqlite_api):
    payload = json.dumps(ticket_fields(description="x" * 100_000)).encode()

    def chunks():
        for i in range(0, len(payload), 8192):
            yield payload[i : i + 8192]

    r = sqlite_api.client.post(
        "/api/tickets", content=chunks(), headers={**sqlite_api.rw, "Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert r.status_code == 413
    assert _count(sqlite_api.database) == 0


def test_body_under_the_limit_but_too_long_description_gets_422(sqlite_api):
    r = sqlite_api.client.post("/api/tickets", json=ticket_fields(description="x" * 60_000), headers=sqlite_api.rw)
    _assert_422(r, "description")
    assert _count(sqlite_api.database) == 0


# --- reading, filters, pagination ---------------------------------------------------------


def test_unknown_ticket_gets_404(api):
    for path in ("/api/tickets/GD20000101-0001", "/api/tickets/GD20000101-0001/events"):
        r = api.client.get(path, headers=api.ro)
        assert r.status_code == 404 and "GD20000101-0001" in r.json()["message"]
    r = api.client.patch("/api/tickets/GD20000101-0001", json={"status": "resolved"}, headers=api.rw)
    assert r.status_code == 404
    r = api.client.post("/api/tickets/GD20000101-0001/comments", json={"body": "x"}, headers=api.rw)
    assert r.status_code == 404


def test_list_filters_and_cursor_pagination(api):
    made = [
        _create(api, category="repair"),
        _create(api, category="settlement", terminal_id=None),
        _create(api, category="repair", merchant_id="987654321098765"),
        _create(api, category="repair"),
        _create(api, category="other"),
    ]
    numbers, cursor = [], None
    for _ in range(10):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/api/tickets", params=params, headers=api.ro).json()
        numbers += [t["number"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert numbers == [t["number"] for t in reversed(made)]

    r = api.client.get("/api/tickets", params={"category": "repair", "merchant_id": MERCHANT}, headers=api.ro).json()
    assert [t["number"] for t in r["items"]] == [made[3]["number"], made[0]["number"]]

    api.client.patch(f"/api/tickets/{made[1]['number']}", json={"status": "in_progress"}, headers=api.rw)
    r = api.client.get("/api/tickets", params={"status": "in_progress"}, headers=api.ro).json()
    assert [t["number"] for t in r["items"]] == [made[1]["number"]]

    r = api.client.get("/api/tickets", params={"created_from": "2000-01-01T00:00:00Z"}, headers=api.ro).json()
    assert len(r["items"]) == 5
    r = api.client.get("/api/tickets", params={"created_to": "2000-01-01T00:00:00"}, headers=api.ro).json()
    assert r["items"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "pending"}, "status"),
        ({"merchant_id": "1234"}, "merchant_id"),
        ({"created_from": "yesterday"}, "created_from"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_bad_list_parameters_get_422(sqlite_api, params, field):
    _assert_422(sqlite_api.client.get("/api/tickets", params=params, headers=sqlite_api.ro), field)


# --- changes --------------------------------------------------------------------------------


def test_patch_legal_and_illegal_transitions(api):
    number = _create(api, channel="wechat", sender_id="oC")["number"]
    url = f"/api/tickets/{number}"
    r = api.client.patch(url, json={"status": "in_progress", "assignee": "alice"}, headers=api.rw)
    assert r.status_code == 200 and r.json()["status"] == "in_progress" and r.json()["assignee"] == "alice"

    r = api.client.patch(url, json={"status": "closed"}, headers=api.rw)
    assert r.status_code == 409
    assert r.json()["code"] == "illegal_transition" and "in_progress" in r.json()["message"]

    r = api.client.patch(url, json={"status": "resolved", "note": "已更换打印头"}, headers=api.rw)
    assert r.status_code == 200 and r.json()["resolution"] == "已更换打印头"
    r = api.client.patch(url, json={"status": "closed"}, headers=api.rw)
    assert r.status_code == 200
    r = api.client.patch(url, json={"status": "open"}, headers=api.rw)
    assert r.status_code == 409

    events = api.client.get(f"{url}/events", headers=api.ro).json()
    assert [e["type"] for e in events] == [
        "created",
        "status_changed",
        "assigned",
        "notification",
        "status_changed",
        "notification",
        "status_changed",
    ]
    assert all(e["actor"] == "api:staff-console" for e in events[1:])


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "status"),
        ({"status": "done"}, "status"),
        ({"priority": "now"}, "priority"),
        ({"status": None}, "status"),
        ({"assignee": "x" * 65}, "assignee"),
        ({"status": "resolved", "number": "GD1"}, "number"),
    ],
)
def test_bad_patches_get_422(sqlite_api, payload, field):
    number = _create(sqlite_api)["number"]
    _assert_422(sqlite_api.client.patch(f"/api/tickets/{number}", json=payload, headers=sqlite_api.rw), field)
    assert sqlite_api.client.get(f"/api/tickets/{number}", headers=sqlite_api.ro).json()["version"] == 1


def test_read_only_key_cannot_patch(api):
    number = _create(api)["number"]
    r = api.client.patch(f"/api/tickets/{number}", json={"status": "resolved"}, headers=api.ro)
    assert r.status_code == 403


def test_comments(api):
    number = _create(api)["number"]
    r = api.client.post(f"/api/tickets/{number}/comments", json={"body": "已联系商户"}, headers=api.rw)
    assert r.status_code == 201
    assert r.json()["actor"] == "staff-console" and r.json()["data"]["body"] == "已联系商户"
    r = api.client.post(f"/api/tickets/{number}/comments", json={"author": "王工", "body": "明早上门"}, headers=api.rw)
    assert r.json()["actor"] == "王工"
    _assert_422(api.client.post(f"/api/tickets/{number}/comments", json={"body": ""}, headers=api.rw), "body")
    _assert_422(api.client.post(f"/api/tickets/{number}/comments", json={"body": "x" * 2001}, headers=api.rw), "body")
    events = api.client.get(f"/api/tickets/{number}/events", headers=api.ro).json()
    assert [e["data"].get("body") for e in events if e["type"] == "commented"] == ["已联系商户", "明早上门"]


# --- outbox operations --------------------------------------------------------------------


def test_outbox_endpoints_errors(api, database):
    number = _create(api)["number"]
    assert api.client.get("/api/outbox/dead", headers=api.ro).json() == {"items": [], "next_cursor": None}
    r = api.client.post("/api/outbox/00000000-0000-0000-0000-000000000000/retry", headers=api.rw)
    assert r.status_code == 404
    with database.session() as s:
        event_id = s.scalar(select(OutboxEvent.event_id))
        s.execute(update(OutboxEvent).values(status="delivered"))
    assert api.client.get(f"/api/outbox/{event_id}", headers=api.ro).json()["ticket_number"] == number
    r = api.client.post(f"/api/outbox/{event_id}/retry", headers=api.rw)
    assert r.status_code == 409 and r.json()["code"] == "outbox_event_delivered"
    assert api.client.post(f"/api/outbox/{event_id}/retry", headers=api.ro).status_code == 403


# --- what the merchant will read -------------------------------------------------------------


def test_preview_shows_exactly_what_the_merchant_will_receive(api):
    number = _create(api, channel="web", sender_id="web:m-preview")["number"]
    body = {"status": "resolved", "note": "已远程重置参数", "reply_to_merchant": True}
    r = api.client.post(f"/api/tickets/{number}/preview", json=body, headers=api.ro)
    assert r.status_code == 200
    preview = r.json()
    assert preview["recipient"] == "web:m-preview"
    assert preview["messages"] == [
        f"您的工单 {number} 已处理完成✅ 如果问题还在，直接说“转人工”，客服会接着帮您处理。\n客服留言：已远程重置参数"
    ]
    assert api.client.get(f"/api/tickets/{number}", headers=api.ro).json()["status"] == "open"  # nothing saved
    assert api.client.patch(f"/api/tickets/{number}", json=body, headers=api.rw).status_code == 200
    internal = api.client.post(f"/api/tickets/{number}/preview", json={"note": "内部"}, headers=api.ro).json()
    assert internal["messages"] == []


def test_preview_refuses_what_saving_would_refuse(api):
    number = _create(api, channel="web", sender_id="web:m-preview2")["number"]
    assert (
        api.client.post(f"/api/tickets/{number}/preview", json={"status": "closed"}, headers=api.ro).status_code == 409
    )
    r = api.client.post(f"/api/tickets/{number}/preview", json={"reply_to_merchant": True}, headers=api.ro)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "note"
    assert api.client.post("/api/tickets/GD20000101-ABCDEF/preview", json={}, headers=api.ro).status_code == 404
    assert api.client.post(f"/api/tickets/{number}/preview", json={}).status_code == 401


def test_a_comment_reaches_the_merchant_only_when_marked(api):
    number = _create(api, channel="web", sender_id="web:m-comment")["number"]
    r = api.client.post(f"/api/tickets/{number}/comments", json={"body": "内部：先别告诉商户"}, headers=api.rw)
    assert r.status_code == 201
    r = api.client.post(
        f"/api/tickets/{number}/comments", json={"body": "师傅明天上午到店", "reply_to_merchant": True}, headers=api.rw
    )
    assert r.status_code == 201 and r.json()["data"]["reply_to_merchant"] is True
    events = api.client.get(f"/api/tickets/{number}/events", headers=api.ro).json()
    sent = [e["data"]["text"] for e in events if e["type"] == "notification"]
    assert sent == [f"关于您的工单 {number}，客服回复：师傅明天上午到店"]

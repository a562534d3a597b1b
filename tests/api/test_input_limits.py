"""Limits on every route: body size before parsing and before the API key, valid Unicode, exact ids."""

from __future__ import annotations

import json

import pytest

from tests.tickets.helpers import ticket_fields

from .conftest import api_key, browser

BIG = 70 * 1024  # above the 64 KiB default


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/api/tickets"),
        ("POST", "/api/conversations/web:abc/messages"),
        ("POST", "/api/conversations/web:abc/hand-back"),
        ("PATCH", "/api/tickets/GD20250101-ABCDEF"),
        ("POST", "/api/deliveries/1/retry"),
        ("POST", "/healthz"),  # not even a route for POST: refused by size first
    ],
)
def test_an_oversized_body_is_refused_before_parsing_and_before_the_key(api, method, path):
    body = json.dumps({"description": "好" * BIG}).encode()
    r = api.client.request(method, path, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413, (path, r.status_code, r.text[:200])
    assert r.json()["code"] == "too_large" and "请求内容太大了" in r.json()["message"]


def test_a_chunked_oversized_body_without_length_is_refused_too(api):
    def chunks():
        for _ in range(20):
            yield b"x" * 8192

    r = api.client.post(
        "/api/conversations/web:abc/messages", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in r.request.headers
    assert r.status_code == 413


def test_the_default_limit_is_a_setting(make_app):
    _, client, services = make_app(max_body_bytes=2048)
    key = api_key(services, ["tickets:write"])
    r = client.post("/api/tickets", json=ticket_fields(description="打印机不出纸" * 300), headers=key)
    assert r.status_code == 413


@pytest.mark.parametrize(
    "path, payload_of",
    [
        ("/api/chat/session", lambda b: {"sender_id": "ab\ud800"}),
        ("/api/chat", lambda b: {"sender_id": b.sender_id, "text": "打印机\ud800坏了"}),
        ("/api/chat", lambda b: {"sender_id": b.sender_id, "text": "好", "title": "\udfff"}),
        ("/api/chat/updates/ack", lambda b: {"sender_id": b.sender_id, "ids": ["m1", "\ud83d"]}),
        ("/api/tickets", lambda b: ticket_fields(description="刷卡\ud800后不出纸")),
        ("/api/tickets", lambda b: {**ticket_fields(), "\ud800": 1}),
    ],
)
def test_an_unpaired_surrogate_in_any_json_string_is_a_422_not_a_500(api, path, payload_of):
    b = browser(api.client)
    headers = {**b.auth, **api_key(api.services, ["tickets:write"]), "content-type": "application/json"}
    if path.startswith("/api/tickets"):
        headers.pop("Authorization")
    body = json.dumps(payload_of(b)).encode()  # ensure_ascii: the surrogate travels as \\udxxx
    r = api.client.post(path, content=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_error"
    assert r.json()["detail"][0]["type"] == "invalid_unicode"
    assert "Unicode" in r.json()["message"]


def test_invalid_utf8_bytes_are_a_422(api):
    b = browser(api.client)
    body = b'{"sender_id": "' + b.sender_id.encode() + b'", "text": "\xed\xa0\x80 \xff"}'
    r = api.client.post("/api/chat", content=body, headers={**b.auth, "content-type": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"


def test_valid_escapes_and_emoji_still_pass(api):
    b = browser(api.client)
    body = json.dumps({"sender_id": b.sender_id, "text": "打印机坏了 \U0001f62d 路径 C:\\ud800"}).encode()
    r = api.client.post("/api/chat", content=body, headers={**b.auth, "content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert api.app.state.rasa.scripted.received[-1][1] == "打印机坏了 \U0001f62d 路径 C:\\ud800"


def test_ids_with_a_trailing_newline_are_refused(api):
    c = api.client
    assert c.post("/api/chat/session", json={"sender_id": "shop1\n"}).status_code == 422
    b = browser(c)
    assert c.get("/api/chat/updates", params={"sender_id": b.sender_id + "\n"}, headers=b.auth).status_code == 422
    assert b.ack(["m1\n"]).status_code == 422
    assert (
        c.post(
            "/api/chat/rating", json={"sender_id": b.sender_id, "subject": "handoff:1\n", "rating": 5}, headers=b.auth
        ).status_code
        == 422
    )


def test_id_checks_use_the_whole_string():
    import time
    from datetime import UTC, datetime

    from bot.chat.identity import MerchantIdentityError, sign, verify
    from bot.tickets.numbers import is_ticket_number, new_number

    number = new_number(datetime.now(UTC), "Asia/Shanghai")
    assert is_ticket_number(number) and not is_ticket_number(number + "\n")
    expires = int(time.time()) + 600
    merchant = "898310048161234\n"  # correctly signed by the host page, but not an id
    with pytest.raises(MerchantIdentityError) as e:
        verify("secret", merchant, expires, sign("secret", merchant, expires), max_ttl_s=3600)
    assert e.value.code == "merchant_identity_malformed"

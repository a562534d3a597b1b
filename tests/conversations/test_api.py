"""The internal conversations API: transcript, staff reply, hand-back, feedback summary, auth."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.conversations.service import HAND_BACK_NOTICE, ConversationService
from bot.tickets.apikeys import ApiKeyStore
from bot.tickets.schemas import TicketCreate
from bot.tickets.service import TicketService

CONV = "web:merchant-1"


@pytest.fixture
def api(db, settings):
    from bot.api.conversations import router
    from bot.api.errors import install_error_handlers

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    convs = ConversationService(db, settings)
    tickets = TicketService(db, settings)
    app.state.services = SimpleNamespace(db=db, conversations=convs, tickets=tickets, settings=settings)
    store = ApiKeyStore(db)
    rw = store.create("staff-console", ["tickets:read", "tickets:write"])
    ro = store.create("reporting", ["tickets:read"])
    with TestClient(app) as client:
        yield SimpleNamespace(
            client=client, convs=convs, tickets=tickets, rw={"X-API-Key": rw.token}, ro={"X-API-Key": ro.token}
        )


def test_every_endpoint_needs_a_key(api):
    c = api.client
    assert c.get(f"/api/conversations/{CONV}").status_code == 401
    assert c.get("/api/conversations").status_code == 401
    assert c.post(f"/api/conversations/{CONV}/handback").status_code == 401
    assert c.post(f"/api/conversations/{CONV}/messages", json={"text": "hi"}).status_code == 401
    assert c.get("/api/feedback/summary").status_code == 401


def test_read_only_key_cannot_reply_or_hand_back(api):
    api.convs.log_message(CONV, "in", "你好")
    assert api.client.post(f"/api/conversations/{CONV}/handback", headers=api.ro).status_code == 403
    r = api.client.post(f"/api/conversations/{CONV}/messages", json={"text": "hi"}, headers=api.ro)
    assert r.status_code == 403


def test_transcript_and_state(api):
    api.convs.log_message(CONV, "in", "转人工")
    api.convs.log_message(CONV, "out", "已为您转接人工客服")
    api.convs.start_handoff(CONV, "web", "GD20261125-0001", "request_human")
    r = api.client.get(f"/api/conversations/{CONV}", headers=api.ro)
    assert r.status_code == 200
    body = r.json()
    assert body["conversation_id"] == CONV
    assert body["handoff_active"] is True
    assert body["handoff"]["ticket_number"] == "GD20261125-0001"
    assert [(m["direction"], m["text"]) for m in body["messages"]] == [("in", "转人工"), ("out", "已为您转接人工客服")]
    listed = api.client.get("/api/conversations", headers=api.ro).json()
    assert [c["conversation_id"] for c in listed] == [CONV]


def test_unknown_conversation_is_404(api):
    for method, path, kwargs in (
        ("get", "/api/conversations/web:nobody", {}),
        ("post", "/api/conversations/web:nobody/handback", {}),
        ("post", "/api/conversations/web:nobody/messages", {"json": {"text": "hi"}}),
    ):
        r = getattr(api.client, method)(path, headers=api.rw, **kwargs)
        assert r.status_code == 404, path
        assert "web:nobody" in r.json()["detail"]


def test_staff_reply_is_queued_for_the_merchant(api):
    api.convs.start_handoff(CONV, "web", None, "request_human")
    r = api.client.post(f"/api/conversations/{CONV}/messages", json={"text": "您好，我是客服小王"}, headers=api.rw)
    assert r.status_code == 201
    assert r.json()["direction"] == "staff"
    assert r.json()["author"] == "staff-console"  # the key's name when no author is given
    assert [m.text for m in api.convs.pending_outgoing(CONV)] == ["您好，我是客服小王"]


@pytest.mark.parametrize("body", [{"text": ""}, {"text": "   "}, {"text": "x" * 2001}, {}, {"text": "hi", "extra": 1}])
def test_bad_staff_reply_is_422(api, body):
    api.convs.log_message(CONV, "in", "你好")
    r = api.client.post(f"/api/conversations/{CONV}/messages", json=body, headers=api.rw)
    assert r.status_code == 422


def test_hand_back_resumes_the_bot(api):
    api.convs.start_handoff(CONV, "web", None, "request_human")
    r = api.client.post(f"/api/conversations/{CONV}/handback", json={"by": "王客服"}, headers=api.rw)
    assert r.status_code == 200
    assert r.json()["handoff_active"] is False
    assert r.json()["handoff"]["ended_by"] == "王客服"
    assert api.convs.handoff_active(CONV) is False
    assert [m.text for m in api.convs.pending_outgoing(CONV)] == [HAND_BACK_NOTICE]
    # Idempotent: a second hand-back changes nothing and queues nothing more.
    assert api.client.post(f"/api/conversations/{CONV}/handback", headers=api.rw).status_code == 200
    assert len(api.convs.pending_outgoing(CONV)) == 1


def test_feedback_summary(api):
    api.convs.record_faq_feedback("web:a", "fees-rate-how-much", "down", "看不懂")
    api.convs.record_rating("web:a", 4)
    r = api.client.get("/api/feedback/summary", headers=api.ro)
    assert r.status_code == 200
    body = r.json()
    assert body["faq"] == [{"faq_id": "fees-rate-how-much", "up": 0, "down": 1, "reasons": {"看不懂": 1}}]
    assert body["ratings"]["4"] == 1 and body["ratings_average"] == 4.0
    r = api.client.get("/api/feedback/summary", params={"since": "2999-01-01T00:00:00+08:00"}, headers=api.ro)
    assert r.json()["faq"] == [] and r.json()["ratings_count"] == 0
    assert api.client.get("/api/feedback/summary", params={"since": "yesterday"}, headers=api.ro).status_code == 422


def test_the_agent_sees_who_the_merchant_is_and_the_tickets_of_the_conversation(api):
    repair = api.tickets.create(
        TicketCreate(
            category="repair",
            merchant_id="898310048161234",
            terminal_id="21450093",
            contact_phone="13812345678",
            description="刷卡提示读卡失败",
            channel="web",
            sender_id=CONV,
        )
    )
    handoff = api.tickets.create(
        TicketCreate(category="handoff", description="商户要求转人工客服", channel="web", sender_id=CONV)
    )
    api.tickets.create(
        TicketCreate(
            category="repair",
            merchant_id="111111111111111",
            contact_phone="13900000000",
            terminal_id="11111111",
            description="别的会话",
            channel="web",
            sender_id="web:someone-else",
        )
    )
    api.convs.start_handoff(CONV, "web", repair.number, "request_human")
    body = api.client.get(f"/api/conversations/{CONV}", headers=api.ro).json()
    assert body["merchant"] == {
        "merchant_id": "898310048161234",
        "terminal_id": "21450093",
        "device_serial": None,
        "contact_phone_masked": "138****5678",  # the full number is on the ticket
    }
    assert [(t["number"], t["category"], t["status"]) for t in body["tickets"]] == [
        (handoff.number, "handoff", "open"),
        (repair.number, "repair", "open"),
    ]
    assert "13812345678" not in str(body)

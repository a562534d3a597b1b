"""What reaches the merchant outside a reply: staff messages with the agent's name, notices,
ticket numbers as cards, and a 1-5 rating after a handoff or a resolved ticket."""

from __future__ import annotations

import pytest

from bot.rasa.client import BotMessage
from bot.tickets.schemas import TicketCreate, TicketPatch


def make_ticket(services, conv: str):
    return services.tickets.create(
        TicketCreate(
            category="repair",
            merchant_id="898310048161234",
            terminal_id="21450093",
            contact_phone="13812345678",
            description="打印机不出纸",
            channel="web",
            sender_id=conv,
        )
    )


def resolve(services, number: str) -> None:
    services.tickets.update(number, TicketPatch(status="resolved", note="已更换打印头"), actor="小李")


def test_staff_name_is_shown_with_their_reply(browser, client, services, staff):
    m = browser()
    m.say("转人工")
    services.conversations.start_handoff(m.conv, "web")
    r = client.post(f"/api/conversations/{m.conv}/messages", json={"text": "您好", "author": "小李"}, headers=staff)
    assert r.status_code == 201
    (u,) = m.updates().json()["messages"]
    assert (u["from"], u["author"], u["text"]) == ("staff", "小李", "您好")
    assert u["created_at"]


def test_ticket_numbers_come_as_cards(browser, rasa, services):
    m = browser()
    t = make_ticket(services, m.conv)
    rasa.replies["提交"] = [BotMessage(text=f"工单已提交，工单号 {t.number}，请记好～")]
    body = m.say("提交").json()
    assert body["messages"][0]["tickets"] == [t.number]
    rasa.replies["查一下"] = [BotMessage(text="工单号 GD2026-abc 不对")]
    assert m.say("查一下").json()["messages"][0]["tickets"] == []  # only real-looking numbers


def test_a_handoff_that_ended_asks_for_a_rating_once(browser, client, services, staff):
    m = browser()
    m.say("转人工")
    services.conversations.start_handoff(m.conv, "web")
    assert client.post(f"/api/conversations/{m.conv}/handback", json={}, headers=staff).status_code == 200

    body = m.updates().json()
    assert body["handoff"] is False and body["handoff_notice"] is None
    (notice,) = body["messages"]
    assert notice["from"] == "system"
    subject = notice["rating"]["subject"]
    assert subject.startswith("handoff:")

    rate = lambda n, s=subject: client.post(  # noqa: E731
        "/api/chat/rating", json={"sender_id": m.sender_id, "subject": s, "rating": n}, headers=m.auth
    )
    r = rate(5)
    assert r.status_code == 200 and r.json() == {"subject": subject, "rating": 5, "created": True}
    assert rate(1).json() == {"subject": subject, "rating": 5, "created": False}  # a double click changes nothing
    summary = client.get("/api/feedback/summary", headers=staff).json()
    assert summary["ratings"]["5"] == 1 and summary["ratings_count"] == 1
    # Rated: the (unacknowledged) notice no longer asks.
    assert m.updates().json()["messages"][0]["rating"] is None


def test_a_resolved_ticket_asks_for_a_rating(browser, client, services):
    m = browser()
    t = make_ticket(services, m.conv)
    resolve(services, t.number)
    (u,) = m.updates().json()["messages"]
    assert t.number in u["text"] and u["tickets"] == [t.number]
    assert u["rating"] == {"subject": f"ticket:{t.number}"}
    r = client.post(
        "/api/chat/rating",
        json={"sender_id": m.sender_id, "subject": f"ticket:{t.number}", "rating": 4},
        headers=m.auth,
    )
    assert r.status_code == 200 and r.json()["created"] is True


@pytest.mark.parametrize("subject", ["handoff:999", "ticket:GD20260101-0001", "everything", "handoff:1; --"])
def test_rating_something_that_is_not_mine_is_refused(browser, client, subject):
    m = browser()
    r = client.post(
        "/api/chat/rating", json={"sender_id": m.sender_id, "subject": subject, "rating": 3}, headers=m.auth
    )
    assert r.status_code == 422, r.text


def test_a_stranger_cannot_rate_someone_elses_ticket(browser, client, services):
    victim, stranger = browser(), browser()
    t = make_ticket(services, victim.conv)
    resolve(services, t.number)
    r = client.post(
        "/api/chat/rating",
        json={"sender_id": stranger.sender_id, "subject": f"ticket:{t.number}", "rating": 1},
        headers=stranger.auth,
    )
    assert r.status_code == 422


def test_an_open_ticket_cannot_be_rated_yet(browser, client, services):
    m = browser()
    t = make_ticket(services, m.conv)
    r = client.post(
        "/api/chat/rating",
        json={"sender_id": m.sender_id, "subject": f"ticket:{t.number}", "rating": 5},
        headers=m.auth,
    )
    assert r.status_code == 422 and "处理完成" in r.json()["message"]


@pytest.mark.parametrize("rating", [0, 6, "5", 4.5, None])
def test_ratings_are_1_to_5(browser, client, rating):
    m = browser()
    r = client.post(
        "/api/chat/rating", json={"sender_id": m.sender_id, "subject": "handoff:1", "rating": rating}, headers=m.auth
    )
    assert r.status_code == 422


def test_the_handoff_reply_carries_the_servers_notice(browser, rasa, services):
    m = browser()
    rasa.on_message = lambda conv, text: services.conversations.start_handoff(conv, "web") if text == "转人工" else None
    rasa.replies["转人工"] = [BotMessage(text="已为您转接人工客服，请稍候。")]
    body = m.say("转人工").json()
    from bot.chat.service import handoff_notice

    # The banner line is the handoff reply's promise of when a person answers (bot.conversations.hours).
    notice = handoff_notice(services)
    assert notice.startswith("已转人工客服：")
    assert body["status"] == "handoff" and body["handoff_notice"] == notice

    first = m.say("有人吗").json()  # acknowledged once, with the same line, then the bot is silent
    assert [x["text"] for x in first["messages"]] == [notice] and first["handoff_notice"] == notice
    quiet = m.say("还在吗").json()
    assert quiet["messages"] == [] and quiet["status"] == "handoff" and quiet["handoff_notice"] == notice

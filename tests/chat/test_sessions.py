"""A conversation belongs to the browser that started it: session tokens on every web chat endpoint."""

from __future__ import annotations

import pytest

from bot.chat.session import SessionTokens

CJK_AND_ENGLISH = ("会话", "session")


@pytest.fixture
def clock(monkeypatch):
    """The tokens' clock (itsdangerous reads the time when signing and when checking)."""

    class Clock:
        now = 1_800_000_000

        def advance(self, seconds: int) -> None:
            self.now += seconds

    c = Clock()
    monkeypatch.setattr("itsdangerous.timed.TimestampSigner.get_timestamp", lambda self: c.now)
    return c


def assert_session_error(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code
    zh, _, en = body["message"].partition(" / ")
    assert zh and en, body  # a Chinese sentence for the merchant, an English one for developers


def test_a_new_browser_gets_its_own_conversation(browser, rasa):
    a, b = browser(), browser()
    assert a.sender_id != b.sender_id and a.sender_id.startswith("w")
    r = a.say("你好")
    assert r.status_code == 200
    assert rasa.received[-1][0] == a.conv


@pytest.mark.parametrize("auth", [None, "Bearer", "Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 600])
def test_chat_without_a_valid_token_is_refused_and_nothing_reaches_rasa(client, browser, rasa, services, auth):
    owner = browser()
    headers = {"Authorization": auth} if auth else {}
    r = client.post("/api/chat", json={"sender_id": owner.sender_id, "text": "/request_human"}, headers=headers)
    assert_session_error(
        r, 401, "session_missing" if auth in (None, "Bearer", "Basic dXNlcjpwYXNz") else "session_invalid"
    )
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert rasa.received == []
    assert services.conversations.transcript(owner.conv) == []


def test_a_token_signed_with_another_key_is_invalid(client, browser):
    owner = browser()
    forged = SessionTokens("not-the-server-key", 3600, 3600).issue(owner.sender_id).token
    r = client.get(
        "/api/chat/updates", params={"sender_id": owner.sender_id}, headers={"Authorization": f"Bearer {forged}"}
    )
    assert_session_error(r, 401, "session_invalid")
    # ... and it cannot be renewed into a real one either.
    r = client.post("/api/chat/session", json={"token": forged})
    assert_session_error(r, 401, "session_invalid")


def test_a_stranger_with_a_session_of_their_own_cannot_use_someone_elses_sender_id(browser, client, services, staff):
    victim, stranger = browser(), browser()
    victim.say("转人工")
    services.conversations.start_handoff(victim.conv, "web")
    client.post(f"/api/conversations/{victim.conv}/messages", json={"text": "您好，我是客服小王"}, headers=staff)

    r = client.get("/api/chat/updates", params={"sender_id": victim.sender_id}, headers=stranger.auth)
    assert_session_error(r, 403, "session_mismatch")
    r = client.post("/api/chat", json={"sender_id": victim.sender_id, "text": "我是商户"}, headers=stranger.auth)
    assert_session_error(r, 403, "session_mismatch")
    r = client.post("/api/chat/updates/ack", json={"sender_id": victim.sender_id, "ids": ["m1"]}, headers=stranger.auth)
    assert_session_error(r, 403, "session_mismatch")
    # Nor can they claim the id for a session of their own.
    r = client.post("/api/chat/session", json={"sender_id": victim.sender_id})
    assert_session_error(r, 409, "sender_taken")

    # The merchant still gets the staff reply.
    assert [m["text"] for m in victim.updates().json()["messages"]] == ["您好，我是客服小王"]


def test_updates_stay_until_acknowledged(browser, client, services, staff):
    m = browser()
    m.say("转人工")
    services.conversations.start_handoff(m.conv, "web")
    client.post(f"/api/conversations/{m.conv}/messages", json={"text": "请问是哪台机器？"}, headers=staff)

    first = m.updates().json()
    assert [u["text"] for u in first["messages"]] == ["请问是哪台机器？"]
    assert first["messages"][0]["from"] == "staff"
    assert first["messages"][0]["author"] == "客服小王"  # the API key's name when no author is given
    assert first["handoff"] is True and first["handoff_notice"]
    # The page was closed before showing it: the next poll (a reload, another tab) gets it again.
    assert m.updates().json()["messages"] == first["messages"]

    r = m.ack([u["id"] for u in first["messages"]])
    assert r.status_code == 200 and r.json() == {"acknowledged": 1}
    assert m.updates().json()["messages"] == []
    assert m.ack([u["id"] for u in first["messages"]]).json() == {"acknowledged": 0}  # twice is harmless
    delivered = [x for x in services.conversations.transcript(m.conv) if x.direction == "staff"]
    assert delivered[0].delivered_at is not None


def test_acknowledging_another_conversations_ids_changes_nothing(browser, client, services, staff):
    victim, stranger = browser(), browser()
    victim.say("转人工")
    services.conversations.start_handoff(victim.conv, "web")
    client.post(f"/api/conversations/{victim.conv}/messages", json={"text": "马上帮您看"}, headers=staff)
    ids = [u["id"] for u in victim.updates().json()["messages"]]
    assert stranger.ack(ids).json() == {"acknowledged": 0}
    assert [u["text"] for u in victim.updates().json()["messages"]] == ["马上帮您看"]


@pytest.mark.parametrize("ids", [["12"], ["m-1"], ["x1"], ["m1; DROP TABLE"], ["m1"] * 201])
def test_bad_ack_ids_are_a_clear_422(browser, ids):
    r = browser().ack(ids)
    assert r.status_code == 422
    assert "ids" in r.text


def test_an_expired_token_is_renewed_for_the_same_conversation(client, browser, clock, services, app):
    tokens = SessionTokens("renew-test-key", ttl_s=3600, renew_s=7 * 86400)
    app.state.chat_sessions = tokens
    m = browser()
    assert m.say("打印机不出纸").status_code == 200

    clock.advance(3601)
    r = m.say("还是不行")
    assert_session_error(r, 401, "session_expired")
    assert "续期" in r.json()["message"]

    r = client.post("/api/chat/session", json={"sender_id": m.sender_id, "token": m.token})
    assert r.status_code == 200, r.text
    assert r.json()["sender_id"] == m.sender_id and r.json()["token"] != m.token
    m.token = r.json()["token"]
    assert m.say("还是不行").status_code == 200
    said = [x.text for x in services.conversations.transcript(m.conv) if x.direction == "in"]
    assert said == ["打印机不出纸", "还是不行"]  # the same conversation, nothing lost but the refused copy


def test_a_token_too_old_to_renew_starts_over(client, browser, clock, app):
    app.state.chat_sessions = SessionTokens("renew-test-key", ttl_s=3600, renew_s=86400)
    m = browser()
    clock.advance(86401)
    r = client.post("/api/chat/session", json={"token": m.token})
    assert_session_error(r, 401, "session_invalid")
    fresh = client.post("/api/chat/session", json={})
    assert fresh.status_code == 200 and fresh.json()["sender_id"] != m.sender_id


def test_renewing_someone_elses_token_under_my_sender_id_is_refused(client, browser):
    a, b = browser(), browser()
    r = client.post("/api/chat/session", json={"sender_id": b.sender_id, "token": a.token})
    assert_session_error(r, 403, "session_mismatch")


def test_the_session_key_is_generated_into_the_data_dir_once(settings):
    from bot.chat.session import KEY_FILE, session_secret

    first = session_secret(settings)
    assert len(first) >= 32
    assert (settings.data_dir / KEY_FILE).stat().st_mode & 0o077 == 0  # readable by the service only
    assert session_secret(settings) == first


def test_a_configured_session_key_wins(settings):
    from pydantic import SecretStr

    from bot.chat.session import KEY_FILE, session_secret

    s = settings.model_copy(update={"chat_session_secret": SecretStr("configured-key")})
    assert session_secret(s) == "configured-key"
    assert not (settings.data_dir / KEY_FILE).exists()


@pytest.mark.parametrize("body", [{"sender_id": "a b"}, {"sender_id": "x" * 65}, {"token": "t" * 513}, {"extra": 1}])
def test_bad_session_requests_are_422(client, body):
    assert client.post("/api/chat/session", json=body).status_code == 422

"""The chat when the database goes away (PostgreSQL restarting): polite, nothing stored twice.

Before the turn reaches Rasa, nothing of it is stored and the merchant is asked to send it again
(503 database_unavailable, bot.api.errors). After Rasa answered, the merchant gets the answer:
asking to resend then would make Rasa see the message twice. The real database restart is
tests/e2e/test_pg_restart.py; here the service raises what SQLAlchemy raises then.
"""

from __future__ import annotations

from sqlalchemy.exc import OperationalError


def database_gone(*_args, **_kwargs):
    raise OperationalError("INSERT INTO conversation_messages", {}, ConnectionError("server closed the connection"))


def test_database_down_before_the_turn_is_a_polite_503(browser, services, rasa, monkeypatch):
    merchant = browser()
    monkeypatch.setattr(services.conversations, "log_turn", database_gone)
    r = merchant.say("打印机不出纸")
    assert r.status_code == 503
    assert r.json()["code"] == "database_unavailable" and "请稍后再发一次" in r.json()["message"]
    assert r.headers["retry-after"] == "5"
    assert "Traceback" not in r.text and "OperationalError" not in r.text
    assert rasa.texts_for(merchant.conv) == []  # nothing reached Rasa: the resend is the first time


def test_database_down_after_rasa_answered_still_answers_once(browser, services, rasa, monkeypatch):
    merchant = browser()
    rasa.on_message = lambda conv, text: monkeypatch.setattr(services.conversations, "log_turn", database_gone)
    r = merchant.say("打印机不出纸")
    assert r.status_code == 200, r.text
    assert [m["text"] for m in r.json()["messages"]] == ["收到：打印机不出纸"]
    assert rasa.texts_for(merchant.conv) == ["打印机不出纸"]
    monkeypatch.undo()
    rasa.on_message = None
    # The merchant's line was stored once, before Rasa was asked; the next turn works as usual.
    assert [m.text for m in services.conversations.transcript(merchant.conv)].count("打印机不出纸") == 1
    assert merchant.say("谢谢").status_code == 200

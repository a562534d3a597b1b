"""PostgreSQL restarted in the middle of a merchant's ticket form: the real app and Rasa on a
private PostgreSQL cluster of this test (the machine's shared server is never touched).

Defined behaviour (docs/operations.md, "Faults"):

* a restart between two turns is invisible: the next turn is answered as usual (both
  processes check pooled connections before use);
* a turn sent while PostgreSQL is down gets HTTP 503 with a polite Chinese message and code
  ``database_unavailable``; nothing of it is stored, so the merchant sends it again;
* once PostgreSQL is back, the form continues where it was, and every message is in the
  transcript and in Rasa's tracker exactly once.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import start_stack
from tests.private_services import private_pg  # noqa: F401 - fixture
from tests.support import ChatClient, buttons, texts

pytestmark = pytest.mark.integration

MERCHANT_ID = "898310048161234"
TERMINAL_ID = "21450093"


@pytest.fixture(scope="module")
def pg_stack(tmp_path_factory, rasa_model, private_pg):  # noqa: F811
    url = private_pg.create_database("posbot")
    stack = start_stack(tmp_path_factory.mktemp("pgrestart"), rasa_model, database_url=url)
    yield stack, url
    stack.stop()


class Merchant:
    """One merchant in the widget: sends text, clicks offered buttons."""

    def __init__(self, app_url: str):
        self.chat = ChatClient(app_url)
        self.sender = "f" + uuid.uuid4().hex[:10]
        self.offered: list[dict] = []

    def send(self, text: str) -> httpx.Response:
        r = self.chat.post(self.sender, text)
        if r.status_code == 200:
            self.offered = buttons(r.json())
        return r

    def say(self, text: str) -> str:
        r = self.send(text)
        assert r.status_code == 200, r.text
        return texts(r.json())

    def click(self, payload_start: str) -> str:
        b = next(b for b in self.offered if b["payload"].startswith(payload_start))
        r = self.chat.post(self.sender, b["payload"], title=b["title"])
        assert r.status_code == 200, r.text
        self.offered = buttons(r.json())
        return texts(r.json())

    def open_repair_form(self) -> None:
        self.chat.token(self.sender)
        self.say("打印机不出纸")
        assert "故障报修工单" in self.click("/deny")  # tried the steps, still broken
        assert "15位商户号" in self.click("/affirm")  # file a ticket

    def close(self) -> None:
        self.chat.close()


def stored_counts(url: str, sender: str, text: str) -> tuple[int, int]:
    """How often ``text`` is in the transcript (merchant side) and in Rasa's tracker (user events)."""
    conv = f"web:{sender}"
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            transcript = c.execute(
                sa.text(
                    "SELECT count(*) FROM conversation_messages "
                    "WHERE conversation_id = :c AND direction = 'in' AND text = :t"
                ),
                {"c": conv, "t": text},
            ).scalar_one()
            tracker = c.execute(
                sa.text(
                    "SELECT count(*) FROM events WHERE sender_id = :c AND type_name = 'user' "
                    "AND data::json->>'text' = :t"
                ),
                {"c": conv, "t": text},
            ).scalar_one()
    finally:
        eng.dispose()
    return transcript, tracker


def test_restart_between_turns_is_invisible(pg_stack, private_pg):  # noqa: F811
    stack, url = pg_stack
    m = Merchant(stack.app_url)
    try:
        m.open_repair_form()
        private_pg.restart()  # every pooled connection of the app and of Rasa is dead now
        reply = m.say(MERCHANT_ID)
        assert "8位终端号" in reply, reply  # the form went on: Rasa read and saved its tracker
        assert "手机号" in m.say(TERMINAL_ID)
    finally:
        m.close()
    assert stored_counts(url, m.sender, MERCHANT_ID) == (1, 1)


def test_turn_during_outage_is_refused_politely_and_the_form_resumes(pg_stack, private_pg):  # noqa: F811
    stack, url = pg_stack
    m = Merchant(stack.app_url)
    try:
        m.open_repair_form()
        assert "8位终端号" in m.say(MERCHANT_ID)

        private_pg.stop()
        try:
            r = m.send(TERMINAL_ID)
            assert r.status_code == 503, r.text
            body = r.json()
            assert body["code"] == "database_unavailable"
            assert "请稍后再发一次" in body["message"] and "Traceback" not in r.text
            assert int(r.headers["retry-after"]) > 0
            assert httpx.get(f"{stack.app_url}/healthz", timeout=10).json() == {"status": "degraded"}
            # The merchant presses retry at once: the same polite refusal, still nothing stored.
            assert m.send(TERMINAL_ID).status_code == 503
        finally:
            private_pg.start()

        # Back: the merchant sends it again and the form continues where it was.
        reply = m.say(TERMINAL_ID)
        assert "手机号" in reply, reply
        reply = m.say("13812345678")
        assert MERCHANT_ID in reply and TERMINAL_ID in reply, reply  # the confirmation shows both
    finally:
        m.close()
    assert httpx.get(f"{stack.app_url}/healthz", timeout=10).status_code == 200
    # Nothing lost, nothing doubled: each message once in the transcript and once in the tracker.
    assert stored_counts(url, m.sender, MERCHANT_ID) == (1, 1)
    assert stored_counts(url, m.sender, TERMINAL_ID) == (1, 1)

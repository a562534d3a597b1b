"""Personal data end to end: a merchant types a bank-card number, an ID number and phones into
the chat and files a ticket through the real Rasa; afterwards nothing holds them in clear.

Its own stack (real Rasa, app, SQLite) so the data dir and logs hold this conversation only.
Rasa's tracker store is the project database (bot/rasa_project.tracker_store_config): the test
reads the generated endpoints file to grep the database Rasa actually wrote, every table of
it, and every log file the two processes wrote. The one place a phone stays in clear is the
ticket's validated contact field (and the copy of the ticket queued for the ticket webhook).
"""

from __future__ import annotations

import json
import os
import re
import stat
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from tests.support import ChatClient, buttons, texts

pytestmark = pytest.mark.integration

CARD = "6222021234567890128"  # Luhn-valid
CARD_TYPED = "6222 0212 3456 7890 128"
ID_NUMBER = "11010519491231002X"  # valid ISO 7064 check character
PHONE = "13812345678"
OTHER_PHONE = "13900001111"
MERCHANT = "898310048161234"
TERMINAL = "21450093"
TICKET_RE = re.compile(r"GD\d{8}-[2-9A-HJKMNP-Z]{6}")
CLEAR = (CARD, CARD_TYPED, ID_NUMBER, ID_NUMBER.lower(), PHONE, OTHER_PHONE, "138 1234 5678")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, rasa_model):
    from tests.conftest import start_stack

    s = start_stack(tmp_path_factory.mktemp("pii"), rasa_model)
    yield s
    s.stop()


def click(btns: list[dict], title: str) -> str:
    return next(b["payload"] for b in btns if b["title"] == title)


def _without_contact_phone(value):
    """A ticket snapshot (webhook outbox) keeps its contact field; everything else is checked."""
    if isinstance(value, dict):
        return {k: _without_contact_phone(v) for k, v in value.items() if k != "contact_phone"}
    if isinstance(value, list):
        return [_without_contact_phone(v) for v in value]
    return value


def clear_hits(url: str) -> list[str]:
    engine = sa.create_engine(url)
    hits = []
    try:
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
            assert "events" in tables or any("event" in t for t in tables)
            for table in tables:
                result = conn.execute(sa.text(f'SELECT * FROM "{table}"'))
                columns = list(result.keys())
                for row in result:
                    for column, value in zip(columns, row):
                        if table == "tickets" and column == "contact_phone":
                            continue
                        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                        try:
                            text = json.dumps(_without_contact_phone(json.loads(text)), ensure_ascii=False)
                        except (ValueError, TypeError):
                            pass
                        hits += [f"{table}.{column}: {c}" for c in CLEAR if c in text]
    finally:
        engine.dispose()
    return hits


def test_nothing_personal_is_stored_in_clear_but_the_ticket_contact(stack):
    chat = ChatClient(stack.app_url)
    s = "pii" + uuid.uuid4().hex[:10]

    def say(text: str) -> tuple[str, list[dict]]:
        r = chat.post(s, text)
        assert r.status_code == 200, r.text
        return texts(r.json()), buttons(r.json())

    try:
        say(f"我的卡{CARD_TYPED}刷了扣款两次，身份证{ID_NUMBER}，家里电话{OTHER_PHONE}")
        reply, btns = say("打印机提示缺纸")
        choice = '/choose_faq{"faq_id":"fault-printer-out-of-paper"}'
        if any(b["payload"] == choice for b in btns):
            reply, btns = say(choice)
        _, btns = say(click(btns, "试了还是不行"))
        say(click(btns, "登记工单"))
        say(MERCHANT)
        say(TERMINAL)
        reply, btns = say("手机 138 1234 5678")
        # The summary shows the phone masked; the merchant's own screen shows what they typed.
        assert "· 联系手机：138****5678" in reply, reply
        _, btns = say(click(btns, "修改"))
        reply, _ = say(click(btns, "问题描述"))
        reply, btns = say(f"打印机不出纸，刷卡{CARD}也失败，身份证{ID_NUMBER}")
        assert "· 问题描述：打印机不出纸，刷卡6222***********0128也失败" in reply, reply
        reply, _ = say(click(btns, "确认提交"))
        assert "工单已提交" in reply and "138****5678" in reply, reply
        number = TICKET_RE.search(reply).group(0)
    finally:
        chat.close()

    from bot.core.db import Database
    from bot.tickets.service import TicketService

    db = Database(stack.settings.effective_database_url)
    try:
        ticket = TicketService(db, stack.settings).get(number)
    finally:
        db.dispose()
    assert ticket.contact_phone == PHONE  # the one place the number is kept: the ticket's contact field
    assert CARD not in ticket.description and "6222***********0128" in ticket.description
    assert any("139****1111" in line["text"] for line in ticket.transcript)  # the first message, masked

    # Every table of the app database and of the database Rasa's tracker store wrote.
    endpoints = yaml.safe_load(next(stack.settings.data_dir.glob("endpoints-*.yml")).read_text())
    tracker_store = endpoints["tracker_store"]
    assert tracker_store.get("dialect") == "sqlite", tracker_store
    rasa_db = Path(tracker_store["db"])
    urls = {stack.settings.effective_database_url, f"sqlite:///{rasa_db}"}
    hits = [h for url in sorted(urls) for h in clear_hits(url)]
    assert hits == []

    # Rasa really stored the conversation (masked), so the grep above looked at its events.
    engine = sa.create_engine(f"sqlite:///{rasa_db}")
    try:
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
            rows = [str(r) for t in tables for r in conn.execute(sa.text(f'SELECT * FROM "{t}"'))]
    finally:
        engine.dispose()
    assert any("138****5678" in r and s in r for r in rows)

    # Every log file the stack wrote.
    logs = sorted(stack.log_dir.glob("*.log"))
    assert logs
    for log in logs:
        content = log.read_text(errors="replace")
        assert [c for c in CLEAR if c in content] == [], log.name

    # And only the owner can read any of it.
    data_dir = stack.settings.data_dir
    for root, _dirs, files in os.walk(data_dir):
        assert stat.S_IMODE(os.stat(root).st_mode) == 0o700, root
        for f in files:
            path = Path(root) / f
            if not path.is_symlink():
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

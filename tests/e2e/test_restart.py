"""A conversation survives a restart of both processes: trackers and tickets live in the database."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import start_stack, wait_stack
from tests.support import ChatClient, buttons, texts

pytestmark = pytest.mark.integration


def test_form_continues_after_both_processes_restart(tmp_path, rasa_model):
    stack = start_stack(tmp_path, rasa_model)
    sender = "r" + uuid.uuid4().hex[:10]
    chat = ChatClient(stack.app_url)

    offered: list[dict] = []

    def say(text: str) -> str:
        r = chat.post(sender, text)
        assert r.status_code == 200, r.text
        offered[:] = buttons(r.json())
        return texts(r.json())

    def click(payload_start: str) -> str:
        """Click the offered button whose payload is this intent (as the widget sends it)."""
        return say(next(b["payload"] for b in offered if b["payload"].startswith(payload_start)))

    try:
        say("打印机不出纸")
        assert "故障报修工单" in click("/deny")  # 试了还是不行
        assert "15位商户号" in click("/affirm")  # 登记工单
        assert "8位终端号" in say("898310048161234")

        stack.stop()  # both processes gone, nothing kept in memory
        stack.start()
        wait_stack(stack)

        # Same data dir and database: the session token (its key is in the data dir) still
        # works and the form resumes where it was, merchant id remembered.
        reply = say("21450093")
        assert "手机号" in reply, reply
        reply = say("13812345678")
        assert "898310048161234" in reply and "21450093" in reply  # the confirmation shows both
    finally:
        chat.close()
        stack.stop()

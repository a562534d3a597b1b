"""A conversation survives a restart of both processes: trackers and tickets live in the database."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import start_stack, wait_stack
from tests.support import ChatClient, Merchant

pytestmark = pytest.mark.integration


def test_form_continues_after_both_processes_restart(tmp_path, rasa_model):
    stack = start_stack(tmp_path, rasa_model)
    sender = "r" + uuid.uuid4().hex[:10]
    chat = ChatClient(stack.app_url)
    merchant = Merchant(chat, sender)
    try:
        merchant.open_repair_form_to_the_terminal_id()

        stack.stop()  # both processes gone, nothing kept in memory
        stack.start()
        wait_stack(stack)

        # Same data dir and database: the session token (its key is in the data dir) still
        # works and the form resumes where it was, merchant id remembered.
        reply = merchant.say("21450093")
        assert "手机号" in reply, reply
        reply = merchant.say("13812345678")
        assert "898310048161234" in reply and "21450093" in reply  # the confirmation shows both
    finally:
        chat.close()
        stack.stop()

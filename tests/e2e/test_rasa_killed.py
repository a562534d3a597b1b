"""Rasa killed with a merchant's message in flight: a polite answer at once, and once Rasa is back
(restarted as its supervisor would: compose's ``restart``, Kubernetes) the form goes on where it was.

To kill it mid-turn every time, not by luck of timing, Rasa is frozen (SIGSTOP) before the message
is sent, so the request is surely in its socket and unanswered, then killed (SIGKILL) with it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import pytest

from tests.conftest import start_stack, wait_stack
from tests.support import ChatClient, Merchant

pytestmark = pytest.mark.integration


def test_rasa_killed_mid_turn_apologises_and_the_form_resumes_after_its_restart(tmp_path, rasa_model):
    stack = start_stack(tmp_path, rasa_model)
    sender = "k" + uuid.uuid4().hex[:10]
    chat = ChatClient(stack.app_url)
    merchant = Merchant(chat, sender)
    try:
        merchant.open_repair_form_to_the_terminal_id()

        rasa = stack.procs["rasa"]
        os.killpg(rasa.pid, signal.SIGSTOP)
        replies: list = []
        sent = threading.Thread(target=lambda: replies.append(chat.post(sender, "21450093")))
        started = time.monotonic()
        sent.start()
        time.sleep(1.0)  # the request reaches the frozen Rasa's socket
        assert sent.is_alive(), "answered by a frozen Rasa?"
        os.killpg(rasa.pid, signal.SIGKILL)
        sent.join(30)
        elapsed = time.monotonic() - started
        [r] = replies
        assert r.status_code == 503, r.text
        assert r.json()["status"] == "rasa_unavailable"
        assert "抱歉" in r.json()["messages"][0]["text"] and "Traceback" not in r.text
        assert elapsed < 10, f"the merchant waited {elapsed:.1f}s for the apology"
        rasa.wait(10)
        stack.procs.pop("rasa")

        stack.start(start_rasa=True, start_app=False)  # the supervisor's restart; the app kept running
        wait_stack(stack)

        # The widget's retry sends the same words again: the form is where it was before the kill.
        reply = merchant.say("21450093")
        assert "手机号" in reply, reply
        reply = merchant.say("13812345678")
        assert "898310048161234" in reply and "21450093" in reply, reply
    finally:
        chat.close()
        stack.stop()

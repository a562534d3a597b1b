"""When Rasa is down or hangs, merchants still get a polite answer within seconds, never a stack trace."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from tests.conftest import free_port
from tests.support import ChatClient, operator_key

pytestmark = pytest.mark.integration


@pytest.fixture
def hanging_rasa():
    """A TCP server that accepts connections and never answers: Rasa stuck in a long request."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    conns, stop = [], threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    t.join()
    for c in conns:
        c.close()
    srv.close()


@pytest.mark.parametrize("kind", ["down", "hanging"])
def test_chat_apologises_when_rasa_is_unavailable(tmp_path, hanging_rasa, kind):
    from bot.core.settings import Settings
    from bot.rasa.stack import Stack

    rasa_port = free_port() if kind == "down" else int(hanging_rasa.rsplit(":", 1)[1])
    settings = Settings(data_dir=tmp_path, host="127.0.0.1", port=free_port(), rasa_timeout_s=2.0)
    from bot.core.db import upgrade

    upgrade(settings.effective_database_url)
    stack = Stack(model=tmp_path / "unused.tar.gz", settings=settings, rasa_port=rasa_port, log_dir=tmp_path / "logs")
    stack.start(start_rasa=False)
    try:
        key = operator_key(settings.effective_database_url)
        # The start-up budget of every stack (tests/conftest.py wait_stack): with another worker starting
        # its own servers the app needs well over the ~30 s it takes on a quiet machine.
        deadline = time.monotonic() + 300
        while True:  # the app is up when /healthz answers at all (503: Rasa missing)
            try:
                h = httpx.get(f"{stack.app_url}/healthz", headers=key, timeout=5)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "app service did not start"
                time.sleep(0.5)
        assert h.status_code == 503
        assert h.json()["rasa"]["reachable"] is False
        chat = ChatClient(stack.app_url, timeout=30)
        chat.token("m1")  # sessions need no Rasa
        started = time.monotonic()
        r = chat.post("m1", "你好")
        chat.close()
        elapsed = time.monotonic() - started
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "rasa_unavailable"
        assert "抱歉" in body["messages"][0]["text"]
        assert "Traceback" not in r.text
        assert elapsed < 10, f"merchant waited {elapsed:.1f}s"  # the configured timeout is 2 s
    finally:
        stack.stop()

"""A scripted Rasa server on 127.0.0.1 for the channel tests: REST channel and tracker API, real HTTP.

The real RasaClient talks to it, so the chat core, numbered choices and the welcome run as in
production; what Rasa answers (and how slowly) is up to the test. The end-to-end tests in
tests/e2e run the real Rasa server.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

GREETING = "您好！我是刷卡机智能客服小助手😊"


class FakeRasa:
    def __init__(self):
        # text -> (delay_s, messages); anything else is echoed as "收到：<text>"
        self.script: dict[str, tuple[float, list[dict[str, Any]]]] = {"/greet": (0.0, [{"text": GREETING}])}
        self.received: list[tuple[str, str]] = []
        self.events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._lock = threading.Lock()
        rasa = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, payload: Any, status: int = 200) -> None:
                body = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def do_POST(self):
                path = urlsplit(self.path).path
                data = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
                if path == "/webhooks/rest/webhook":
                    return self._json(rasa._message(data["sender"], data["message"]))
                m = re.fullmatch(r"/conversations/(.+)/tracker/events", path)
                if m:
                    conv = unquote(m.group(1))
                    with rasa._lock:
                        for ev in data if isinstance(data, list) else [data]:
                            if ev.get("event") == "restart":
                                rasa.events[conv].clear()
                            else:
                                rasa.events[conv].append(ev)
                    return self._json({"sender_id": conv})
                self._json({"error": "not found"}, 404)

            def do_GET(self):
                path = urlsplit(self.path).path
                m = re.fullmatch(r"/conversations/(.+)/tracker", path)
                if m:
                    with rasa._lock:
                        return self._json({"events": list(rasa.events[unquote(m.group(1))])})
                if path == "/version":
                    return self._json({"version": "fake"})
                self._json({"error": "not found"}, 404)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _message(self, sender: str, text: str) -> list[dict[str, Any]]:
        with self._lock:
            self.received.append((sender, text))
            self.events[sender].append({"event": "user", "text": text})
            delay, messages = self.script.get(text, (0.0, [{"text": f"收到：{text}"}]))
        time.sleep(delay)
        with self._lock:
            for m in messages:
                self.events[sender].append(
                    {"event": "bot", "text": m.get("text", ""), "data": {"buttons": m.get("buttons", [])}}
                )
        return messages

    def texts(self, sender: str) -> list[str]:
        with self._lock:
            return [t for s, t in self.received if s == sender]

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeRasa:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()

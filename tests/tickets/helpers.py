"""Helpers shared by the ticket tests: valid inputs, a movable clock, a real webhook receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.tickets.schemas import TicketCreate

MERCHANT = "123456789012345"
PHONE = "13800138000"


def ticket_fields(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "category": "repair",
        "merchant_id": MERCHANT,
        "terminal_id": "12345678",
        "contact_phone": PHONE,
        "description": "刷卡后打印机不出纸",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def ticket_data(**overrides: Any) -> TicketCreate:
    return TicketCreate(**ticket_fields(**overrides))


class FakeClock:
    """A clock tests move by hand instead of sleeping."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime.now(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += timedelta(seconds=seconds)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """A webhook endpoint on 127.0.0.1 acting like a careful external ticketing system.

    It checks the signature, deduplicates on X-Posbot-Event-Id, and can be told to
    fail (``mode = "fail"``, HTTP 500), to hang until ``release`` is set (``"hang"``, then 503),
    or to hold each request until ``release`` is set and then accept it (``"hold"``).
    """

    def __init__(self, secret: str, port: int = 0):
        self.secret = secret
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []  # every request that arrived, in order
        self.processed: dict[str, dict[str, Any]] = {}  # event id -> body, first accepted copy
        self.duplicates = 0
        self.bad_signatures = 0
        self.got_request = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                entry = {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                with receiver._lock:
                    receiver.requests.append(entry)
                    mode = receiver.mode
                receiver.got_request.set()
                if mode == "hang":
                    receiver.release.wait(60)
                    return self._reply(503)
                if mode == "hold":
                    receiver.release.wait(60)
                if mode == "fail":
                    return self._reply(500)
                expected = "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(expected, entry["headers"].get("x-posbot-signature", "")):
                    with receiver._lock:
                        receiver.bad_signatures += 1
                    return self._reply(401)
                event_id = entry["headers"]["x-posbot-event-id"]
                with receiver._lock:
                    if event_id in receiver.processed:
                        receiver.duplicates += 1
                    else:
                        receiver.processed[event_id] = json.loads(body)
                return self._reply(200)

            def _reply(self, code: int) -> None:
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:  # the client gave up (timeout test)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/posbot"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()

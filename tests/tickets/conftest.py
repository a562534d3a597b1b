"""Fixtures of the ticket tests; the database ones (db_url, database, ...) come from tests/conftest.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.core.settings import Settings
from bot.tickets.apikeys import ApiKeyStore
from bot.tickets.service import TicketService

from .helpers import FakeClock, Receiver

SECRET = "test-webhook-secret"


def make_settings(**overrides) -> Settings:
    values = dict(
        timezone="Asia/Shanghai",
        ticket_webhook_url="",
        ticket_webhook_secret=SECRET,
        outbox_max_attempts=3,
        outbox_backoff_base_s=1.0,
        outbox_backoff_max_s=30.0,
        outbox_timeout_s=2.0,
        outbox_poll_interval_s=0.05,
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def service(database, settings) -> TicketService:
    return TicketService(database, settings)


@pytest.fixture
def receiver():
    r = Receiver(SECRET).start()
    yield r
    r.stop()


@pytest.fixture
def sqlite_database(sqlite_url):
    """A migrated SQLite database, for tests where the backend does not matter (validation)."""
    from bot.core.db import Database, upgrade

    upgrade(sqlite_url)
    db = Database(sqlite_url)
    yield db
    db.dispose()


def _api(database, settings):
    """The ticket routers on a bare FastAPI app, as the lead's factory mounts them."""
    from bot.api.errors import install_error_handlers
    from bot.api.tickets import router

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    service = TicketService(database, settings)
    app.state.services = SimpleNamespace(db=database, tickets=service, settings=settings)
    store = ApiKeyStore(database)
    rw = store.create("staff-console", ["tickets:read", "tickets:write"])
    ro = store.create("reporting", ["tickets:read"])
    faq = store.create("faq-editor", ["faq:read", "faq:write"])
    with TestClient(app) as client:
        yield SimpleNamespace(
            app=app,
            client=client,
            store=store,
            database=database,
            rw={"X-API-Key": rw.token},
            ro={"X-API-Key": ro.token},
            faq={"X-API-Key": faq.token},
            tokens=[rw.token, ro.token, faq.token],
            rw_key=rw,
        )


@pytest.fixture
def api(database, settings):
    """API on the parametrised database (SQLite and PostgreSQL)."""
    yield from _api(database, settings)


@pytest.fixture
def sqlite_api(sqlite_database, settings):
    """API on SQLite only: for request validation, which never reaches the database."""
    yield from _api(sqlite_database, settings)

"""Fixtures of the conversation-service tests: settings and a migrated temporary SQLite database."""

from __future__ import annotations

import pytest

from bot.core.db import Database, upgrade
from bot.core.settings import Settings


@pytest.fixture
def settings(tmp_path):
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "var",
        timezone="Asia/Shanghai",
        service_hours="09:00-21:00",
        outbox_worker_enabled=False,
    )


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'conversations.db'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()

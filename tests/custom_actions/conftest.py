"""Fixtures of the custom-action tests: a real Services on a migrated temporary SQLite database,
a real FAQ engine on a small knowledge base (tests/custom_actions/kb), tracker builders and the domain.

Actions are exercised like RasaHQ's financial-demo / rasa-demo tests: build a Tracker,
run the action with a CollectingDispatcher, assert the exact events and messages.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from tests.conftest import service_settings
from tests.custom_actions.helpers import OPEN_NOW

ROOT = Path(__file__).resolve().parents[2]
KB_DIR = Path(__file__).resolve().parent / "kb"


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The domain as Rasa sends it to the action server (required_slots, slots, responses...)."""
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture
def settings(tmp_path):
    """The shared service settings (tests/conftest.py) with the small KB; ``db`` is the shared one."""
    return service_settings(tmp_path, faq_dir=KB_DIR, faq_index_dir=tmp_path / "faq-index", faq_reload_interval_s=0)


@pytest.fixture(scope="session")
def faq_engine(tmp_path_factory):
    """The FAQ engine on tests/custom_actions/kb, built once (encoding is the slow part)."""
    from bot.core.settings import Settings
    from bot.faq.engine import FaqEngine
    from bot.faq.scoring import Thresholds

    tmp = tmp_path_factory.mktemp("faq")
    settings = Settings(
        _env_file=None, data_dir=tmp, faq_dir=KB_DIR, faq_index_dir=tmp / "index", faq_reload_interval_s=0
    )
    engine = FaqEngine.from_settings(settings)
    # Pin this small KB's calibration so the answer/suggest/none cases below do not move
    # when the project's defaults are recalibrated on the real knowledge base.
    engine.store_calibration(
        {"fused": Thresholds(answer=0.56, suggest=0.40, margin=0.03)},
        engine.fusion,
        {"source": "tests/custom_actions fixture"},
    )
    return engine


@pytest.fixture
def services(settings, db, faq_engine):
    """The process-wide Services the actions reach through bot.core.services.get_services()."""
    from bot.conversations.service import ConversationService
    from bot.core.services import Services, set_services
    from bot.tickets.service import TicketService

    svc = Services(
        settings=settings,
        db=db,
        faq=faq_engine,
        tickets=TicketService(db, settings),
        conversations=ConversationService(db, settings),
    )
    set_services(svc)
    yield svc
    set_services(None)


@pytest.fixture
def clock(monkeypatch):
    """Freezes the actions' clock; ``clock.set(dt)`` moves it."""

    class Clock:
        now = OPEN_NOW

        def set(self, moment: datetime) -> None:
            self.now = moment

    c = Clock()
    monkeypatch.setattr("actions.common.now_utc", lambda: c.now)
    return c


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()

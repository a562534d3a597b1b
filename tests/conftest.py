"""Fixtures shared by every test package: real databases, created per test and dropped after, the
settings and database of in-process service tests, and the live stack."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

from bot.core.settings import Settings

PG_ADMIN_URL = os.environ.get("POSBOT_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> bool:
    import sqlalchemy as sa

    try:
        eng = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with eng.connect():
            pass
        eng.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_available() -> bool:
    return _pg_available()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'posbot-test.db'}"


@pytest.fixture
def postgres_url(pg_available):
    """A fresh PostgreSQL database for one test, dropped afterwards.

    PostgreSQL runs on every machine of this kind; CI sets POSBOT_REQUIRE_PG=1 so a
    missing server fails loudly instead of skipping.
    """
    import sqlalchemy as sa

    if not pg_available:
        if os.environ.get("POSBOT_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL is required but not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable")
    name = f"posbot_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request) -> str:
    """Runs a test once against SQLite and once against PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def database(db_url):
    """A migrated bot.core.db.Database on a fresh database."""
    from bot.core.db import Database, upgrade

    upgrade(db_url)
    db = Database(db_url)
    yield db
    db.dispose()


# --- in-process services: their settings and one migrated SQLite database -------------------


def service_settings(tmp_path: Path, **overrides) -> Settings:
    """Settings of a test that runs the services in-process: its own data dir, the Shanghai service
    hours, no outbox worker; ``overrides`` adds what a package needs (a KB, ...)."""
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "var",
        timezone="Asia/Shanghai",
        service_hours="09:00-21:00",
        outbox_worker_enabled=False,
        **overrides,
    )


@pytest.fixture
def settings(tmp_path) -> Settings:
    """service_settings as they are; a package whose services need more overrides this fixture."""
    return service_settings(tmp_path)


@pytest.fixture
def db(tmp_path):
    """A migrated bot.core.db.Database on a temporary SQLite file of its own (``database`` runs on both
    SQLite and PostgreSQL; a test may use the two side by side)."""
    from bot.core.db import Database, upgrade

    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


# --- live stack: real Rasa server + real app service on loopback -------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def rasa_model() -> Path:
    from bot.rasa.project import train_if_needed

    env_model = os.environ.get("POSBOT_TEST_MODEL")
    return Path(env_model) if env_model else train_if_needed()


def launch_stack(tmp: Path, model: Path, database_url: str = "", redis_url: str = "", **extra):
    """Start Rasa + app on free loopback ports without waiting (several stacks can load in parallel)."""
    from bot.core.db import upgrade
    from bot.rasa.stack import Stack

    settings = Settings(
        data_dir=tmp, database_url=database_url, redis_url=redis_url, host="127.0.0.1", port=free_port(), **extra
    )
    upgrade(settings.effective_database_url)
    stack = Stack(model=model, settings=settings, rasa_port=free_port(), log_dir=tmp / "logs")
    stack.start()
    return stack


def wait_stack(stack, timeout_s: float = 300) -> None:
    try:
        stack.wait_healthy(timeout_s)
    except Exception:
        stack.stop()
        for log in sorted(stack.log_dir.glob("*.log")):
            print(f"--- {log.name} ---\n" + log.read_text(errors="replace")[-4000:])
        raise


def start_stack(tmp: Path, model: Path, **kwargs):
    stack = launch_stack(tmp, model, **kwargs)
    wait_stack(stack)
    return stack


# The live stack runs the WeChat channel in safe (encrypted) mode, as production does.
WECHAT_TEST_SETTINGS = {
    "wechat_token": "wx-test-token",
    "wechat_app_id": "wx1234567890abcdef",
    "wechat_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
}


# The host page's side of the signed merchant identity (docs/widget.md) on the live stack.
LIVE_MERCHANT_SECRET = "live-stack-merchant-identity-secret"


# The live stack's WeCom application (its API is the stand-in too).
WECOM_TEST_SETTINGS = {
    "wecom_token": "wecom-live-token",
    "wecom_aes_key": "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj",
}


@pytest.fixture(scope="session")
def tencent_api():
    """The stand-in of the WeChat and WeCom server APIs (tests/tencent_standin.py) for the live stack."""
    from tests.tencent_standin import TencentStandIn

    standin = TencentStandIn(appid=WECHAT_TEST_SETTINGS["wechat_app_id"]).start()
    yield standin
    standin.stop()


def channel_api_settings(standin) -> dict:
    """Settings pointing the app's WeChat/WeCom API clients at the stand-in, with active messages on."""
    return {
        **WECHAT_TEST_SETTINGS,
        **WECOM_TEST_SETTINGS,
        "wechat_app_secret": standin.secret,
        "wechat_api_base": standin.url,
        "wecom_api_base": standin.url,
        "wecom_corp_id": standin.corp_id,
        "wecom_agent_id": standin.agent_id,
        "wecom_secret": standin.corp_secret,
        "push_poll_interval_s": 0.2,
    }


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory, rasa_model, tencent_api):
    """Rasa + app service on SQLite, shared by the end-to-end and browser tests."""
    stack = start_stack(
        tmp_path_factory.mktemp("live"),
        rasa_model,
        merchant_identity_secret=LIVE_MERCHANT_SECRET,
        **channel_api_settings(tencent_api),
    )
    yield stack
    stack.stop()


@pytest.fixture
def chat_client(live_stack):
    """tests.support.ChatClient on the live stack: each sender id gets its own session token."""
    from tests.support import ChatClient

    client = ChatClient(live_stack.app_url)
    yield client
    client.close()


@pytest.fixture
def chat(chat_client):
    """Send one message as a merchant through the public chat API; returns (status, json)."""

    def send(sender_id: str, text: str, **extra):
        r = chat_client.post(sender_id, text, **extra)
        return r.status_code, r.json()

    return send

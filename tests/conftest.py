"""Fixtures shared by every test package: real databases, created per test and dropped after, the
settings and database of in-process service tests, and the live stack.

The suite can run on several pytest-xdist workers at once (``POSBOT_TEST_WORKERS``, scripts/test.sh):
nothing here is shared between two workers except what is safe to share (the PostgreSQL and Redis
servers, with a fresh database or fresh keys per test, and the trained model file, read only).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
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


_DATA_DIR = pytest.StashKey[str]()
LIVE_STACK_GROUP = "live_stack"
BROWSER_TESTS = Path(__file__).resolve().parent / "browser"


def pytest_configure(config) -> None:
    """Every Settings a test builds without its own data_dir writes into this process's folder, not var/.

    The default data dir is the repository's var/, where the chat session key, the PII vault key and
    the Rasa token are generated on first use: two workers creating one file at once would read each
    other's half-written key (and a developer's own var/ is no place for test data).
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    data_dir = tempfile.mkdtemp(prefix=f"posbot-test-var-{worker}-")
    config.stash[_DATA_DIR] = data_dir
    os.environ["POSBOT_DATA_DIR"] = data_dir


def pytest_unconfigure(config) -> None:
    data_dir = config.stash.get(_DATA_DIR, None)
    if data_dir:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.hookimpl(wrapper=True)  # around pytest-xdist's own hook, which reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist, tests sharing an expensive fixture run on one worker, which starts it once.

    - every test on the session's ``live_stack`` (the browser tests reach it through ``site``)
      is one group: one worker starts the live Rasa + app stack, the other never does;
    - every other test using a module- or package-scoped fixture (a module's own stack, a private
      PostgreSQL or Redis) is grouped with its module.
    Everything else is spread test by test. An explicit ``xdist_group`` mark wins.
    """
    if not config.pluginmanager.hasplugin("xdist"):
        return (yield)
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        info = getattr(item, "_fixtureinfo", None)
        scopes = {fd.scope for defs in info.name2fixturedefs.values() for fd in defs} if info else set()
        if "live_stack" in item.fixturenames or item.path.is_relative_to(BROWSER_TESTS):
            group = LIVE_STACK_GROUP
        elif scopes & {"module", "package"}:
            group = item.nodeid.split("::")[0]
        else:
            continue
        item.add_marker(pytest.mark.xdist_group(group))
    result = yield
    if getattr(config.option, "loadgroup", False):  # set on the workers of --dist loadgroup
        for item in items:
            _name_group(item)
    return result


def _name_group(item) -> None:
    """The scheduler of --dist loadgroup groups by the node id's suffix "@<group>", which pytest-xdist
    writes into the node's old ``_nodeid`` field: pytest 9.2 keeps node ids structured and ignores it,
    so the groups are silently lost (pytest-dev/pytest-xdist#1386). Name the group here when it is missing."""
    groups = sorted(
        {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
    )
    suffix = "@" + "_".join(groups)
    if not groups or item.nodeid.endswith(suffix) or not hasattr(item, "_id"):
        return
    item._id = type(item._id).parse(item.nodeid + suffix)


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
    env_model = os.environ.get("POSBOT_TEST_MODEL")
    if env_model:
        return Path(env_model)
    import fcntl

    from bot.rasa.project import MODELS_DIR, train_if_needed

    # Each xdist worker asks for the model: one trains it, the others wait here and then find it cached.
    MODELS_DIR.mkdir(exist_ok=True)
    with open(MODELS_DIR / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return train_if_needed()


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

"""Browser tests: Debian's Chromium driven by Playwright (sync API) against the live stack.

Chromium is /usr/bin/chromium (``make system-deps`` installs it with a CJK font);
``playwright install`` is never used. The pages under test are served by the real app
service of ``live_stack`` (real Rasa, real database).

For fast iteration against a stack you already run (``make run``), set
``POSBOT_BROWSER_URL=http://127.0.0.1:8000`` (and ``POSBOT_BROWSER_API_KEY`` for the staff
console tests, ``POSBOT_BROWSER_STAFF_USER`` / ``POSBOT_BROWSER_STAFF_PASSWORD`` for an agent
account); live_stack is then not started.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from .helpers import DESKTOP

CHROMIUM = os.environ.get("POSBOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STAFF_SCOPES = ["faq:read", "tickets:read", "tickets:write"]


def _expect_timeout() -> None:
    from playwright.sync_api import expect

    # Auto-waiting budget of every expect(): the first Rasa reply after start-up and the
    # widget's update polling (every few seconds) both fit well inside it.
    expect.set_options(timeout=30_000)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


# Package scope, not session: Playwright's sync API keeps an event loop running in the main
# thread while it is open, which breaks every async test that runs after the browser tests.
@pytest.fixture(scope="package")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} not found: install Debian's Chromium and a CJK font "
            "(`make system-deps`, i.e. apt-get install chromium fonts-wqy-zenhei)"
        )
    from playwright.sync_api import sync_playwright

    _expect_timeout()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def site(request) -> str:
    """Base URL of the app service whose pages are tested."""
    url = os.environ.get("POSBOT_BROWSER_URL")
    if url:
        return url.rstrip("/")
    return request.getfixturevalue("live_stack").app_url


@pytest.fixture(scope="session")
def staff_key(request, site) -> str:
    """A real API key with the staff console's scopes, created with bot.tickets.apikeys."""
    env_key = os.environ.get("POSBOT_BROWSER_API_KEY")
    if env_key:
        return env_key
    if os.environ.get("POSBOT_BROWSER_URL"):
        pytest.skip("POSBOT_BROWSER_URL is set without POSBOT_BROWSER_API_KEY")
    from bot.core.db import Database
    from bot.tickets.apikeys import ApiKeyStore

    stack = request.getfixturevalue("live_stack")
    db = Database(stack.settings.effective_database_url)
    try:
        return ApiKeyStore(db).create("browser-tests", STAFF_SCOPES).token
    finally:
        db.dispose()


STAFF_PASSWORD = "browser-tests-password"


@pytest.fixture(scope="session")
def staff_account(request, site) -> dict:
    """A real staff account (role agent, display name 小李) created with bot.staff.accounts."""
    if os.environ.get("POSBOT_BROWSER_URL"):
        user = os.environ.get("POSBOT_BROWSER_STAFF_USER")
        if not user:
            pytest.skip("POSBOT_BROWSER_URL is set without POSBOT_BROWSER_STAFF_USER / _PASSWORD")
        return {"username": user, "password": os.environ["POSBOT_BROWSER_STAFF_PASSWORD"], "display_name": user}
    from bot.core.db import Database
    from bot.staff.accounts import StaffStore

    stack = request.getfixturevalue("live_stack")
    db = Database(stack.settings.effective_database_url)
    try:
        StaffStore(db).create("xiaoli", "agent", STAFF_PASSWORD, display_name="小李")
        StaffStore(db).create("viewer", "viewer", STAFF_PASSWORD, display_name="值班主管")
    finally:
        db.dispose()
    return {"username": "xiaoli", "password": STAFF_PASSWORD, "display_name": "小李"}


@pytest.fixture
def api(site, staff_key):
    """httpx client of the internal API, authenticated with the staff key."""
    with httpx.Client(base_url=site, headers={"X-API-Key": staff_key}, timeout=60) as client:
        yield client


@pytest.fixture
def open_page(browser, request, tmp_path):
    """Factory: a fresh page (own context, so own localStorage = a new merchant) of a given screen.

    Uncaught JavaScript errors fail the test; a failing test leaves a screenshot in its tmp dir.
    """
    opened = []

    def make(screen: dict | None = None):
        ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **(screen or DESKTOP))
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        opened.append((ctx, page, errors))
        return page

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    js_errors = []
    for i, (ctx, page, errors) in enumerate(opened):
        if failed:
            shot = tmp_path / f"failure-{i}.png"
            try:
                page.screenshot(path=str(shot), full_page=True)
                print(f"screenshot of the failing page: {shot}")
            except Exception as exc:  # the page may be gone already
                print(f"no screenshot: {exc}")
        js_errors += errors
        ctx.close()
    assert not js_errors, f"JavaScript errors on the page: {js_errors}"


@pytest.fixture
def page(open_page):
    return open_page()

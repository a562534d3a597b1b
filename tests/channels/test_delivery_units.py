"""Units of the channel delivery: text splitting, shared state on the database and on Redis, access tokens,
and the schema of the new tables (migration 0004_channel_outbox against the models)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bot.channels.text import split_text
from bot.channels.tokens import AccessTokens
from bot.core.db import Database
from bot.core.shared_state import DatabaseState, RedisState

REDIS_URL = "redis://127.0.0.1:6379/0"


# --- split_text ------------------------------------------------------------------------------


def test_short_text_is_one_part():
    assert split_text("  结算一般T+1到账  ", 2048) == ["结算一般T+1到账"]
    assert split_text("   ", 2048) == []


def test_long_text_splits_at_line_breaks_within_the_byte_limit():
    lines = [f"{i}. " + "检查电源和网络" * 10 for i in range(1, 30)]
    text = "\n".join(lines)
    parts = split_text(text, 400)
    assert len(parts) > 1 and all(len(p.encode()) <= 400 for p in parts)
    assert "\n".join(parts) == text  # cut only between lines
    assert all(p.split("\n")[0] in lines for p in parts)


def test_one_over_long_line_is_cut_between_characters():
    text = "刷" * 1000  # 3000 bytes, no break
    parts = split_text(text, 2048)
    assert [len(p.encode()) for p in parts] == [2046, 954]
    assert "".join(parts) == text


# --- shared state -------------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)

    def __call__(self):
        return self.now


@pytest.fixture(params=["database", "redis"])
def state(request, database):
    if request.param == "database":
        yield DatabaseState(database)
        return
    s = RedisState(REDIS_URL)
    s.PREFIX = f"posbot-test-{uuid.uuid4().hex[:8]}:"
    yield s
    for k in s.client.scan_iter(s.PREFIX + "*"):
        s.client.delete(k)
    s.close()


def test_add_is_first_writer_wins_and_put_replaces(state):
    assert state.add("k", "one", 60) is None
    assert state.add("k", "two", 60) == "one"
    assert state.get("k") == "one"
    state.put("k", "three", 60)
    assert state.get("k") == "three"
    assert state.delete("k", only_if="other") is False and state.get("k") == "three"
    assert state.delete("k", only_if="three") is True and state.get("k") is None
    assert state.get("missing") is None


def test_expired_keys_are_gone_and_claimable_again(database):
    clock = Clock()
    state = DatabaseState(database, clock=clock)
    state.add("nonce", "a", 10)
    clock.now += timedelta(seconds=11)
    assert state.get("nonce") is None
    assert state.add("nonce", "b", 10) is None and state.get("nonce") == "b"
    clock.now += timedelta(seconds=11)
    assert state.prune() == 1


def test_concurrent_adds_from_several_instances_have_one_winner(database):
    instances = [Database(database.url) for _ in range(3)]
    states = [DatabaseState(db) for db in instances for _ in range(2)]
    barrier = threading.Barrier(len(states))
    results = []

    def claim(s):
        barrier.wait()
        results.append(s.add("lock", uuid.uuid4().hex, 30))

    threads = [threading.Thread(target=claim, args=(s,)) for s in states]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        for db in instances:
            db.dispose()
    assert results.count(None) == 1


# --- access tokens ----------------------------------------------------------------------------


class TokenSource:
    """Hands out numbered tokens (like /cgi-bin/token) and counts the calls."""

    def __init__(self, ttl: int = 7200, delay: float = 0.0):
        self.ttl, self.delay, self.calls, self.forced = ttl, delay, 0, 0

    async def __call__(self, force: bool):
        self.calls += 1
        self.forced += force
        await asyncio.sleep(self.delay)
        return f"token-{self.calls}", self.ttl


async def test_a_token_is_cached_and_refreshed_before_it_expires(state):
    now = [1_000_000.0]
    source = TokenSource(ttl=7200)
    tokens = AccessTokens(state, "wechat:app", source, margin_s=300, clock=lambda: now[0])
    assert await tokens.get() == "token-1"
    assert await tokens.get() == "token-1" and source.calls == 1
    now[0] += 7200 - 299  # within the margin: refreshed while the old one is still valid
    assert await tokens.get() == "token-2" and source.calls == 2


async def test_instances_share_one_fetch(state, database):
    source = TokenSource(delay=0.3)
    others = [DatabaseState(database) for _ in range(3)] if isinstance(state, DatabaseState) else [state] * 3
    instances = [AccessTokens(s, "wecom:corp:1", source) for s in [state, *others]]
    got = await asyncio.gather(*(t.get() for t in instances))
    assert got == ["token-1"] * 4 and source.calls == 1


async def test_a_rejected_token_is_replaced_once_even_when_several_notice(state):
    source = TokenSource()
    a = AccessTokens(state, "wechat:x", source)
    b = AccessTokens(state, "wechat:x", source)
    old = await a.get()
    new = await asyncio.gather(a.refresh(old), b.refresh(old))
    assert new == ["token-2", "token-2"] and source.calls == 2


async def test_a_refresh_that_returns_the_rejected_token_is_forced(state):
    class Stubborn(TokenSource):
        async def __call__(self, force):
            await super().__call__(force)
            return ("fresh" if force else "same"), 7200

    source = Stubborn()
    tokens = AccessTokens(state, "wechat:y", source)
    assert await tokens.get() == "same"
    assert await tokens.refresh("same") == "fresh" and source.forced == 1


# --- schema ----------------------------------------------------------------------------------


def test_migration_matches_the_models(database):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import bot.core.models  # noqa: F401
    from bot.core.db import Base

    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    ours = ("channel_outbox", "shared_state", "acknowledged_at")
    assert [d for d in diff if any(name in repr(d) for name in ours)] == []

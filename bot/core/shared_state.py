"""Small expiring key-value state that every app instance sees: Redis when configured, else the database.

Used for what instances must agree on without a round of coordination: the WeChat and WeCom
access tokens (one token for all instances, refreshed by one of them), the lock that elects the
refresher, and the nonces of signed callbacks (a replayed request is recognised on any instance).

Three operations cover it, each atomic on both backends:

- ``get(key)``: the value, or None when absent or expired;
- ``put(key, value, ttl_s)``: store, replacing any value;
- ``add(key, value, ttl_s)``: store only if absent (or expired); returns the value already there
  otherwise, so "first writer wins" needs no separate read;
- ``delete(key, only_if=value)``: remove, optionally only while it still holds ``value`` (a lock
  released by its owner only).

The database table is ``shared_state`` (migration ``0004_channel_outbox``); rows past their
``expires_at`` are ignored at once and deleted in passing, so there is no cleanup job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol, cast

from sqlalchemy import String, Text, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, Database, UTCDateTime, rowcount, utcnow

log = logging.getLogger(__name__)

KEY_MAX = 200
PRUNE_EVERY_S = 60.0


class SharedStateRow(Base):
    __tablename__ = "shared_state"

    key: Mapped[str] = mapped_column(String(KEY_MAX), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class SharedState(Protocol):
    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str, ttl_s: float) -> None: ...

    def add(self, key: str, value: str, ttl_s: float) -> str | None: ...

    def delete(self, key: str, only_if: str | None = None) -> bool: ...


def _check_key(key: str) -> str:
    if not key or len(key) > KEY_MAX:
        raise ValueError(f"shared-state key must be 1-{KEY_MAX} characters")
    return key


class DatabaseState:
    """Shared state in the project database (SQLite or PostgreSQL); each call is one transaction."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow):
        self.db = db
        self.clock = clock
        self._last_prune = 0.0

    def get(self, key: str) -> str | None:
        with self.db.session() as s:
            row = s.get(SharedStateRow, _check_key(key))
            return row.value if row is not None and row.expires_at > self.clock() else None

    def put(self, key: str, value: str, ttl_s: float) -> None:
        expires = self.clock() + timedelta(seconds=ttl_s)
        for _ in range(3):
            with self.db.session() as s:
                done = s.execute(
                    update(SharedStateRow)
                    .where(SharedStateRow.key == _check_key(key))
                    .values(value=value, expires_at=expires)
                )
                if rowcount(done):
                    return
            try:
                with self.db.session() as s:
                    s.add(SharedStateRow(key=key, value=value, expires_at=expires))
                return
            except IntegrityError:
                continue  # inserted by someone else meanwhile: update theirs
        raise RuntimeError(f"could not store shared state {key!r}")

    def add(self, key: str, value: str, ttl_s: float) -> str | None:
        self._maybe_prune()
        for _ in range(3):
            now = self.clock()
            try:
                with self.db.session() as s:
                    s.add(SharedStateRow(key=_check_key(key), value=value, expires_at=now + timedelta(seconds=ttl_s)))
                return None
            except IntegrityError:
                pass
            with self.db.session() as s:
                row = s.get(SharedStateRow, key)
                if row is not None and row.expires_at > now:
                    return row.value
                # Expired (or just deleted): clear it, then try the insert again.
                s.execute(delete(SharedStateRow).where(SharedStateRow.key == key, SharedStateRow.expires_at <= now))
        raise RuntimeError(f"could not claim shared state {key!r}")

    def delete(self, key: str, only_if: str | None = None) -> bool:
        with self.db.session() as s:
            q = delete(SharedStateRow).where(SharedStateRow.key == _check_key(key))
            if only_if is not None:
                q = q.where(SharedStateRow.value == only_if)
            return bool(rowcount(s.execute(q)))

    def prune(self) -> int:
        with self.db.session() as s:
            return rowcount(s.execute(delete(SharedStateRow).where(SharedStateRow.expires_at <= self.clock())))

    def _maybe_prune(self) -> None:
        if time.monotonic() - self._last_prune < PRUNE_EVERY_S:
            return
        self._last_prune = time.monotonic()
        try:
            self.prune()
        except Exception as e:  # best effort: expired rows are ignored anyway
            log.warning("pruning shared_state failed: %s", e)

    def keys(self, prefix: str) -> list[str]:
        """Live keys with a prefix (tests and diagnostics)."""
        with self.db.session() as s:
            rows = s.execute(
                select(SharedStateRow.key).where(
                    SharedStateRow.key.startswith(prefix, autoescape=True), SharedStateRow.expires_at > self.clock()
                )
            ).scalars()
            return list(rows)


_DELETE_IF = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class RedisState:
    """Shared state in Redis (``POSBOT_REDIS_URL``); keys are prefixed with ``posbot:``."""

    PREFIX = "posbot:"

    def __init__(self, url: str):
        import redis  # local import: redis is optional, only for a shared Redis

        self.client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5)
        self._delete_if = self.client.register_script(_DELETE_IF)

    def _k(self, key: str) -> str:
        return self.PREFIX + _check_key(key)

    @staticmethod
    def _ms(ttl_s: float) -> int:
        return max(1, int(ttl_s * 1000))

    def get(self, key: str) -> str | None:
        return cast("str | None", self.client.get(self._k(key)))  # decode_responses=True: str

    def put(self, key: str, value: str, ttl_s: float) -> None:
        self.client.set(self._k(key), value, px=self._ms(ttl_s))

    def add(self, key: str, value: str, ttl_s: float) -> str | None:
        for _ in range(3):
            if self.client.set(self._k(key), value, px=self._ms(ttl_s), nx=True):
                return None
            existing = cast("str | None", self.client.get(self._k(key)))
            if existing is not None:
                return existing
            # expired between the two calls: try again
        raise RuntimeError(f"could not claim shared state {key!r}")

    def delete(self, key: str, only_if: str | None = None) -> bool:
        if only_if is None:
            return bool(self.client.delete(self._k(key)))
        return bool(self._delete_if(keys=[self._k(key)], args=[only_if]))

    def close(self) -> None:
        self.client.close()


def make_shared_state(db: Database, redis_url: str = "") -> SharedState:
    """Redis when a URL is configured (several app instances behind a balancer), else the database."""
    return RedisState(redis_url) if redis_url else DatabaseState(db)

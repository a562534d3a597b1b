"""Rasa lock store: Redis' ticket locks, and the instance's own locks while Redis is unreachable.

Several Rasa instances serialise the turns of one conversation through Redis (Rasa's
``RedisLockStore``). Rasa's store turns a Redis outage into an exception before the turn
starts, and its REST channel answers such a turn with no messages at all: with Redis down,
every merchant would be ignored.

This store keeps Rasa's Redis locks and, when Redis cannot be reached, takes an in-memory
lock of this instance instead (logged as a warning). Turns keep being answered; what is lost
for the outage is only the serialisation across instances (two messages of the same
conversation arriving at the same moment on two instances may overlap, which the tracker
store's freshness check turns into a reload, not a corrupted tracker). Every turn asks Redis
first, so once Redis is back the next turn uses it again, without a restart.

Configured by ``bot.rasa.project.lock_store_config`` (``type: bot.rasa_ext.lock_store.FallbackRedisLockStore``).
Runs inside Rasa's environment (.venv-rasa).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


def _redis_down(exc: BaseException) -> bool:
    """Was ``exc`` (or what caused it: Rasa wraps Redis errors in LockError) Redis being unreachable?"""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, REDIS_DOWN):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class FallbackRedisLockStore(RedisLockStore):
    """RedisLockStore that falls back to this instance's in-memory locks while Redis is down."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        if endpoint_config is not None:  # how Rasa builds a lock store named by its module path
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        # A short socket timeout: a hanging Redis must not hold a merchant's turn for Rasa's 10 s.
        kwargs["socket_timeout"] = float(kwargs.get("socket_timeout", 2.0))
        super().__init__(**kwargs)
        self.local = InMemoryLockStore()
        self._degraded = False

    @asynccontextmanager
    async def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncGenerator[TicketLock, None]:
        try:
            ticket = self.issue_ticket(conversation_id, lock_lifetime)
            acquired = await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        except (LockError, *REDIS_DOWN) as e:
            if not _redis_down(e):
                raise
            if not self._degraded:
                log.warning("Redis lock store unreachable (%s): turns use this instance's own locks", type(e).__name__)
            self._degraded = True
            async with self.local.lock(conversation_id, lock_lifetime, wait_time_in_seconds) as lock:
                yield lock
            return
        if self._degraded:
            log.warning("Redis lock store reachable again: turns are serialised across instances")
            self._degraded = False
        try:
            yield acquired
        finally:
            try:
                self.cleanup(conversation_id, ticket)
            except REDIS_DOWN as e:  # the ticket expires in Redis after its lifetime
                log.warning("Redis lock for %s not released (%s)", conversation_id, type(e).__name__)

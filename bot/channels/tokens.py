"""Access tokens of the WeChat and WeCom APIs: one per app, cached where every app instance sees it.

WeChat's classic ``/cgi-bin/token`` hands out a new token on every call and retires the old
one within minutes, so instances that each fetched their own would keep invalidating one
another (40001 "access_token is invalid or not latest"). Here the token lives in the shared
state (``bot.core.shared_state``: Redis or the database) and only the instance holding the refresh
lock fetches a new one; the others wait for it and read it. A token is refreshed
``margin_s`` before it expires (meanwhile the old one is still served), and once more when
the API rejects it (40001/40014/42001): ``refresh(rejected)`` fetches a new token unless
another instance already replaced the rejected one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from anyio import to_thread

from bot.core.shared_state import SharedState

log = logging.getLogger(__name__)

LOCK_TTL_S = 30.0
WAIT_S = 10.0
POLL_S = 0.1


class TokenUnavailable(Exception):
    """No token could be fetched (bad secret, IP not allow-listed, API down); the send is retried later."""

    def __init__(self, message: str, errcode: int | None = None):
        super().__init__(message)
        self.errcode = errcode


@dataclass(frozen=True)
class _Cached:
    token: str
    expires_at: float


# fetch(force) -> (token, expires_in seconds); force asks the API for a new token even if the current one is valid.
Fetch = Callable[[bool], Awaitable[tuple[str, int]]]


class AccessTokens:
    def __init__(
        self,
        state: SharedState,
        name: str,
        fetch: Fetch,
        *,
        margin_s: float = 300.0,
        clock: Callable[[], float] = time.time,
    ):
        self.state = state
        self.key = f"token:{name}"
        self.lock_key = f"token-lock:{name}"
        self.fetch = fetch
        self.margin_s = margin_s
        self.clock = clock

    async def _read(self) -> _Cached | None:
        raw = await to_thread.run_sync(self.state.get, self.key)
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return _Cached(str(data["token"]), float(data["expires_at"]))
        except (ValueError, KeyError, TypeError):
            return None

    async def get(self) -> str:
        """A valid token: the shared one, refreshed first when it is about to expire."""
        cached = await self._read()
        now = self.clock()
        if cached is not None and cached.expires_at - self.margin_s > now:
            return cached.token
        if cached is not None and cached.expires_at > now:
            # Expiring soon but still valid: refresh if nobody else is, else keep using it.
            token = await self._refresh(rejected=None, wait=False)
            return token or cached.token
        token = await self._refresh(rejected=None, wait=True)
        assert token is not None
        return token

    async def refresh(self, rejected: str) -> str:
        """The API refused ``rejected``: a replacement (fetched here, or by whoever was quicker)."""
        token = await self._refresh(rejected=rejected, wait=True)
        assert token is not None
        return token

    async def _refresh(self, rejected: str | None, wait: bool) -> str | None:
        deadline = time.monotonic() + WAIT_S
        owner = uuid.uuid4().hex
        while True:
            taken = await to_thread.run_sync(self.state.add, self.lock_key, owner, LOCK_TTL_S)
            if taken is None:
                try:
                    return await self._refresh_locked(rejected)
                finally:
                    await to_thread.run_sync(self.state.delete, self.lock_key, owner)
            if not wait:
                return None
            # Another instance is refreshing: its token appears in the shared state.
            await asyncio.sleep(POLL_S)
            cached = await self._read()
            if cached is not None and self._usable(cached, rejected):
                return cached.token
            if time.monotonic() > deadline:
                raise TokenUnavailable(f"timed out waiting for another instance to refresh {self.key}")

    def _usable(self, cached: _Cached, rejected: str | None) -> bool:
        if rejected is not None:
            return cached.token != rejected and cached.expires_at > self.clock()
        return cached.expires_at - self.margin_s > self.clock()

    async def _refresh_locked(self, rejected: str | None) -> str:
        cached = await self._read()
        if cached is not None and self._usable(cached, rejected):
            return cached.token  # refreshed by another instance while we waited for the lock
        token, expires_in = await self.fetch(False)
        if rejected is not None and token == rejected:
            # The API's "current" token is the one it just refused (e.g. revoked): force a new one.
            token, expires_in = await self.fetch(True)
        expires_in = max(60, int(expires_in))
        value = json.dumps({"token": token, "expires_at": self.clock() + expires_in})
        await to_thread.run_sync(self.state.put, self.key, value, float(expires_in))
        log.info("%s refreshed (valid %d s%s)", self.key, expires_in, ", after a rejection" if rejected else "")
        return token

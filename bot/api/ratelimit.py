"""Rate limits and quotas of the HTTP API, counted with the ``limits`` library.

Counters live in Redis when ``settings.redis_url`` is set (every app instance shares them),
in process memory otherwise. Three kinds, all configurable (bot.core.settings, "limits and exposure"):

* per client IP, every route but the WeChat/WeCom callbacks and Rasa's action calls (they come
  from a few servers carrying everyone's traffic) — ``RateLimitMiddleware``, before body parsing;
* per API key (``X-API-Key`` or a ``posbot_`` bearer token), counted by a hash of the key, so a
  forged key never spends a real key's budget — also in the middleware;
* per web chat sender id, after its session token is verified — ``check_sender``, called by
  bot.api.chat_session for every chat route — plus a message cap per conversation and session
  period (``check_session_cap``).

A refusal is 429 with ``Retry-After`` and the project's error shape (detail, message, code).
When the counter store fails (Redis down) requests pass: a limit must never take the chat down.

Failed staff logins are counted apart (``LoginFailures``, used by bot.api.staff), in the same store:
shared through Redis when it is configured, so a guesser gains nothing by spreading tries over the
app instances; when Redis fails they are counted in process instead (still a limit, never an outage).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time

from limits import RateLimitItem, parse, parse_many
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.api.errors import ApiError
from bot.core.settings import Settings

log = logging.getLogger(__name__)

RATE_LIMITED_MESSAGE = "发送太频繁了，请稍等一会儿再试 / too many requests, please wait a moment and try again"
SESSION_CAP_MESSAGE = (
    "这次对话的消息已经很多了，请稍后再来，或点「转人工」让客服直接帮您 / "
    "this conversation has reached its message limit for now; please come back later or ask for a person"
)
# Routes whose callers are a few servers speaking for everyone: no per-IP limit.
IP_EXEMPT = ("/wechat", "/wecom", "/webhook")
LOGIN_FAILURE_WINDOW_S = 15 * 60
LOGIN_FAILURE_CAP = 1000  # failures remembered per key and window; far above any threshold


KEY_PREFIX = "posbot:limits"


def _redis_storage_url(redis_url: str, *, asynchronous: bool) -> str:
    """``redis_url`` for limits' asynchronous (``async+redis://``) or synchronous storage."""
    plain = redis_url.removeprefix("async+")
    return "async+" + plain if asynchronous else plain


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


class Limiter:
    """Named groups of limits (``"30/minute;600/hour"``) over one counter store."""

    def __init__(self, settings: Settings):
        self.enabled = settings.rate_limits_enabled
        if settings.redis_url:
            url = _redis_storage_url(settings.redis_url, asynchronous=True)
            self.storage = storage_from_string(url, implementation="redispy", key_prefix=KEY_PREFIX)
        else:
            self.storage = storage_from_string("async+memory://")
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        self.groups: dict[str, list[RateLimitItem]] = {
            "ip": parse_many(settings.rate_limit_ip),
            "api_key": parse_many(settings.rate_limit_api_key),
            "sender_messages": parse_many(settings.rate_limit_sender_messages),
            "sender_requests": parse_many(settings.rate_limit_sender_requests),
            "session_cap": [parse(f"{settings.chat_session_max_messages} per {settings.chat_session_ttl_s} second")],
        }

    async def hit(self, group: str, key: str) -> None:
        """Count one request of ``key`` in ``group``; RateLimited when one of the group's limits is spent."""
        if not self.enabled:
            return
        try:
            for item in self.groups[group]:
                if not await self.strategy.hit(item, group, key):
                    stats = await self.strategy.get_window_stats(item, group, key)
                    raise RateLimited(max(1, math.ceil(stats.reset_time - time.time())))
        except RateLimited:
            raise
        except Exception as e:  # the counter store is down: serve rather than refuse everyone
            log.warning("rate limit store unavailable (%s): request allowed", type(e).__name__)


class LoginFailures:
    """Failed logins per key in a sliding window of ``LOGIN_FAILURE_WINDOW_S``.

    A moving window (every failure's time kept) over the rate limits' counter store: Redis when
    ``settings.redis_url`` is set, process memory otherwise. The staff login route is synchronous
    (argon2 runs in the thread pool), hence the synchronous flavour of the same storage.
    """

    # One fixed item for counting: the storage's key includes the amount, so the threshold
    # (settings.staff_login_max_failures, compared by the caller) must not be part of it.
    _ITEM = parse(f"{LOGIN_FAILURE_CAP} per {LOGIN_FAILURE_WINDOW_S} second")
    _GROUP = "staff_login_failures"

    def __init__(self, settings: Settings | None = None) -> None:
        self._local = MovingWindowRateLimiter(storage_from_string("memory://"))
        redis_url = settings.redis_url if settings is not None else None
        self._shared = (
            MovingWindowRateLimiter(
                storage_from_string(_redis_storage_url(redis_url, asynchronous=False), key_prefix=KEY_PREFIX)
            )
            if redis_url
            else None
        )

    def _call(self, method: str, key: str):
        ident = (self._GROUP, _digest(key))
        if self._shared is not None:
            try:
                return getattr(self._shared, method)(self._ITEM, *ident)
            except Exception as e:  # Redis down: this instance still counts on its own
                log.warning("login failure store unavailable (%s): counting in process", type(e).__name__)
        return getattr(self._local, method)(self._ITEM, *ident)

    def count(self, key: str) -> int:
        stats = self._call("get_window_stats", key)
        return self._ITEM.amount - stats.remaining

    def add(self, key: str) -> None:
        self._call("hit", key)

    def clear(self, key: str) -> None:
        self._call("clear", key)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def api_key_of(headers: dict[bytes, bytes]) -> str | None:
    """The API key a request presents, if any (web chat session tokens are not API keys)."""
    key = headers.get(b"x-api-key")
    if key:
        return key.decode("latin-1")
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token.startswith("posbot_"):
        return token
    return None


def too_many(retry_after: int, code: str = "rate_limited", message: str = RATE_LIMITED_MESSAGE) -> ApiError:
    return ApiError(429, code, message, headers={"Retry-After": str(retry_after)})


async def check_sender(limiter: Limiter | None, sender_id: str, group: str = "sender_requests") -> None:
    """Count one request of a verified web chat sender; ApiError 429 when it sends too fast."""
    if limiter is None:
        return
    try:
        await limiter.hit(group, sender_id)
    except RateLimited as e:
        log.info("chat sender %s rate limited (%s)", sender_id, group)
        raise too_many(e.retry_after) from None


async def check_session_cap(limiter: Limiter | None, sender_id: str) -> None:
    """Count one message of the conversation; ApiError 429 (session_message_cap) past the cap."""
    if limiter is None:
        return
    try:
        await limiter.hit("session_cap", sender_id)
    except RateLimited as e:
        log.info("chat sender %s reached the message cap of a session", sender_id)
        raise too_many(e.retry_after, "session_message_cap", SESSION_CAP_MESSAGE) from None


class RateLimitMiddleware:
    """Per-IP and per-API-key limits, answered before the body is read."""

    def __init__(self, app: ASGIApp, limiter: Limiter):
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limiter.enabled:
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        headers = dict(scope.get("headers") or [])
        try:
            if not any(path == p or path.startswith(p + "/") for p in IP_EXEMPT):
                client = scope.get("client")
                await self.limiter.hit("ip", client[0] if client else "-")
            key = api_key_of(headers)
            if key is not None:
                await self.limiter.hit("api_key", _digest(key))
        except RateLimited as e:
            log.info("rate limited: %s %s (client %s)", scope.get("method"), path, (scope.get("client") or ["-"])[0])
            await self._refuse(send, e.retry_after)
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(send: Send, retry_after: int) -> None:
        body = json.dumps(
            {"detail": RATE_LIMITED_MESSAGE, "message": RATE_LIMITED_MESSAGE, "code": "rate_limited"},
            ensure_ascii=False,
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

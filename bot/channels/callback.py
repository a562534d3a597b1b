"""Checks every signed Tencent callback (WeChat Official Account, WeCom) passes before it is read.

WeChat signs a callback with SHA1 over (token, timestamp, nonce[, ciphertext]). The signature
alone proves little in plaintext mode: it does not cover the body, so a captured request
could be replayed with another body. So, in order:

1. the timestamp must be within ``wechat_timestamp_window_s`` of our clock (a signature from
   2001 is refused);
2. the signature must match (constant-time comparison);
3. a (timestamp, nonce, signature) seen before must come with the very same body: WeChat's
   own retries pass, a replay with another body is refused. The nonces live in the shared
   state (Redis or the database), so this holds across app instances;
4. the XML must not declare a DTD (no entity expansion, no external entities: WeChat never
   sends one) and must parse.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import xmltodict

from bot.core.shared_state import SharedState


class CallbackError(Exception):
    """A refused callback: ``status`` is the HTTP status (400 malformed, 403 not from Tencent, 413 too big)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def sha1_signature(*parts: str) -> str:
    """WeChat's signature: SHA1 of the sorted parts concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


class CallbackGuard:
    def __init__(self, state: SharedState, channel: str, window_s: int, clock: Callable[[], float] = time.time):
        self.state = state
        self.channel = channel
        self.window_s = window_s
        self.clock = clock

    @staticmethod
    def require(params: dict[str, str], *names: str) -> list[str]:
        missing = [n for n in names if not params.get(n)]
        if missing:
            raise CallbackError(400, f"missing query parameter(s): {', '.join(missing)}")
        return [params[n] for n in names]

    def check_timestamp(self, timestamp: str) -> None:
        if not timestamp.isdigit() or len(timestamp) > 12:
            raise CallbackError(400, "timestamp must be Unix seconds")
        if abs(self.clock() - int(timestamp)) > self.window_s:
            raise CallbackError(403, "timestamp outside the allowed window: stale or replayed request")

    @staticmethod
    def check_signature(expected: str, given: str) -> None:
        if not hmac.compare_digest(expected.encode(), (given or "").lower().encode()):
            raise CallbackError(403, "invalid signature")

    def check_replay(self, timestamp: str, nonce: str, signature: str, body: bytes) -> None:
        """A signed request may come again (WeChat retries) only with the same body."""
        key = f"nonce:{self.channel}:{hashlib.sha1(f'{timestamp}|{nonce}|{signature}'.encode()).hexdigest()}"
        digest = hashlib.sha256(body).hexdigest()
        seen = self.state.add(key, digest, ttl_s=float(self.window_s * 2 + 60))
        if seen is not None and seen != digest:
            raise CallbackError(403, "signature already used with another body: replay refused")


def parse_xml(text: str) -> dict[str, Any]:
    """The ``<xml>`` element of a callback body as a dict; no DTDs, clear errors."""
    if not text.strip():
        raise CallbackError(400, "empty body: a WeChat XML message is required")
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise CallbackError(400, "XML with a DTD or entity declarations is refused")
    try:
        root = xmltodict.parse(text, disable_entities=True)
    except Exception as e:  # expat errors, ValueError for entities
        raise CallbackError(400, f"malformed XML: {type(e).__name__}") from e
    xml = root.get("xml") if isinstance(root, dict) else None
    if not isinstance(xml, dict):
        raise CallbackError(400, "malformed XML: no <xml> element")
    return xml


def text_field(xml: dict[str, Any], name: str, required: bool = True, max_len: int = 10_000) -> str:
    value = xml.get(name)
    if value is None or value == "":
        if required:
            raise CallbackError(400, f"malformed message: <{name}> is missing")
        return ""
    if not isinstance(value, str):
        raise CallbackError(400, f"malformed message: <{name}> must be text")
    if len(value) > max_len:
        raise CallbackError(400, f"malformed message: <{name}> is too long")
    return value

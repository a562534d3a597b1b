"""Signed session tokens of the web chat: a conversation belongs to the browser that started it.

``POST /api/chat/session`` issues a token bound to one sender id; every other web chat
endpoint needs it (``Authorization: Bearer <token>``). The token is an itsdangerous
``URLSafeTimedSerializer`` value (HMAC-SHA256 over the payload and its timestamp, keyed with
a key derived from ``chat_session_secret``); nothing is stored on the server, so any app
instance sharing the secret accepts it.

* valid for ``chat_session_ttl_s``; after that the API answers 401 ``session_expired``;
* an expired token whose signature is still good renews for the same sender id for
  ``chat_session_renew_s`` (the widget does this by itself and keeps the conversation);
* a forged or foreign token is ``session_invalid`` and can never be renewed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from bot.core.private_files import ensure_token
from bot.core.settings import Settings

SALT = "posbot.chat.session.v1"
KEY_FILE = "chat-session-key"
TOKEN_MAX_CHARS = 512

# code -> bilingual message; the widget reacts to the code, people read the message.
ERRORS = {
    "session_missing": "缺少会话凭证，请刷新页面后再试 / session token missing: send Authorization: Bearer <token>",
    "session_invalid": "会话凭证无效，请刷新页面后再试 / session token invalid",
    "session_expired": "会话已过期，正在为您续期，请再发一次 / session token expired: renew it with POST /api/chat/session",
    "session_mismatch": "这个会话不属于当前页面 / the session token belongs to another sender_id",
    "sender_taken": (
        "这个会话已在另一个浏览器里使用，已为您开启新的对话 / "
        "sender_id already belongs to another session: start a new one without sender_id"
    ),
}


class SessionError(Exception):
    """A token problem the API turns into 401 (403/409 for mismatch and taken ids)."""

    def __init__(self, code: str):
        super().__init__(ERRORS[code])
        self.code = code
        self.message = ERRORS[code]


@dataclass(frozen=True)
class IssuedToken:
    sender_id: str
    token: str
    expires_at: datetime


def session_secret(settings: Settings) -> str:
    """The configured key, else one generated once into the data dir (never in the repository)."""
    configured = settings.chat_session_secret.get_secret_value()
    if configured:
        return configured
    return ensure_token(Path(settings.data_dir) / KEY_FILE)


class SessionTokens:
    def __init__(self, secret: str, ttl_s: int, renew_s: int):
        if not secret:
            raise ValueError("session tokens need a secret")
        self._serializer = URLSafeTimedSerializer(secret, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})
        self.ttl_s = int(ttl_s)
        self.renew_s = max(int(renew_s), int(ttl_s))

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionTokens:
        return cls(session_secret(settings), settings.chat_session_ttl_s, settings.chat_session_renew_s)

    def issue(self, sender_id: str, now: datetime | None = None) -> IssuedToken:
        now = now or datetime.now(UTC)
        token = self._serializer.dumps({"sid": sender_id})
        return IssuedToken(sender_id, token, now + timedelta(seconds=self.ttl_s))

    def _load(self, token: str | None, max_age: int) -> str:
        if not token:
            raise SessionError("session_missing")
        if len(token) > TOKEN_MAX_CHARS:
            raise SessionError("session_invalid")
        try:
            payload = self._serializer.loads(token, max_age=max_age)
        except SignatureExpired:
            raise SessionError("session_expired") from None
        except BadSignature:
            raise SessionError("session_invalid") from None
        sid = payload.get("sid") if isinstance(payload, dict) else None
        if not isinstance(sid, str) or not sid:
            raise SessionError("session_invalid")
        return sid

    def verify(self, token: str | None) -> str:
        """The sender id a current token belongs to; SessionError otherwise."""
        return self._load(token, self.ttl_s)

    def renewable(self, token: str | None) -> str:
        """The sender id of a token that may be renewed (good signature, not older than renew_s)."""
        try:
            return self._load(token, self.renew_s)
        except SessionError as e:
            if e.code == "session_expired":
                raise SessionError("session_invalid") from None  # too old to renew
            raise

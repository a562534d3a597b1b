"""API keys of the internal REST API: scoped, stored hashed, created and revoked by the CLI.

A key looks like ``posbot_<8 hex>_<43 url-safe chars>`` (256 random bits). Only its
SHA-256 is stored; a plain hash is enough because the token is high-entropy (no
password to brute-force), and it lets a lookup stay one indexed query. The
``posbot_<8 hex>`` prefix is not secret: it names the key in ``posbot apikey list``
and in logs of rejected requests.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.core.db import Database, utcnow
from bot.tickets.models import ApiKey

SCOPES: tuple[str, ...] = (
    "tickets:read",
    "tickets:write",
    "conversations:read",
    "conversations:write",
    "faq:read",
    "faq:write",
    "field:read",  # the field queue (consumables deliveries, on-site visits)
    "field:write",  # assign, reschedule, mark done
    "analytics:read",  # the analytics dashboard and the unanswered queue (merchant questions, masked)
    "staff:admin",  # staff accounts (roles: bot.staff.accounts); not for API keys
)
KEY_SCOPES: tuple[str, ...] = tuple(s for s in SCOPES if s != "staff:admin")

_TOKEN_RE = re.compile(r"posbot_([0-9a-f]{8})_[A-Za-z0-9_-]{43}")


class ApiKeyRejected(Exception):
    """Why a presented key is not accepted; ``prefix`` is safe to log (never the key)."""

    def __init__(self, reason: str, prefix: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.prefix = prefix


class ApiKeyNotFound(LookupError):
    pass


@dataclass(frozen=True)
class ApiKeyInfo:
    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class NewApiKey:
    info: ApiKeyInfo
    token: str  # shown once, never stored


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_prefix(token: str) -> str | None:
    """``posbot_<8 hex>`` of a well-formed token, else None (a malformed string is not logged)."""
    m = _TOKEN_RE.fullmatch(token)
    return f"posbot_{m.group(1)}" if m else None


def _info(row: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=tuple(row.scopes),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class ApiKeyStore:
    def __init__(self, db: Database):
        self.db = db

    def create(self, name: str, scopes: list[str] | tuple[str, ...]) -> NewApiKey:
        name = name.strip()
        if not name or len(name) > 100:
            raise ValueError("name must be 1 to 100 characters")
        unknown = sorted(set(scopes) - set(KEY_SCOPES))
        if unknown or not scopes:
            raise ValueError(f"scopes must be a non-empty subset of {', '.join(KEY_SCOPES)}; unknown: {unknown}")
        ordered = [s for s in KEY_SCOPES if s in set(scopes)]
        for _ in range(5):  # a prefix collision (1 in 4 billion) just draws again
            prefix = f"posbot_{secrets.token_hex(4)}"
            token = f"{prefix}_{secrets.token_urlsafe(32)}"
            try:
                with self.db.session() as s:
                    row = ApiKey(
                        name=name, prefix=prefix, key_hash=hash_token(token), scopes=ordered, created_at=utcnow()
                    )
                    s.add(row)
                    s.flush()
                    info = _info(row)
                return NewApiKey(info=info, token=token)
            except IntegrityError:
                continue
        raise RuntimeError("could not allocate a unique API key prefix")

    def list(self) -> list[ApiKeyInfo]:
        with self.db.session() as s:
            return [_info(r) for r in s.execute(select(ApiKey).order_by(ApiKey.id)).scalars()]

    def revoke(self, key_id: int) -> ApiKeyInfo:
        """Revoke a key (idempotent: the first revocation time stays)."""
        with self.db.session() as s:
            row = s.get(ApiKey, key_id)
            if row is None:
                raise ApiKeyNotFound(key_id)
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            return _info(row)

    def authenticate(self, token: str | None) -> ApiKeyInfo:
        """The key's info, or ApiKeyRejected with a loggable reason."""
        if not token:
            raise ApiKeyRejected("missing key")
        prefix = token_prefix(token)
        if prefix is None:
            raise ApiKeyRejected("malformed key")
        with self.db.session() as s:
            row = s.execute(select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()
            if row is None:
                raise ApiKeyRejected("unknown key", prefix)
            # Constant-time compare: the prefix is public, the rest must not leak by timing.
            if not hmac.compare_digest(row.key_hash, hash_token(token)):
                raise ApiKeyRejected("wrong secret", prefix)
            if row.revoked_at is not None:
                raise ApiKeyRejected("revoked key", prefix)
            return _info(row)

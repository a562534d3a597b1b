"""Staff accounts: roles and their scopes, argon2id passwords, server-side login sessions.

A session is a random 256-bit token in an HttpOnly cookie; the database keeps only its
SHA-256 (like API keys: the token is high-entropy, a plain hash is enough and a lookup is
one indexed query). Every request re-reads the session *and* its account, so logging out,
an expired session and a disabled account all stop working at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from bot.core.db import Database, utcnow
from bot.staff.models import StaffAccount, StaffSession

ROLES: tuple[str, ...] = ("viewer", "maintainer", "agent", "editor", "admin")

_VIEWER = ("tickets:read", "conversations:read", "faq:read", "field:read", "analytics:read")
_AGENT = _VIEWER + ("tickets:write", "conversations:write", "field:write")
_EDITOR = _AGENT + ("faq:write",)
ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "viewer": _VIEWER,
    # Field maintainers: their queue and its jobs, the tickets behind them read-only, no chats.
    "maintainer": ("tickets:read", "faq:read", "field:read", "field:write"),
    "agent": _AGENT,
    "editor": _EDITOR,
    "admin": _EDITOR + ("staff:admin",),
}
ROLE_LABELS = {"viewer": "只读", "maintainer": "维护人员", "agent": "客服", "editor": "知识库编辑", "admin": "管理员"}

USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
# Names records already use for non-people (ticket events, message authors).
RESERVED_USERNAMES = frozenset({"bot", "system", "staff", "api", "merchant", "admin-api"})
PASSWORD_MIN = 10
PASSWORD_MAX = 256  # argon2 takes any length; a cap keeps a login request from costing more than a hash

_hasher = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)
# Verified when the username is unknown, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class StaffError(ValueError):
    """A bad username, role or password given to create/disable (message for the CLI)."""


class StaffNotFound(LookupError):
    pass


class LoginFailed(Exception):
    """Wrong username or password, or a disabled account (the caller must not tell which)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # for the log only


@dataclass(frozen=True)
class StaffInfo:
    id: int
    username: str
    display_name: str
    role: str
    created_at: datetime
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def scopes(self) -> tuple[str, ...]:
        return ROLE_SCOPES.get(self.role, ())


@dataclass(frozen=True)
class StaffSessionInfo:
    account: StaffInfo
    expires_at: datetime


def _info(row: StaffAccount) -> StaffInfo:
    return StaffInfo(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise StaffError(f"password must be at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise StaffError(f"password must be at most {PASSWORD_MAX} characters")


class StaffStore:
    def __init__(self, db: Database, *, clock=utcnow):
        self.db = db
        self.clock = clock

    # --- accounts -----------------------------------------------------------------------

    def create(self, username: str, role: str, password: str, display_name: str | None = None) -> StaffInfo:
        username = username.strip().lower()
        if not USERNAME_RE.fullmatch(username):
            raise StaffError("username: 2-64 of a-z 0-9 . _ -, starting with a letter or digit")
        if username in RESERVED_USERNAMES:
            raise StaffError(f"username {username!r} is reserved")
        if role not in ROLES:
            raise StaffError(f"role must be one of {', '.join(ROLES)}")
        check_password(password)
        display_name = (display_name or "").strip() or username
        if len(display_name) > 100:
            raise StaffError("display name must be at most 100 characters")
        try:
            with self.db.session() as s:
                row = StaffAccount(
                    username=username,
                    display_name=display_name,
                    role=role,
                    password_hash=_hasher.hash(password),
                    created_at=self.clock(),
                )
                s.add(row)
                s.flush()
                return _info(row)
        except IntegrityError:
            raise StaffError(f"an account named {username!r} already exists") from None

    def get(self, username: str) -> StaffInfo:
        with self.db.session() as s:
            row = self._row(s, username)
            return _info(row)

    def list(self) -> list[StaffInfo]:
        with self.db.session() as s:
            return [_info(r) for r in s.execute(select(StaffAccount).order_by(StaffAccount.username)).scalars()]

    def display_names(self) -> dict[str, str]:
        """username → display name of every account (disabled ones too: old records name them)."""
        with self.db.session() as s:
            return {u: d for u, d in s.execute(select(StaffAccount.username, StaffAccount.display_name))}

    def disable(self, username: str) -> StaffInfo:
        """Disable an account and end its sessions (idempotent: the first time stays)."""
        with self.db.session() as s:
            row = self._row(s, username)
            now = self.clock()
            if row.disabled_at is None:
                row.disabled_at = now
            s.execute(
                update(StaffSession)
                .where(StaffSession.account_id == row.id, StaffSession.ended_at.is_(None))
                .values(ended_at=now)
            )
            return _info(row)

    def enable(self, username: str) -> StaffInfo:
        with self.db.session() as s:
            row = self._row(s, username)
            row.disabled_at = None
            return _info(row)

    def set_password(self, username: str, password: str) -> StaffInfo:
        """New password; every existing session of the account ends."""
        check_password(password)
        with self.db.session() as s:
            row = self._row(s, username)
            row.password_hash = _hasher.hash(password)
            s.execute(
                update(StaffSession)
                .where(StaffSession.account_id == row.id, StaffSession.ended_at.is_(None))
                .values(ended_at=self.clock())
            )
            return _info(row)

    @staticmethod
    def _row(s, username: str) -> StaffAccount:
        row = s.execute(
            select(StaffAccount).where(StaffAccount.username == username.strip().lower())
        ).scalar_one_or_none()
        if row is None:
            raise StaffNotFound(username)
        return row

    # --- login and sessions -------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> StaffInfo:
        """The account if the password is right and it is enabled, else LoginFailed."""
        with self.db.session() as s:
            row = s.execute(
                select(StaffAccount).where(StaffAccount.username == (username or "").strip().lower())
            ).scalar_one_or_none()
            if row is None or len(password) > PASSWORD_MAX:
                try:
                    _hasher.verify(_DUMMY_HASH, password[:PASSWORD_MAX])
                except VerificationError:
                    pass
                raise LoginFailed("unknown user" if row is None else "password too long")
            try:
                _hasher.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                raise LoginFailed("wrong password") from None
            if row.disabled_at is not None:
                raise LoginFailed("disabled account")
            if _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = _hasher.hash(password)
            return _info(row)

    def start_session(self, account: StaffInfo, ttl: timedelta) -> tuple[str, StaffSessionInfo]:
        """A new session: (cookie token, shown once; session info)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.db.session() as s:
            # Housekeeping on the rare path: rows of sessions that expired a day ago go.
            s.execute(delete(StaffSession).where(StaffSession.expires_at < now - timedelta(days=1)))
            s.add(
                StaffSession(token_hash=hash_token(token), account_id=account.id, created_at=now, expires_at=now + ttl)
            )
        return token, StaffSessionInfo(account=account, expires_at=now + ttl)

    def session(self, token: str | None) -> StaffSessionInfo | None:
        """The live session of ``token``: not ended, not expired, account enabled; else None."""
        if not token or len(token) > 100:
            return None
        now = self.clock()
        with self.db.session() as s:
            found = s.execute(
                select(StaffSession, StaffAccount)
                .join(StaffAccount, StaffAccount.id == StaffSession.account_id)
                .where(StaffSession.token_hash == hash_token(token))
            ).one_or_none()
            if found is None:
                return None
            sess, account = found
            if sess.ended_at is not None or sess.expires_at <= now or account.disabled_at is not None:
                return None
            return StaffSessionInfo(account=_info(account), expires_at=sess.expires_at)

    def end_session(self, token: str | None) -> None:
        if not token:
            return
        with self.db.session() as s:
            s.execute(
                update(StaffSession)
                .where(StaffSession.token_hash == hash_token(token), StaffSession.ended_at.is_(None))
                .values(ended_at=self.clock())
            )

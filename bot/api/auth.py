"""Authentication of the internal REST API: API keys (machines) and staff sessions (people).

Usage in a router::

    @router.get("/api/faq", dependencies=[Depends(require_scope("faq:read"))])
    def search(...): ...

    # or, to know who called:
    def patch(..., caller: Annotated[Caller, Depends(require_scope("tickets:write"))]): ...

A request is authenticated by, in this order:

1. an API key in ``X-API-Key: <key>`` or ``Authorization: Bearer <key>`` (``posbot apikey``),
   checked against the database (``bot.api.deps.DbDep``); a key that is present but wrong is a
   401 even if a session cookie comes along;
2. the staff session cookie set by ``POST /api/staff/login`` (``bot.api.staff``): scopes come
   from the account's role (``bot.staff.accounts.ROLE_SCOPES``). A state-changing request
   with a cookie must come from the same origin (SameSite=Strict already stops browsers
   sending it cross-site; the Origin check is a second line).

Missing or invalid credentials → 401, valid ones without the scope → 403. Each rejection is
logged with method, path, reason and at most the key's public prefix or the username —
never a key, a password or a cookie.

The ready-made ``Annotated`` dependencies at the end (``TicketsRead``, ``FaqWrite``, ``AnyCaller``...)
are the ones routers use; each scope's is defined here once.

Scopes ``conversations:read`` / ``conversations:write`` guard the handoff conversations.
API keys created before they existed carry ``tickets:read`` / ``tickets:write``; for API keys
those still imply the conversation scopes, so machine integrations keep working.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from bot.api.deps import DbDep
from bot.api.errors import AUTH_STATUSES_ATTR
from bot.core.db import Database
from bot.staff.accounts import StaffInfo, StaffStore
from bot.tickets.apikeys import SCOPES, ApiKeyInfo, ApiKeyRejected, ApiKeyStore

log = logging.getLogger(__name__)

# auto_error=False: the dependency decides between 401 and 403 and logs every rejection.
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key (posbot apikey create)")
_bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token")

SESSION_COOKIE = "posbot_staff"
UNAUTHORIZED_MESSAGE = "缺少或无效的 API 密钥 / missing or invalid API key"
SESSION_EXPIRED_MESSAGE = "登录已失效，请重新登录 / staff session expired or ended, sign in again"
CROSS_ORIGIN_MESSAGE = "请求来源与本站不符 / cross-origin request refused"

# What an API key's old scope still grants (keys made before conversations had scopes).
KEY_IMPLIED_SCOPES = {"conversations:read": "tickets:read", "conversations:write": "tickets:write"}
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Caller:
    """Who makes the request: an API key or a signed-in staff account."""

    kind: Literal["api_key", "staff"]
    name: str  # key name, or the account's username
    display_name: str
    scopes: tuple[str, ...]
    key: ApiKeyInfo | None = None
    account: StaffInfo | None = None

    @property
    def prefix(self) -> str | None:
        return self.key.prefix if self.key else None

    @property
    def actor(self) -> str:
        """What ticket events and handoff records store: ``api:<key name>`` or the username."""
        return f"api:{self.name}" if self.kind == "api_key" else self.name

    def has_scope(self, scope: str) -> bool:
        if scope in self.scopes:
            return True
        implied = KEY_IMPLIED_SCOPES.get(scope)
        return self.kind == "api_key" and implied is not None and implied in self.scopes

    @classmethod
    def from_key(cls, key: ApiKeyInfo) -> Caller:
        return cls(kind="api_key", name=key.name, display_name=key.name, scopes=key.scopes, key=key)

    @classmethod
    def from_account(cls, account: StaffInfo) -> Caller:
        return cls(
            kind="staff",
            name=account.username,
            display_name=account.display_name,
            scopes=account.scopes,
            account=account,
        )


def _reject(request: Request, status_code: int, reason: str, who: str | None, message: str) -> HTTPException:
    log.warning(
        "API request rejected: %s %s -> %d (%s, key %s, client %s)",
        request.method,
        request.url.path,  # path only: a query string could carry anything
        status_code,
        reason,
        who or "-",
        request.client.host if request.client else "-",
    )
    headers = {"WWW-Authenticate": "Bearer"} if status_code == status.HTTP_401_UNAUTHORIZED else None
    return HTTPException(status_code=status_code, detail=message, headers=headers)


def same_origin(request: Request) -> bool:
    """False when a browser says the request comes from another site (Origin / Referer)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return source != "null"
    host = request.headers.get("x-forwarded-host") or request.headers.get("host") or ""
    return urlsplit(source).netloc.lower() == host.split(",")[0].strip().lower()


def authenticate(request: Request, db: Database, token: str | None) -> Caller:
    """The caller of ``request`` (API key ``token`` first, then the session cookie), or 401."""
    if token:
        try:
            key = ApiKeyStore(db).authenticate(token)
        except ApiKeyRejected as exc:
            raise _reject(request, status.HTTP_401_UNAUTHORIZED, exc.reason, exc.prefix, UNAUTHORIZED_MESSAGE) from None
        request.state.api_key = key  # for access logs further down the stack
        return Caller.from_key(key)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise _reject(request, status.HTTP_401_UNAUTHORIZED, "missing key", None, UNAUTHORIZED_MESSAGE)
    session = StaffStore(db).session(cookie)
    if session is None:
        raise _reject(request, status.HTTP_401_UNAUTHORIZED, "dead session", None, SESSION_EXPIRED_MESSAGE)
    if request.method not in _SAFE_METHODS and not same_origin(request):
        raise _reject(
            request,
            status.HTTP_403_FORBIDDEN,
            "cross-origin",
            f"staff {session.account.username}",
            CROSS_ORIGIN_MESSAGE,
        )
    request.state.staff = session.account
    return Caller.from_account(session.account)


def require_scope(scope: str) -> Callable[..., Caller]:
    """Dependency factory: the Caller, if its credentials are valid and grant ``scope``."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; known: {', '.join(SCOPES)}")

    def dependency(
        request: Request,
        db: DbDep,
        x_api_key: Annotated[str | None, Security(_api_key_header)] = None,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    ) -> Caller:
        caller = authenticate(request, db, x_api_key or (bearer.credentials if bearer else None))
        if not caller.has_scope(scope):
            who = caller.prefix if caller.kind == "api_key" else f"staff {caller.name}"
            message = (
                f"API 密钥没有 {scope} 权限 / API key lacks scope {scope}"
                if caller.kind == "api_key"
                else f"您的账号没有 {scope} 权限 / your staff role lacks scope {scope}"
            )
            raise _reject(request, status.HTTP_403_FORBIDDEN, f"missing scope {scope}", who, message)
        return caller

    dependency.__name__ = f"require_scope_{scope.replace(':', '_')}"
    setattr(dependency, AUTH_STATUSES_ATTR, (401, 403))  # for the OpenAPI (bot.api.errors.document_errors)
    return dependency


def any_caller(
    request: Request,
    db: DbDep,
    x_api_key: Annotated[str | None, Security(_api_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> Caller:
    """Any valid API key or staff session, whatever its scopes."""
    return authenticate(request, db, x_api_key or (bearer.credentials if bearer else None))


# Any scope will do; a staff session's state-changing request may still be refused as cross-origin.
setattr(any_caller, AUTH_STATUSES_ATTR, lambda safe_method: (401,) if safe_method else (401, 403))


# Ready-made annotated dependencies.
TicketsRead = Annotated[Caller, Depends(require_scope("tickets:read"))]
TicketsWrite = Annotated[Caller, Depends(require_scope("tickets:write"))]
ConversationsRead = Annotated[Caller, Depends(require_scope("conversations:read"))]
ConversationsWrite = Annotated[Caller, Depends(require_scope("conversations:write"))]
StaffAdmin = Annotated[Caller, Depends(require_scope("staff:admin"))]
AnalyticsRead = Annotated[Caller, Depends(require_scope("analytics:read"))]
FaqRead = Annotated[Caller, Depends(require_scope("faq:read"))]
FaqWrite = Annotated[Caller, Depends(require_scope("faq:write"))]
FieldRead = Annotated[Caller, Depends(require_scope("field:read"))]
FieldWrite = Annotated[Caller, Depends(require_scope("field:write"))]
AnyCaller = Annotated[Caller, Depends(any_caller)]

__all__ = [
    "AnalyticsRead",
    "AnyCaller",
    "ApiKeyInfo",
    "Caller",
    "ConversationsRead",
    "ConversationsWrite",
    "FaqRead",
    "FaqWrite",
    "FieldRead",
    "FieldWrite",
    "SCOPES",
    "SESSION_COOKIE",
    "StaffAdmin",
    "TicketsRead",
    "TicketsWrite",
    "require_scope",
]

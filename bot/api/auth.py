"""API-key authentication for the internal REST API.

Usage in a router::

    @router.get("/api/faq", dependencies=[Depends(require_scope("faq:read"))])
    def search(...): ...

    # or, to know who called:
    def patch(..., key: Annotated[ApiKeyInfo, Depends(require_scope("tickets:write"))]): ...

The key comes from ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``; keys are
checked against the database at ``request.app.state.services.db``. Missing or invalid
key → 401, valid key without the scope → 403. Each rejection is logged with method,
path, reason and at most the key's public prefix — never the key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from bot.tickets.apikeys import SCOPES, ApiKeyInfo, ApiKeyRejected, ApiKeyStore

log = logging.getLogger(__name__)

# auto_error=False: the dependency decides between 401 and 403 and logs every rejection.
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key (posbot apikey create)")
_bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token")

UNAUTHORIZED_MESSAGE = "缺少或无效的 API 密钥 / missing or invalid API key"


def _reject(request: Request, status_code: int, reason: str, prefix: str | None, message: str) -> HTTPException:
    log.warning(
        "API request rejected: %s %s -> %d (%s, key %s, client %s)",
        request.method,
        request.url.path,  # path only: a query string could carry anything
        status_code,
        reason,
        prefix or "-",
        request.client.host if request.client else "-",
    )
    headers = {"WWW-Authenticate": "Bearer"} if status_code == status.HTTP_401_UNAUTHORIZED else None
    return HTTPException(status_code=status_code, detail=message, headers=headers)


def require_scope(scope: str) -> Callable[..., ApiKeyInfo]:
    """Dependency factory: the calling key's ApiKeyInfo, if it is valid and has ``scope``."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; known: {', '.join(SCOPES)}")

    def dependency(
        request: Request,
        x_api_key: Annotated[str | None, Security(_api_key_header)] = None,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    ) -> ApiKeyInfo:
        token = x_api_key or (bearer.credentials if bearer else None)
        store = ApiKeyStore(request.app.state.services.db)
        try:
            key = store.authenticate(token)
        except ApiKeyRejected as exc:
            raise _reject(request, status.HTTP_401_UNAUTHORIZED, exc.reason, exc.prefix, UNAUTHORIZED_MESSAGE) from None
        if not key.has_scope(scope):
            raise _reject(
                request,
                status.HTTP_403_FORBIDDEN,
                f"missing scope {scope}",
                key.prefix,
                f"API 密钥没有 {scope} 权限 / API key lacks scope {scope}",
            )
        request.state.api_key = key  # for access logs further down the stack
        return key

    dependency.__name__ = f"require_scope_{scope.replace(':', '_')}"
    return dependency


# Ready-made annotated dependencies for the ticket endpoints.
TicketsRead = Annotated[ApiKeyInfo, Depends(require_scope("tickets:read"))]
TicketsWrite = Annotated[ApiKeyInfo, Depends(require_scope("tickets:write"))]

__all__ = ["ApiKeyInfo", "SCOPES", "TicketsRead", "TicketsWrite", "require_scope"]

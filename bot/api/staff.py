"""The staff workspace's own API: sign in and out, who am I, labels, the handoff queue.

* ``POST /api/staff/login`` checks username + password (argon2id) and sets the session
  cookie (HttpOnly, SameSite=Strict, Secure over https or when ``staff_cookie_secure``);
  wrong credentials and disabled accounts get the same 401, repeated failures a 429.
* ``POST /api/staff/logout`` ends the session server-side and clears the cookie.
* ``GET /api/staff/me`` is the signed-in account (401 when the session is gone).
* ``GET /api/staff/labels``: every code → Chinese label the page shows (statuses,
  categories, fields from bot/vocabulary.py, transitions from bot/tickets/states.py, FAQ
  categories...), so the page (static/staff/labels.js) keeps no copies that could disagree with the server.
* ``GET /api/staff/queue``: conversations waiting for a person, one row each.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, Security, status
from pydantic import BaseModel, ConfigDict, Field

from bot.api.auth import (
    SESSION_COOKIE,
    Caller,
    ConversationsRead,
    _api_key_header,
    _bearer,
    authenticate,
    same_origin,
)
from bot.conversations.schemas import QueueItem
from bot.masking import mask_id
from bot.staff.accounts import PASSWORD_MAX, ROLE_LABELS, LoginFailed, StaffInfo, StaffStore

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/staff", tags=["staff"])

LOGIN_FAILED_MESSAGE = "用户名或密码不正确 / wrong username or password"
TOO_MANY_MESSAGE = "登录失败次数太多，请 15 分钟后再试 / too many failed logins, try again in 15 minutes"
FAILURE_WINDOW_S = 15 * 60


class _Failures:
    """Failed logins per key in a sliding window (in-process; each app instance counts its own)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def count(self, key: str) -> int:
        now = time.monotonic()
        with self._lock:
            q = self._seen.get(key)
            while q and now - q[0] > FAILURE_WINDOW_S:
                q.popleft()
            if q is not None and not q:
                del self._seen[key]
            return len(q) if q else 0

    def add(self, key: str) -> None:
        with self._lock:
            self._seen.setdefault(key, deque(maxlen=1000)).append(time.monotonic())

    def clear(self, key: str) -> None:
        with self._lock:
            self._seen.pop(key, None)


def _failures(request: Request) -> _Failures:
    app = request.app
    if not hasattr(app.state, "staff_login_failures"):
        app.state.staff_login_failures = _Failures()
    return app.state.staff_login_failures


def _settings(request: Request):
    return getattr(request.app.state.services, "settings", None)


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(..., min_length=1, max_length=64)
    password: str = Field(..., min_length=1, max_length=PASSWORD_MAX)


class Me(BaseModel):
    username: str
    display_name: str
    role: str
    role_label: str
    scopes: list[str]
    expires_at: datetime | None = Field(None, description="When this login ends (staff sessions only).")
    kind: str = Field("staff", description="staff (signed in) or api_key (a machine's key).")


def _me(account: StaffInfo, expires_at: datetime | None) -> Me:
    return Me(
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        role_label=ROLE_LABELS.get(account.role, ""),
        scopes=list(account.scopes),
        expires_at=expires_at,
    )


def _secure(request: Request) -> bool:
    settings = _settings(request)
    configured = getattr(settings, "staff_cookie_secure", None)
    if configured is not None:
        return bool(configured)
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or proto == "https"


@router.post(
    "/login",
    response_model=Me,
    responses={
        401: {"description": "Wrong username or password, or a disabled account"},
        429: {"description": "Too many failures"},
    },
)
def login(body: LoginIn, request: Request, response: Response) -> Me:
    if not same_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "请求来源与本站不符 / cross-origin request refused")
    settings = _settings(request)
    limit = getattr(settings, "staff_login_max_failures", 10)
    username = body.username.strip().lower()
    client = request.client.host if request.client else "-"
    failures = _failures(request)
    keys = (f"user:{username}", f"ip:{client}")
    if any(failures.count(k) >= limit for k in keys):
        log.warning("staff login refused: too many failures (user %s, client %s)", username, client)
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, TOO_MANY_MESSAGE, headers={"Retry-After": "900"})
    store = StaffStore(request.app.state.services.db)
    try:
        account = store.authenticate(username, body.password)
    except LoginFailed as exc:
        for k in keys:
            failures.add(k)
        log.warning("staff login failed: %s (user %s, client %s)", exc.reason, username, client)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, LOGIN_FAILED_MESSAGE) from None
    failures.clear(f"user:{username}")
    hours = getattr(settings, "staff_session_hours", 12)
    token, session = store.start_session(account, timedelta(hours=hours))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(hours * 3600),
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.headers["Cache-Control"] = "no-store"
    log.info("staff login: %s (%s) from %s", account.username, account.role, client)
    return _me(account, session.expires_at)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def logout(request: Request) -> Response:
    """Ends this browser's session (idempotent; no session is fine)."""
    if not same_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "请求来源与本站不符 / cross-origin request refused")
    StaffStore(request.app.state.services.db).end_session(request.cookies.get(SESSION_COOKIE))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return response


def any_caller(
    request: Request,
    x_api_key: Annotated[str | None, Security(_api_key_header)] = None,
    bearer=Security(_bearer),
) -> Caller:
    """Any valid API key or staff session, whatever its scopes."""
    return authenticate(request, x_api_key or (bearer.credentials if bearer else None))


AnyCaller = Annotated[Caller, Depends(any_caller)]


@router.get("/me", response_model=Me, responses={401: {"description": "Not signed in"}})
def me(request: Request, caller: AnyCaller) -> Me:
    if caller.account is not None:
        session = StaffStore(request.app.state.services.db).session(request.cookies.get(SESSION_COOKIE))
        return _me(caller.account, session.expires_at if session else None)
    return Me(
        username=caller.name,
        display_name=caller.display_name,
        role="",
        role_label="API 密钥",
        scopes=list(caller.scopes),
        kind="api_key",
    )


def staff_labels(request: Request) -> dict:
    from bot import vocabulary as v
    from bot.analytics.clusters import REASON_LABELS as UNANSWERED_REASON_LABELS
    from bot.faq.kb import CATEGORY_LABELS as FAQ_CATEGORY_LABELS
    from bot.faq.kb import SUBCATEGORY_LABELS
    from bot.field.catalog import LABELS as CATALOG_LABELS
    from bot.field.when import HALF_LABELS
    from bot.tickets import states

    return {
        "status": v.STATUS_LABELS,
        "category": v.CATEGORY_LABELS,
        "priority": v.PRIORITY_LABELS,
        "channel": v.CHANNEL_LABELS,
        "event": v.EVENT_LABELS,
        "field": v.TICKET_FIELD_LABELS,
        # Every status a ticket may move to from each status (bot/tickets/states.py TRANSITIONS).
        "transitions": {s.value: list(states.allowed_targets(s)) for s in states.Status},
        "faq_category": FAQ_CATEGORY_LABELS,
        "faq_subcategory": SUBCATEGORY_LABELS,
        "handoff_reason": v.HANDOFF_REASON_LABELS,
        "decision": v.FAQ_DECISION_LABELS,
        "match": v.MATCH_LABELS,
        "unanswered_reason": UNANSWERED_REASON_LABELS,
        "staff_role": ROLE_LABELS,
        # Field service (bot/field): job kinds, catalogue items, half-days, delivery methods.
        "field_kind": v.FIELD_KIND_LABELS,
        "field_item": CATALOG_LABELS,
        "half_day": HALF_LABELS,
        "delivery_method": v.DELIVERY_LABELS,
        # username → display name, so records ("交还人", ticket events) name people, not accounts.
        "staff": StaffStore(request.app.state.services.db).display_names(),
    }


@router.get("/labels", summary="Chinese labels of every code the staff page shows")
def labels(request: Request, response: Response, _caller: AnyCaller) -> dict:
    response.headers["Cache-Control"] = "private, max-age=60"
    return staff_labels(request)


class QueueRow(QueueItem):
    merchant_id_masked: str | None = Field(None, description="8983****1234; the conversation shows it in full.")


class Queue(BaseModel):
    count: int
    items: list[QueueRow]


@router.get("/queue", response_model=Queue, summary="Conversations waiting for a person, longest first")
def queue(request: Request, _caller: ConversationsRead) -> Queue:
    services = request.app.state.services
    rows = []
    for item in services.conversations.handoff_queue(limit=200):
        merchant = None
        for t in services.tickets.list_for_conversation(item.conversation_id, limit=5):
            if t.merchant_id:
                merchant = t.merchant_id
                break
        rows.append(QueueRow(**item.model_dump(), merchant_id_masked=mask_id(merchant) if merchant else None))
    return Queue(count=len(rows), items=rows)

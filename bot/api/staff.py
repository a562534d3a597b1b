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
from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from bot import vocabulary as v
from bot.analytics.clusters import REASON_LABELS as UNANSWERED_REASON_LABELS
from bot.api.auth import SESSION_COOKIE, AnyCaller, ConversationsRead, same_origin
from bot.api.deps import DbDep, LoginFailuresDep, ServicesDep, SettingsDep
from bot.conversations.schemas import QueueItem
from bot.core.db import Database
from bot.core.settings import Settings
from bot.faq.kb import CATEGORY_LABELS as FAQ_CATEGORY_LABELS
from bot.faq.kb import SUBCATEGORY_LABELS
from bot.field.catalog import LABELS as CATALOG_LABELS
from bot.field.when import HALF_LABELS
from bot.masking import mask_id, mask_phone
from bot.staff.accounts import PASSWORD_MAX, ROLE_LABELS, LoginFailed, StaffInfo, StaffStore
from bot.tickets import states

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/staff", tags=["staff"])

LOGIN_FAILED_MESSAGE = "用户名或密码不正确 / wrong username or password"
# "15 minutes" is the window of bot.api.ratelimit.LoginFailures (LOGIN_FAILURE_WINDOW_S).
TOO_MANY_MESSAGE = "登录失败次数太多，请 15 分钟后再试 / too many failed logins, try again in 15 minutes"


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


def _secure(request: Request, settings: Settings) -> bool:
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
def login(
    body: LoginIn,
    request: Request,
    response: Response,
    settings: SettingsDep,
    db: DbDep,
    failures: LoginFailuresDep,
) -> Me:
    if not same_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "请求来源与本站不符 / cross-origin request refused")
    limit = getattr(settings, "staff_login_max_failures", 10)
    username = body.username.strip().lower()
    client = request.client.host if request.client else "-"
    keys = (f"user:{username}", f"ip:{client}")
    if any(failures.count(k) >= limit for k in keys):
        log.warning("staff login refused: too many failures (user %s, client %s)", username, client)
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, TOO_MANY_MESSAGE, headers={"Retry-After": "900"})
    store = StaffStore(db)
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
        secure=_secure(request, settings),
    )
    response.headers["Cache-Control"] = "no-store"
    log.info("staff login: %s (%s) from %s", account.username, account.role, client)
    return _me(account, session.expires_at)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def logout(request: Request, settings: SettingsDep, db: DbDep) -> Response:
    """Ends this browser's session (idempotent; no session is fine)."""
    if not same_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "请求来源与本站不符 / cross-origin request refused")
    StaffStore(db).end_session(request.cookies.get(SESSION_COOKIE))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request, settings)
    )
    return response


@router.get("/me", response_model=Me, responses={401: {"description": "Not signed in"}})
def me(request: Request, caller: AnyCaller, db: DbDep) -> Me:
    if caller.account is not None:
        session = StaffStore(db).session(request.cookies.get(SESSION_COOKIE))
        return _me(caller.account, session.expires_at if session else None)
    return Me(
        username=caller.name,
        display_name=caller.display_name,
        role="",
        role_label="API 密钥",
        scopes=list(caller.scopes),
        kind="api_key",
    )


def staff_labels(db: Database) -> dict:
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
        "staff": StaffStore(db).display_names(),
    }


@router.get("/labels", summary="Chinese labels of every code the staff page shows")
def labels(response: Response, _caller: AnyCaller, db: DbDep) -> dict:
    response.headers["Cache-Control"] = "private, max-age=60"
    return staff_labels(db)


class QueueRow(QueueItem):
    merchant_id_masked: str | None = Field(None, description="8983****1234; the conversation shows it in full.")
    contact_phone_masked: str | None = Field(None, description="138****5678, from the conversation's latest ticket.")


class Queue(BaseModel):
    count: int
    items: list[QueueRow]


@router.get("/queue", response_model=Queue, summary="Conversations waiting for a person, longest first")
def queue(_caller: ConversationsRead, services: ServicesDep) -> Queue:
    rows = []
    for item in services.conversations.handoff_queue(limit=200):
        merchant = phone = None
        for t in services.tickets.list_for_conversation(item.conversation_id, limit=5):  # newest first
            merchant = merchant or t.merchant_id
            phone = phone or t.contact_phone
            if merchant and phone:
                break
        rows.append(
            QueueRow(
                **item.model_dump(),
                merchant_id_masked=mask_id(merchant) if merchant else None,
                contact_phone_masked=mask_phone(phone) if phone else None,
            )
        )
    return Queue(count=len(rows), items=rows)

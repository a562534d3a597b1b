"""Health endpoint for operators, probes and `make run`'s readiness wait.

Anyone gets ``{"status": "ok"}`` (200) or ``{"status": "degraded"}`` (503): enough for a load
balancer or Kubernetes probe. The details (Rasa version and model, database dialect, FAQ index
and its hash) tell an attacker exactly which versions run, so they need an API key
(``X-API-Key`` or ``Authorization: Bearer``; every key has a scope) or the session of a signed-in
staff account with scope ``staff:admin`` (role admin: the people who run the service; agents and
editors get the public answer).
"""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from bot.api.auth import SESSION_COOKIE, UNAUTHORIZED_MESSAGE
from bot.api.deps import RasaDep, ServicesDep
from bot.api.ratelimit import api_key_of
from bot.core.db import Database
from bot.staff.accounts import StaffStore
from bot.tickets.apikeys import ApiKeyRejected, ApiKeyStore

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: str = Field(..., description="ok | degraded")
    rasa: dict | None = Field(
        None, description="With an API key or an admin session: reachability, version, loaded model."
    )
    database: dict | None = Field(None, description="With an API key: ok, dialect.")
    faq: dict | None = Field(None, description="With an API key: entries, encoder, index hash.")


DETAILS_STAFF_SCOPE = "staff:admin"


def _staff_may_see_details(request: Request, db: Database) -> bool:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return False
    try:
        session = StaffStore(db).session(cookie)
    except Exception:  # the database is down: no way to check the session, and the status says so
        return False
    return session is not None and DETAILS_STAFF_SCOPE in session.account.scopes


def _caller_may_see_details(request: Request, db: Database) -> bool:
    token = api_key_of({k.lower(): v for k, v in request.headers.raw})
    if token is None:
        return _staff_may_see_details(request, db)
    try:
        key = ApiKeyStore(db).authenticate(token)
    except ApiKeyRejected:
        raise HTTPException(401, UNAUTHORIZED_MESSAGE, headers={"WWW-Authenticate": "Bearer"}) from None
    except Exception:  # the database is down: no way to check a key, and the status says so
        return False
    return bool(key.scopes)


@router.get(
    "/healthz",
    response_model=HealthOut,
    response_model_exclude_none=True,
    responses={
        401: {"description": "An API key was sent and is invalid"},
        503: {"model": HealthOut, "description": "Rasa unreachable or without a model, or the database down"},
    },
)
async def healthz(request: Request, services: ServicesDep, rasa_client: RasaDep):
    """Can the app serve chat (Rasa reachable with a model, database up)? 200 yes, 503 no.

    Details only for callers with an API key or an admin's staff session.
    """
    details = await to_thread.run_sync(_caller_may_see_details, request, services.db)
    rasa = await rasa_client.status()
    db_ok = True
    try:
        with services.db.engine.connect() as c:
            c.execute(text("SELECT 1"))
    except Exception as e:  # report, never raise: this is the page operators look at when things break
        db_ok = False
        db_error = type(e).__name__
    status = "ok" if (rasa.get("reachable") and rasa.get("model_loaded") and db_ok) else "degraded"
    body: dict = {"status": status}
    if details:
        faq = services.faq
        body |= {
            "rasa": rasa,
            "database": {"ok": db_ok, "dialect": services.db.engine.dialect.name}
            | ({} if db_ok else {"error": db_error}),
            "faq": faq.status() if hasattr(faq, "status") else {"entries": len(faq.entries)},
        }
    return JSONResponse(status_code=200 if status == "ok" else 503, content=body)

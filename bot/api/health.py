"""Health endpoint for operators and `make run`'s readiness wait."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(request: Request):
    """App liveness plus Rasa reachability, loaded model, database and FAQ index state.

    HTTP 200 when the app can serve chat (Rasa reachable with a model, database up), else 503.
    """
    services = request.app.state.services
    rasa = await request.app.state.rasa.status()
    db_ok = True
    try:
        with services.db.engine.connect() as c:
            c.execute(text("SELECT 1"))
    except Exception as e:  # report, never raise: this is the page operators look at when things break
        db_ok = False
        db_error = type(e).__name__
    faq = services.faq
    body = {
        "status": "ok" if (rasa.get("reachable") and rasa.get("model_loaded") and db_ok) else "degraded",
        "rasa": rasa,
        "database": {"ok": db_ok, "dialect": services.db.engine.dialect.name} | ({} if db_ok else {"error": db_error}),
        "faq": faq.status() if hasattr(faq, "status") else {"entries": len(faq.entries)},
    }
    return JSONResponse(status_code=200 if body["status"] == "ok" else 503, content=body)

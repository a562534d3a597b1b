"""The custom-action endpoint Rasa calls (``action_endpoint`` in endpoints.yml).

Runs the ``actions`` package through rasa-sdk's own ActionExecutor, so actions are
ordinary rasa-sdk actions, but inside this process: they share the FAQ index and the
database pool with the HTTP API instead of loading them a second time.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionMissingDomainException, ActionNotFoundException

from bot.api.deps import ActionExecutorDep, SettingsDep
from bot.core.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter(tags=["rasa actions"])


_worker = threading.local()
_INVALID = object()  # the request body is not a JSON object


def _run_on_worker_loop(coro_factory):
    """Run a coroutine on this worker thread's own event loop, kept for the thread's life.

    anyio reuses its worker threads, so each keeps one loop instead of paying
    ``asyncio.run``'s set-up and tear-down (a new loop, its default executor) per call.
    """
    loop = getattr(_worker, "loop", None)
    if loop is None or loop.is_closed():
        loop = _worker.loop = asyncio.new_event_loop()
    return loop.run_until_complete(coro_factory())


def make_executor(package: str = "actions") -> ActionExecutor:
    executor = ActionExecutor()
    executor.register_package(package)
    return executor


def _check_token(request: Request, settings: Settings) -> None:
    expected = settings.rasa_token.get_secret_value()
    if not expected and settings.env == "production":
        log.error("action call refused: POSBOT_RASA_TOKEN is not set (required in production)")
        raise HTTPException(status_code=401, detail="invalid action endpoint token")
    if expected and not hmac.compare_digest(request.query_params.get("token", ""), expected):
        raise HTTPException(status_code=401, detail="invalid action endpoint token")


@router.post("/webhook", include_in_schema=False)
async def webhook(request: Request, settings: SettingsDep, executor: ActionExecutorDep):
    _check_token(request, settings)
    body = await request.body()

    def parse_and_run():
        # The body carries the conversation's tracker: parsing it is real work, done here
        # rather than on the event loop. Actions call synchronous services (SQL, the encoder);
        # this worker thread with its own loop keeps them from blocking chat requests.
        try:
            action_call = json.loads(body)
        except ValueError:
            return _INVALID
        if not isinstance(action_call, dict):
            return _INVALID
        return _run_on_worker_loop(lambda: executor.run(action_call))

    try:
        result = await to_thread.run_sync(parse_and_run)
        if result is _INVALID:
            return JSONResponse(status_code=400, content={"error": "Invalid body request"})
    except ActionExecutionRejection as e:
        return JSONResponse(status_code=400, content={"error": e.message, "action_name": e.action_name})
    except ActionNotFoundException as e:
        log.error("unknown action: %s", e.action_name)
        return JSONResponse(status_code=404, content={"error": e.message, "action_name": e.action_name})
    except ActionMissingDomainException as e:
        return JSONResponse(status_code=449, content={"error": e.message, "action_name": e.action_name})
    return JSONResponse(content=result.model_dump() if result else None)


@router.get("/actions", include_in_schema=False)
async def list_actions(settings: SettingsDep, executor: ActionExecutorDep):
    """The registered action names (development only: in production it is a 404)."""
    if settings.env == "production":
        raise HTTPException(status_code=404, detail="Not Found")
    return [{"name": name} for name in sorted(executor.actions)]

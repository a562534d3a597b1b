"""Schemathesis over the whole OpenAPI surface of the in-process app: no 5xx, and every response is
one the schema documents (status code, content type, body schema).

Internal routes are called with a key that has every scope (so the fuzzing reaches the endpoints,
not only the key check); the chat routes without a session token get their documented 401/403/422.
Examples per operation: POSBOT_FUZZ_EXAMPLES (default 20).
"""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from bot.tickets.apikeys import KEY_SCOPES as SCOPES

from .conftest import api_key

EXAMPLES = int(os.environ.get("POSBOT_FUZZ_EXAMPLES", "20"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def without_lifespan(app):
    """The app as ASGI with its lifespan acknowledged but not run: the test's services stay in place."""

    async def asgi(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await app(scope, receive, send)

    return asgi


def test_every_operation_answers_within_its_schema(make_app):
    app, _, services = make_app(rate_limits_enabled=False)
    key = api_key(services, SCOPES)
    schema = schemathesis.openapi.from_asgi("/openapi.json", without_lifespan(app))
    failures: list[str] = []
    tried = 0
    for result in schema.get_all_operations():
        op = result.ok()
        tried += 1

        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            headers = dict(case.headers or {})
            if case.path.startswith("/api/") and not case.path.startswith("/api/chat"):
                headers.update(key)
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as e:  # noqa: BLE001 - collected, reported together
            failures.append(f"{op.label}: {type(e).__name__}: {str(e)[:1500]}")
    assert tried >= 20
    assert not failures, "\n\n".join(failures)


def test_every_operation_documents_the_limits_answers(api):
    """413 and 429 come from middleware, before any route: the schema must still say so for each."""
    missing = [
        f"{method.upper()} {path}: {code}"
        for path, ops in api.app.openapi()["paths"].items()
        for method, op in ops.items()
        for code in ("413", "429")
        if code not in op["responses"]
    ]
    assert not missing, missing

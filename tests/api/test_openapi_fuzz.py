"""Schemathesis over the whole OpenAPI surface of the in-process app: no 5xx, and every response is
one the schema documents (status code, content type, body schema).

Internal routes are called with a key that has every scope (so the fuzzing reaches the endpoints,
not only the key check). The chat routes are fuzzed twice: without a session token (their
documented 401/403/422) and with a valid one, obtained as the widget does (``POST /api/chat/session``)
and with the request's sender id set to the session's, so the fuzzed text, titles, merchant
identities, update ids and ratings reach the chat code itself.
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


def fuzz(app, prepare, only=lambda path: True) -> dict[str, set[int]]:
    """Every operation whose path passes ``only``, ``EXAMPLES`` cases each; ``prepare(case, headers)``
    adjusts a case before it is sent. Returns the status codes seen per operation; fails with every failure."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", without_lifespan(app))
    failures: list[str] = []
    seen: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        op = result.ok()
        if not only(op.path):
            continue
        statuses = seen.setdefault(op.label, set())

        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            headers = dict(case.headers or {})
            prepare(case, headers)
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses.add(response.status_code)  # noqa: B023 - run() is called in this iteration

        try:
            run()
        except Exception as e:  # noqa: BLE001 - collected, reported together
            failures.append(f"{op.label}: {type(e).__name__}: {str(e)[:1500]}")
    assert not failures, "\n\n".join(failures)
    return seen


def test_every_operation_answers_within_its_schema(make_app):
    app, _, services = make_app(rate_limits_enabled=False)
    key = api_key(services, SCOPES)

    def with_key(case, headers):
        if case.path.startswith("/api/") and not case.path.startswith("/api/chat"):
            headers.update(key)

    assert len(fuzz(app, with_key)) >= 20


def test_chat_operations_with_a_session_token_answer_within_their_schema(make_app):
    app, client, _ = make_app(rate_limits_enabled=False)
    r = client.post("/api/chat/session")
    assert r.status_code == 200, r.text
    sid, token = r.json()["sender_id"], r.json()["token"]

    def with_session(case, headers):
        # The session's own sender id wherever the request names one: a mismatch would stop at the 403.
        if isinstance(case.body, dict) and "sender_id" in case.body:
            case.body["sender_id"] = sid
        if case.query and "sender_id" in case.query:
            case.query["sender_id"] = sid
        headers["Authorization"] = f"Bearer {token}"

    chat_routes = lambda path: path.startswith("/api/chat") and path != "/api/chat/session"  # noqa: E731
    seen = fuzz(app, with_session, chat_routes)
    assert len(seen) >= 5, seen
    # Past the session check: the fuzzed requests were served, not only refused at the door.
    assert not [label for label, codes in seen.items() if codes <= {401, 403}], seen
    for label in ("POST /api/chat", "GET /api/chat/updates", "POST /api/chat/updates/ack"):
        assert 200 in seen[label], seen


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

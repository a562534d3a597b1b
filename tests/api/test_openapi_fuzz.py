"""Schemathesis over the whole OpenAPI surface of the in-process app: no 5xx, no hang, and every
response is one the schema documents (status code, content type, body schema); every error has the
one error shape (``detail``, ``message``, ``code``: bot.api.errors).

Internal routes are called with a key that has every scope (so the fuzzing reaches the endpoints,
not only the key check). The chat routes are fuzzed twice: without a session token (their
documented 401/403/422) and with a valid one, obtained as the widget does (``POST /api/chat/session``)
and with the request's sender id set to the session's, so the fuzzed text, titles, merchant
identities, update ids and ratings reach the chat code itself.
A third pass sends no credentials at all: every route must then answer a documented refusal.
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
HANG_S = 10.0  # in process, on a quiet machine every answer takes milliseconds: this is a hang


def one_error_shape(ctx, response, case):
    """Every 4xx/5xx is JSON with a ``detail``, a one-sentence ``message`` and a ``code``."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"{response.status_code} is not JSON: {response.text[:200]!r}") from None
    if not (isinstance(body, dict) and body.get("detail") and isinstance(body.get("message"), str)):
        raise AssertionError(f"{response.status_code} without detail and message: {response.text[:200]}")
    if not (isinstance(body.get("code"), str) and body["code"]):
        raise AssertionError(f"{response.status_code} without a code: {response.text[:200]}")
    return None


def answers_in_time(ctx, response, case):
    if response.elapsed > HANG_S:
        raise AssertionError(f"answered after {response.elapsed:.1f}s")
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    one_error_shape,
    answers_in_time,
]


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


def test_every_operation_without_credentials_answers_a_documented_refusal(make_app):
    """No key, no session token, no cookie: each route refuses (or serves, if public) as its schema says."""
    app, _, _ = make_app(rate_limits_enabled=False)
    seen = fuzz(app, lambda case, headers: None)
    internal = {label for label in seen if label.split(" ", 1)[1].startswith("/api/") and "/api/chat" not in label}
    public = {"POST /api/staff/login", "POST /api/staff/logout"}
    assert len(internal) >= 20, sorted(seen)
    # Every keyed route answered 401 to every case that got past the request's own validation.
    served = sorted(label for label in internal - public if seen[label] - {401, 413, 422})
    assert not served, {label: seen[label] for label in served}


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

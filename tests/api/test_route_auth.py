"""Every internal route, found in the app's own OpenAPI, refuses callers without the right key.

Internal routes are those under /api/ except the web chat's (/api/chat, session tokens) and
staff sign-in/sign-out (a password is the credential there: tests/staff). For
each operation the test sends no key, a malformed key, an unknown well-formed key (header and
bearer), a revoked key (all 401), then one key per scope: the keys with the route's scope get
past the check, every other key gets 403, and at least one key must be refused that way. A new
internal route without ``require_scope`` fails here.
"""

from __future__ import annotations

import re

import pytest

from bot.tickets.apikeys import KEY_SCOPES as SCOPES
from bot.tickets.apikeys import ApiKeyStore

INTERNAL = re.compile(r"^/api/(?!chat(/|$))")
# Signing in and out is open to anyone by design (a password, not a key, is the credential).
PUBLIC = {"/api/staff/login", "/api/staff/logout"}
# Any signed-in caller, whatever its scopes: who am I, and the labels every console tab needs.
ANY_SCOPE = {"/api/staff/me", "/api/staff/labels"}
SAMPLE = {"number": "GD20250101-ABCDEF", "conv_id": "web:abc", "message_id": "1", "attachment_id": "1", "code": "51"}


def _operations(app) -> list[tuple[str, str]]:
    schema = app.openapi()
    return sorted(
        (method.upper(), path)
        for path, ops in schema["paths"].items()
        if INTERNAL.match(path) and path not in PUBLIC
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    )


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE.get(m.group(1), "x1"), path)


@pytest.fixture
def keys(api):
    store = ApiKeyStore(api.services.db)
    revoked = store.create("old", list(SCOPES))
    store.revoke(revoked.info.id)
    return {"revoked": revoked.token, **{scope: store.create(f"only-{scope}", [scope]).token for scope in SCOPES}}


def test_the_openapi_lists_the_internal_routes(api):
    ops = _operations(api.app)
    paths = {p for _, p in ops}
    assert {"/api/tickets", "/api/faq/search", "/api/conversations/{conv_id}", "/api/deliveries"} <= paths, paths
    assert len(ops) >= 15


def _send(client, method, url, headers):
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return client.request(method, url, headers=headers, **body)


def test_every_internal_route_refuses_missing_and_bad_keys(api, keys):
    failures = []
    for method, path in _operations(api.app):
        url = _url(path)
        for name, headers in [
            ("no key", {}),
            ("malformed key", {"X-API-Key": "not-a-key"}),
            ("unknown key", {"X-API-Key": "posbot_deadbeef_" + "A" * 43}),
            ("unknown bearer", {"Authorization": "Bearer posbot_deadbeef_" + "A" * 43}),
            ("revoked key", {"X-API-Key": keys["revoked"]}),
        ]:
            r = _send(api.client, method, url, headers)
            if r.status_code != 401 or not r.json().get("detail") or r.json().get("code") != "unauthorized":
                failures.append(f"{method} {url} with {name}: {r.status_code} {r.text[:120]}")
    assert not failures, "\n".join(failures)


def test_every_internal_route_refuses_keys_without_its_scope(api, keys):
    failures = []
    for method, path in _operations(api.app):
        if path in ANY_SCOPE:
            continue
        url = _url(path)
        passed, refused = [], []
        for scope in SCOPES:
            r = _send(api.client, method, url, {"X-API-Key": keys[scope]})
            if r.status_code == 403:
                refused.append(scope)
                if r.json().get("code") != "forbidden":
                    failures.append(f"{method} {url}: 403 with code {r.json().get('code')!r}")
                if scope_name(r) is None:
                    failures.append(f"{method} {url}: 403 does not name the missing scope: {r.text[:120]}")
            elif r.status_code == 401:
                failures.append(f"{method} {url} with a valid {scope} key: 401")
            else:
                passed.append(scope)
                if r.status_code >= 500:
                    failures.append(f"{method} {url} with {scope}: {r.status_code}")
        if not passed:
            failures.append(f"{method} {url}: no single scope gets past the check")
        if not refused:
            failures.append(f"{method} {url}: every key gets past the check (no require_scope?)")
    assert not failures, "\n".join(failures)


def test_every_internal_route_documents_its_refusals_in_the_one_error_shape(api):
    schema = api.app.openapi()
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    required = set(schema["components"]["schemas"]["ErrorOut"]["required"])
    assert required == {"detail", "message", "code"}, required
    failures = []
    for method, path in _operations(api.app):
        responses = schema["paths"][path][method.lower()]["responses"]
        expected = {"401"} if path in ANY_SCOPE and method == "GET" else {"401", "403"}
        if missing := expected - set(responses):
            failures.append(f"{method} {path}: {sorted(missing)} not documented")
        for status in expected & set(responses):
            if responses[status].get("content") != error:
                failures.append(f"{method} {path}: {status} is not an ErrorOut")
    assert not failures, "\n".join(failures)


def scope_name(r) -> str | None:
    m = re.search(r"lacks scope (\S+)", r.json().get("detail", ""))
    return m.group(1) if m else None

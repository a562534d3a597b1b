"""What the app shows to whom: health details, API docs, the action list, security headers."""

from __future__ import annotations

import pytest

from .conftest import api_key, browser


def test_health_says_only_ok_to_anyone(api):
    r = api.client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert "3.6" not in r.text and "sqlite" not in r.text


def test_health_says_only_degraded_to_anyone_when_rasa_is_down(api):
    api.app.state.rasa.up = False
    r = api.client.get("/healthz")
    assert r.status_code == 503
    assert r.json() == {"status": "degraded"}


@pytest.mark.parametrize("scopes", [["tickets:read"], ["faq:read"]])
def test_health_details_need_an_api_key(api, scopes):
    key = api_key(api.services, scopes)
    r = api.client.get("/healthz", headers=key)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["rasa"]["version"] == "3.6.21" and body["rasa"]["model_loaded"] is True
    assert body["database"] == {"ok": True, "dialect": "sqlite"}
    assert body["faq"]["kb_hash"]
    bearer = api.client.get("/healthz", headers={"Authorization": f"Bearer {key['X-API-Key']}"})
    assert bearer.json() == body


def staff_client(api, role: str):
    """A browser signed in to /staff with an account of ``role`` (cookie over https, as behind TLS)."""
    from fastapi.testclient import TestClient

    from bot.staff.accounts import StaffStore

    StaffStore(api.services.db).create(f"{role}-op", role, "correct horse battery")
    client = TestClient(api.app, base_url="https://posbot.test")
    r = client.post("/api/staff/login", json={"username": f"{role}-op", "password": "correct horse battery"})
    assert r.status_code == 200, r.text
    return client


def test_health_details_for_a_signed_in_admin(api):
    admin = staff_client(api, "admin")
    body = admin.get("/healthz").json()
    assert body["rasa"]["version"] == "3.6.21" and body["database"]["dialect"] == "sqlite"
    assert body["faq"]["kb_hash"]
    admin.post("/api/staff/logout")
    assert admin.get("/healthz").json() == {"status": "ok"}  # signed out: the public answer again


@pytest.mark.parametrize("role", ["viewer", "agent", "editor"])
def test_health_details_not_for_other_staff_roles(api, role):
    r = staff_client(api, role).get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_health_with_a_forged_staff_cookie_is_the_public_answer(api):
    from bot.api.auth import SESSION_COOKIE

    api.client.cookies.set(SESSION_COOKIE, "forged-session-token")
    assert api.client.get("/healthz").json() == {"status": "ok"}


def test_health_with_a_bad_key_is_401_not_details(api):
    r = api.client.get("/healthz", headers={"X-API-Key": "posbot_deadbeef_" + "x" * 43})
    assert r.status_code == 401
    assert "rasa" not in r.text


DOCS = ["/docs", "/redoc", "/openapi.json"]


def test_docs_are_open_in_development(api):
    for path in DOCS:
        assert api.client.get(path).status_code == 200, path
    assert api.client.get("/actions").status_code == 200


@pytest.mark.parametrize("overrides", [{"env": "production"}, {"expose_docs": False}])
def test_docs_are_off_in_production(make_app, overrides):
    _, client, _ = make_app(**overrides)
    for path in DOCS:
        assert client.get(path).status_code == 404, path
    assert client.get("/healthz").status_code == 200  # the app itself still serves


def test_production_can_turn_docs_back_on(make_app):
    _, client, _ = make_app(env="production", expose_docs=True)
    assert client.get("/openapi.json").status_code == 200


def test_rasas_action_list_and_tokenless_action_calls_are_off_in_production(make_app):
    _, client, _ = make_app(env="production")
    assert client.get("/actions").status_code == 404
    r = client.post("/webhook", json={"next_action": "action_faq_answer", "tracker": {}, "domain": {}})
    assert r.status_code == 401
    _, client, _ = make_app(env="production", rasa_token="t0ken")
    assert client.post("/webhook?token=wrong", json={}).status_code == 401


def test_action_calls_with_the_token_still_work_in_production(make_app):
    _, client, _ = make_app(env="production", rasa_token="t0ken")
    r = client.post("/webhook?token=t0ken", content=b"[]", headers={"content-type": "application/json"})
    assert r.status_code == 400  # reached the executor: not an object


def test_pages_get_a_content_security_policy(api):
    for path in ["/", "/staff"]:
        r = api.client.get(path)
        assert r.status_code == 200
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "object-src 'none'" in csp
        assert "frame-ancestors 'self'" in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"


def test_api_responses_and_errors_get_the_headers(api):
    b = browser(api.client)
    for r in [
        b.updates(),
        api.client.get("/api/tickets"),  # 401
        api.client.post("/api/chat", content=b"x" * 70_000),  # 413 from the body limit
        api.client.get("/static/widget.js"),
    ]:
        assert r.headers["X-Content-Type-Options"] == "nosniff", r.request.url
        assert r.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'", r.request.url
        assert r.headers["Referrer-Policy"] == "no-referrer"


def test_the_chat_page_may_be_framed_by_the_embedding_origins(make_app):
    """docs/widget.md: the portal listed in cors_origins embeds the chat; it may also frame the page."""
    _, client, _ = make_app(cors_origins=["https://merchant-portal.example.com"])
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://merchant-portal.example.com" in csp
    _, client, _ = make_app(frame_ancestors=["'none'"])
    assert "frame-ancestors 'none'" in client.get("/").headers["Content-Security-Policy"]


def test_the_widget_script_stays_loadable_from_other_sites(make_app):
    """A host page loads widget.js and widget.css cross-origin: right types, no same-origin-only policy."""
    _, client, _ = make_app(cors_origins=["https://merchant-portal.example.com"])
    js = client.get("/static/widget.js", headers={"Origin": "https://merchant-portal.example.com"})
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "Cross-Origin-Resource-Policy" not in js.headers
    css = client.get("/static/widget.css")
    assert css.headers["content-type"].startswith("text/css")


def test_static_files_may_be_loaded_by_any_origin(make_app):
    """A host page on another origin imports the widget's ES modules (widget.js → widget/main.js → ...):
    browsers fetch module scripts in CORS mode, so the public static files allow every origin. A page
    listed in cors_origins gets its own origin back (CORSMiddleware), which a browser accepts as well."""
    _, client, _ = make_app(cors_origins=["https://merchant-portal.example.com"])
    for path in ["/static/widget.js", "/static/widget/main.js", "/static/staff/main.js", "/static/widget.css"]:
        r = client.get(path, headers={"Origin": "https://elsewhere.example.net"})
        assert r.status_code == 200, path
        assert r.headers["Access-Control-Allow-Origin"] == "*", path
        assert r.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'", path
        listed = client.get(path, headers={"Origin": "https://merchant-portal.example.com"})
        assert listed.headers["Access-Control-Allow-Origin"] in ("*", "https://merchant-portal.example.com"), path
    # Revalidated every time (a 304 when unchanged): a browser never mixes modules of two deploys.
    first = client.get("/static/widget/main.js")
    assert first.headers["Cache-Control"] == "no-cache"
    unchanged = client.get("/static/widget/main.js", headers={"If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304 and unchanged.headers["Access-Control-Allow-Origin"] == "*"
    # The API stays same-origin unless cors_origins lists the page.
    api = client.get("/api/chat/updates", headers={"Origin": "https://elsewhere.example.net"})
    assert "Access-Control-Allow-Origin" not in api.headers


def test_every_module_the_pages_import_is_served_as_javascript(api):
    """The browser resolves each ES module import against its importer's URL: every one must be a served
    JavaScript file (a typo would only show as a blank page in a browser)."""
    import re
    from pathlib import PurePosixPath

    from bot.core.app import STATIC_DIR

    imports = re.compile(r"""^\s*(?:import|export)\b[^;'"]*?['"](\.{1,2}/[^'"]+)['"]""", re.M)
    todo = ["/static/widget/main.js", "/static/staff/main.js"]
    seen: set[str] = set()
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        r = api.client.get(url)
        assert r.status_code == 200, url
        assert "javascript" in r.headers["content-type"], url
        base = PurePosixPath(url).parent
        for spec in imports.findall(r.text):
            parts: list[str] = []
            for part in (base / spec).parts:
                if part == "..":
                    parts.pop()
                elif part != ".":
                    parts.append(part)
            todo.append("/".join(parts).replace("//", "/"))
    served = {p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*.js") if "vendor" not in p.parts}
    reached = {u.removeprefix("/static/") for u in seen}
    assert served - {"widget.js"} <= reached, served - reached  # no module is left out of the two pages

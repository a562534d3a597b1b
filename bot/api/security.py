"""Security headers on every response (ASGI middleware, outside everything but CORS).

* HTML pages (``/``, ``/staff``): a Content-Security-Policy that allows only the app's own
  scripts, styles, images (plus ``data:``/``blob:`` images: photo previews) and API calls, and
  ``frame-ancestors`` from ``settings.effective_frame_ancestors`` (the app itself and the
  embedding origins of ``cors_origins`` unless ``frame_ancestors`` says otherwise).
  The widget is embedded with a ``<script>`` tag (docs/widget.md): a host page's own CSP
  governs it there, ours never does.
* Everything else (JSON, static files, errors): ``default-src 'none'; frame-ancestors 'none'``.
* All: ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer``.
* Static files (``/static``, :class:`PublicStaticFiles`): ``Access-Control-Allow-Origin: *``. They are
  public, and a host page on another origin loads the widget's ES modules (``widget/*.js``,
  loaded by the classic ``widget.js``), which browsers fetch in CORS mode. And
  ``Cache-Control: no-cache``: a browser revalidates each module (a 304 by its ETag) instead of
  guessing how long it stays fresh, so after a deploy it never runs new modules with old ones.

``/docs`` and ``/redoc`` (development only, see bot.core.settings ``env``) load Swagger UI / ReDoc
from a CDN with inline scripts: they get no CSP rather than a broken page.
"""

from __future__ import annotations

import os

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.core.settings import Settings

API_CSP = "default-src 'none'; frame-ancestors 'none'"
NO_CSP = ("/docs", "/redoc")


def page_csp(frame_ancestors: list[str]) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",  # style="" attributes and index.html's <style>
            "img-src 'self' data: blob:",
            "media-src 'self' blob:",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors " + " ".join(frame_ancestors),
        ]
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.page_policy = page_csp(settings.effective_frame_ancestors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        no_csp = any(path == p or path.startswith(p + "/") for p in NO_CSP)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                if not no_csp and "content-security-policy" not in headers:
                    html = headers.get("content-type", "").startswith("text/html")
                    headers["Content-Security-Policy"] = self.page_policy if html else API_CSP
            await send(message)

        await self.app(scope, receive, send_with_headers)


class PublicStaticFiles(StaticFiles):
    """``/static``: files anyone may load from any origin (no cookies are involved)."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Cache-Control"] = "no-cache"
        return response

"""Request body limits of the public chat endpoints, enforced before FastAPI reads a byte.

FastAPI parses a JSON body completely before any check in an endpoint runs, so a 10 MB
``title`` would be read, decoded and validated first. This ASGI middleware answers 413 as
soon as ``Content-Length`` says a body is too big, and buffers bodies sent without it
(chunked) only up to the limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# code, bilingual message for one path's limit
Refusal = Callable[[int], tuple[str, str]]


def too_large(limit: int) -> tuple[str, str]:
    return "too_large", f"请求内容太大了 / request body larger than {limit} bytes"


class BodyLimit:
    """``rules``: (path prefix, max bytes, refusal); the longest matching prefix wins."""

    def __init__(self, app: ASGIApp, rules: list[tuple[str, int, Refusal]]):
        self.app = app
        self.rules = sorted(rules, key=lambda r: -len(r[0]))

    def _rule(self, path: str):
        for prefix, limit, refusal in self.rules:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return limit, refusal
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = self._rule(scope.get("path", "")) if scope["type"] == "http" else None
        if rule is None:
            await self.app(scope, receive, send)
            return
        limit, refusal = rule
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            if length.isdigit() and int(length) > limit:
                await self._refuse(send, *refusal(limit))
                return
            await self.app(scope, receive, send)  # the server stops reading at Content-Length
            return
        # No Content-Length (chunked): read up to the limit, then replay to the app.
        chunks: list[Message] = []
        size = 0
        while True:
            message = await receive()
            chunks.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > limit:
                await self._refuse(send, *refusal(limit))
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return chunks.pop(0) if chunks else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Send, code: str, message: str) -> None:
        body = json.dumps({"detail": message, "message": message, "code": code}, ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

"""Request body limits of every route, enforced before FastAPI reads a byte or checks a key.

FastAPI parses a JSON body completely before any check in an endpoint runs, so a 10 MB
``title`` would be read, decoded and validated first. This ASGI middleware answers 413 as
soon as ``Content-Length`` says a body is too big, and buffers bodies sent without it
(chunked) only up to the limit. Paths without a rule of their own get ``default``.

JSON bodies are also checked for text that is not valid Unicode: invalid UTF-8 bytes or an
unpaired surrogate escape (``"\\ud800"``), which Python's json accepts but no database,
log or encoder downstream can store. They get the usual 422 (validation_error) instead of a
500 further down.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# code, bilingual message for one path's limit
Refusal = Callable[[int], tuple[str, str]]


def too_large(limit: int) -> tuple[str, str]:
    return "too_large", f"请求内容太大了 / request body larger than {limit} bytes"


INVALID_UNICODE = "包含无效的字符（不是合法的 Unicode） / contains text that is not valid Unicode"


def _unicode_problem(value, loc: list) -> list | None:
    """The location of the first string (or key) that cannot be encoded as UTF-8, if any."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return loc
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            bad = _unicode_problem(k, loc + [k]) or _unicode_problem(v, loc + [k])
            if bad is not None:
                return [p.encode("utf-8", "replace").decode() if isinstance(p, str) else p for p in bad]
        return None
    if isinstance(value, list):
        for i, v in enumerate(value):
            bad = _unicode_problem(v, loc + [i])
            if bad is not None:
                return bad
    return None


def invalid_unicode(body: bytes) -> list | None:
    """``loc`` of invalid text in a JSON body; None when it is fine (or not JSON at all: FastAPI says so)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return ["body"]
    if "\\u" not in text:
        return None  # no escapes: decoded UTF-8 cannot hold a surrogate
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return _unicode_problem(data, ["body"])


def _is_json(headers: dict[bytes, bytes]) -> bool:
    ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return ctype == b"application/json" or ctype.endswith(b"+json")


class BodyLimit:
    """``rules``: (path prefix, max bytes, refusal); the longest matching prefix wins, else ``default``.

    ``unicode_exempt``: path prefixes whose JSON is not checked for invalid Unicode (Rasa's action
    calls: large trackers, from a trusted server, of texts that passed the chat's own check).
    """

    def __init__(
        self,
        app: ASGIApp,
        rules: list[tuple[str, int, Refusal]],
        default: tuple[int, Refusal] | None = None,
        unicode_exempt: tuple[str, ...] = (),
    ):
        self.app = app
        self.rules = sorted(rules, key=lambda r: -len(r[0]))
        self.default = default
        self.unicode_exempt = unicode_exempt

    @staticmethod
    def _under(path: str, prefix: str) -> bool:
        return path == prefix or path.startswith(prefix.rstrip("/") + "/")

    def _rule(self, path: str):
        for prefix, limit, refusal in self.rules:
            if self._under(path, prefix):
                return limit, refusal
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = self._rule(scope.get("path", "")) if scope["type"] == "http" else None
        if rule is None:
            await self.app(scope, receive, send)
            return
        limit, refusal = rule
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        check_text = _is_json(headers) and not any(self._under(scope["path"], p) for p in self.unicode_exempt)
        if length is not None:
            if length.isdigit() and int(length) > limit:
                await self._refuse(send, *refusal(limit))
                return
            if not check_text:
                await self.app(scope, receive, send)  # the server stops reading at Content-Length
                return
        # Read up to the limit (chunked bodies have no Content-Length), check, then replay to the app.
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
        if check_text:
            loc = invalid_unicode(b"".join(m.get("body", b"") for m in chunks if m["type"] == "http.request"))
            if loc is not None:
                await self._refuse_text(send, loc)
                return

        async def replay() -> Message:
            return chunks.pop(0) if chunks else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse_text(send: Send, loc: list) -> None:
        field = loc[-1] if len(loc) > 1 else "body"
        msg = f"{field}: {INVALID_UNICODE}"
        item = {"type": "invalid_unicode", "loc": loc, "field": field, "msg": msg}
        await BodyLimit._refuse(send, "validation_error", msg, status=422, detail=[item])

    @staticmethod
    async def _refuse(send: Send, code: str, message: str, *, status: int = 413, detail=None) -> None:
        content = {"detail": message if detail is None else detail, "message": message, "code": code}
        body = json.dumps(content, ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

"""A stand-in for the WeChat Official Account and WeCom server APIs, on 127.0.0.1, for the tests.

It follows the documented behaviour the app depends on, so the tests exercise our handling of it:

Official Account (``/cgi-bin/...`` on ``api.weixin.qq.com``):
- ``POST /cgi-bin/stable_token``: normal mode returns the current token while it has more than
  5 minutes left (then a new one; the old stays valid until it expires), ``force_refresh``
  issues a new token and invalidates the old one; wrong appid/secret → 40013/40125.
- ``GET /cgi-bin/token``: a new token on every call; the previous one stays valid 5 minutes.
- ``POST /cgi-bin/message/custom/send``: unknown token → 40001, expired → 42001; ``\\uXXXX`` in
  the body → 40033; no message from the follower within 48 hours → 45015; the quota of their
  last interaction (5 sends after a message, 3 within a minute after subscribe/menu click)
  used up → 45047; content over 2048 bytes → 45002; more than ``rate_limit`` sends per
  ``rate_window_s`` → 45011.

WeCom (``qyapi.weixin.qq.com``):
- ``GET /cgi-bin/gettoken``: the same token while valid, a new one after it expired.
- ``POST /cgi-bin/message/send``: 40014/42001 for bad/expired tokens, ``invaliduser`` (and
  81013 when nobody is valid) for userids outside the application, 45009 above 30 sends per
  member per minute, content truncated at 2048 bytes, ``enable_duplicate_check`` honoured.

Tests drive time (``advance``), interactions (``interact``), token invalidation and injected
errors (``fail_next``), and read what was delivered (``texts``).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MESSAGE_WINDOW_S = 48 * 3600
CONTENT_MAX_BYTES = 2048
WECOM_MEMBER_PER_MINUTE = 30


class TencentStandIn:
    def __init__(
        self,
        *,
        appid: str = "wxstandin0000001",
        secret: str = "standin-app-secret",
        corp_id: str = "wwstandincorp001",
        corp_secret: str = "standin-corp-secret",
        agent_id: int = 1000002,
        token_ttl_s: int = 7200,
        rate_limit: int = 1000,
        rate_window_s: float = 60.0,
    ):
        self.appid, self.secret = appid, secret
        self.corp_id, self.corp_secret, self.agent_id = corp_id, corp_secret, agent_id
        self.token_ttl_s = token_ttl_s
        self.rate_limit, self.rate_window_s = rate_limit, rate_window_s
        self.offset = 0.0
        self._lock = threading.RLock()
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (app: "wechat" | "wecom", expires_at)
        self.stable_current: str | None = None
        self.wecom_current: str | None = None
        self.interactions: dict[str, dict[str, float]] = {}
        self.wecom_users: set[str] = set()
        self.sent: list[dict[str, Any]] = []  # accepted sends, in order
        self.answers: list[dict[str, Any]] = []  # every send request and its errcode
        self.token_requests: Counter[str] = Counter()
        self.failures: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._send_times: list[float] = []
        self._wecom_sends: dict[str, list[float]] = defaultdict(list)
        self._wecom_recent: dict[str, float] = {}
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, payload: dict[str, Any], status: int = 200) -> None:
                body = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _route(self, method: str) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else b""
                handler = {
                    ("POST", "/cgi-bin/stable_token"): standin._stable_token,
                    ("GET", "/cgi-bin/token"): standin._classic_token,
                    ("POST", "/cgi-bin/message/custom/send"): standin._custom_send,
                    ("GET", "/cgi-bin/gettoken"): standin._wecom_token,
                    ("POST", "/cgi-bin/message/send"): standin._wecom_send,
                }.get((method, parts.path))
                if handler is None:
                    return self._reply({"errcode": 404, "errmsg": "not found"}, 404)
                with standin._lock:
                    injected = standin.failures.get(parts.path)
                    if injected:
                        return self._reply(injected.pop(0))
                    self._reply(handler(query, raw))

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- lifecycle --

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> TencentStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()

    def reset(self) -> None:
        """Forget sends, interactions, injected errors and counters (tokens stay: they live on WeChat's side)."""
        with self._lock:
            self.interactions.clear()
            self.wecom_users.clear()
            self.sent.clear()
            self.answers.clear()
            self.token_requests.clear()
            self.failures.clear()
            self._send_times.clear()
            self._wecom_sends.clear()
            self._wecom_recent.clear()

    # -- test controls --

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.offset += seconds

    def interact(self, openid: str, kind: str = "message") -> None:
        """What WeChat learns when a follower writes (kind="message"), subscribes or clicks the menu."""
        with self._lock:
            now = self.now()
            quota, valid = (5, MESSAGE_WINDOW_S) if kind == "message" else (3, 60)
            self.interactions[openid] = {"at": now, "quota": quota, "until": now + valid}

    def add_wecom_user(self, userid: str) -> None:
        with self._lock:
            self.wecom_users.add(userid.lower())

    def expire_tokens(self) -> None:
        """Every token issued so far is past its expiry (→ 42001)."""
        with self._lock:
            now = self.now()
            self.tokens = {t: (app, now - 1) for t, (app, _) in self.tokens.items()}

    def revoke_tokens(self) -> None:
        """Every token issued so far is unknown (→ 40001), e.g. after a secret reset."""
        with self._lock:
            self.tokens.clear()
            self.stable_current = self.wecom_current = None

    def fail_next(self, path: str, errcode: int, errmsg: str = "injected", times: int = 1) -> None:
        with self._lock:
            self.failures[path] += [{"errcode": errcode, "errmsg": errmsg}] * times

    def texts(self, touser: str | None = None, channel: str = "wechat") -> list[str]:
        with self._lock:
            return [
                s["content"] for s in self.sent if s["channel"] == channel and (touser is None or s["touser"] == touser)
            ]

    def errcodes(self, touser: str) -> list[int]:
        with self._lock:
            return [a["errcode"] for a in self.answers if a["touser"] == touser]

    # -- tokens --

    def _issue(self, app: str, ttl: float | None = None) -> str:
        token = secrets.token_urlsafe(48)
        self.tokens[token] = (app, self.now() + (ttl or self.token_ttl_s))
        return token

    def _left(self, token: str) -> float:
        return self.tokens[token][1] - self.now() if token in self.tokens else -1

    def _check_app(self, appid: str, secret: str) -> dict[str, Any] | None:
        if appid != self.appid:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if secret != self.secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        return None

    def _stable_token(self, query, raw) -> dict[str, Any]:
        self.token_requests["stable_token"] += 1
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return {"errcode": 47001, "errmsg": "data format error"}
        if body.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        refused = self._check_app(body.get("appid", ""), body.get("secret", ""))
        if refused:
            return refused
        current = self.stable_current
        if body.get("force_refresh"):
            if current:
                self.tokens.pop(current, None)
            current = None
        if current is None or self._left(current) <= 300:
            current = self.stable_current = self._issue("wechat")
        return {"access_token": current, "expires_in": int(self._left(current))}

    def _classic_token(self, query, raw) -> dict[str, Any]:
        self.token_requests["token"] += 1
        if query.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        refused = self._check_app(query.get("appid", ""), query.get("secret", ""))
        if refused:
            return refused
        now = self.now()
        for t, (app, exp) in list(self.tokens.items()):
            if app == "wechat":
                self.tokens[t] = (app, min(exp, now + 300))  # the old token lives 5 more minutes
        token = self._issue("wechat")
        return {"access_token": token, "expires_in": self.token_ttl_s}

    def _wecom_token(self, query, raw) -> dict[str, Any]:
        self.token_requests["gettoken"] += 1
        if query.get("corpid") != self.corp_id:
            return {"errcode": 40013, "errmsg": "invalid corpid"}
        if query.get("corpsecret") != self.corp_secret:
            return {"errcode": 40001, "errmsg": "invalid credential"}
        if self.wecom_current is None or self._left(self.wecom_current) <= 0:
            self.wecom_current = self._issue("wecom")
        return {
            "errcode": 0,
            "errmsg": "ok",
            "access_token": self.wecom_current,
            "expires_in": int(self._left(self.wecom_current)),
        }

    def _token_error(self, query, app: str, invalid_code: int) -> dict[str, Any] | None:
        token = query.get("access_token")
        if not token:
            return {"errcode": 41001, "errmsg": "access_token missing"}
        if token not in self.tokens or self.tokens[token][0] != app:
            return {"errcode": invalid_code, "errmsg": "invalid credential, access_token is invalid or not latest"}
        if self._left(token) <= 0:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        return None

    # -- sends --

    def _custom_send(self, query, raw) -> dict[str, Any]:
        result = self._custom_send_result(query, raw)
        try:
            touser = json.loads(raw).get("touser", "")
        except (ValueError, AttributeError):
            touser = ""
        self.answers.append({"channel": "wechat", "touser": touser, "errcode": result["errcode"]})
        return result

    def _custom_send_result(self, query, raw) -> dict[str, Any]:
        refused = self._token_error(query, "wechat", 40001)
        if refused:
            return refused
        if b"\\u" in raw:
            return {
                "errcode": 40033,
                "errmsg": "invalid charset. please check your request, if include \\uxxxx will create fail!",
            }
        try:
            body = json.loads(raw)
            touser, content = body["touser"], body["text"]["content"]
        except (ValueError, KeyError, TypeError):
            return {"errcode": 47001, "errmsg": "data format error"}
        if body.get("msgtype") != "text":
            return {"errcode": 40008, "errmsg": "invalid message type"}
        now = self.now()
        seen = self.interactions.get(touser)
        if seen is None or now - seen["at"] > MESSAGE_WINDOW_S:
            return {"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"}
        if seen["quota"] <= 0 or now > seen["until"]:
            return {"errcode": 45047, "errmsg": "out of response count limit"}
        if len(content.encode("utf-8")) > CONTENT_MAX_BYTES:
            return {"errcode": 45002, "errmsg": "content size out of limit"}
        self._send_times = [t for t in self._send_times if now - t < self.rate_window_s]
        if len(self._send_times) >= self.rate_limit:
            return {"errcode": 45011, "errmsg": "api minute-quota reach limit, must slower, retry next minute"}
        self._send_times.append(now)
        seen["quota"] -= 1
        self.sent.append({"channel": "wechat", "touser": touser, "content": content, "at": now})
        return {"errcode": 0, "errmsg": "ok"}

    def _wecom_send(self, query, raw) -> dict[str, Any]:
        refused = self._token_error(query, "wecom", 40014)
        if refused:
            return refused
        try:
            body = json.loads(raw)
            users = [u for u in str(body["touser"]).split("|") if u]
            content = body["text"]["content"]
        except (ValueError, KeyError, TypeError):
            return {"errcode": 40035, "errmsg": "invalid parameter"}
        if int(body.get("agentid") or 0) != self.agent_id:
            return {"errcode": 40056, "errmsg": "invalid agentid"}
        now = self.now()
        invalid = [u for u in users if u.lower() not in self.wecom_users]
        valid = [u for u in users if u.lower() in self.wecom_users]
        if not valid:
            return {"errcode": 81013, "errmsg": "user & party & tag all invalid", "invaliduser": "|".join(invalid)}
        for u in valid:
            recent = [t for t in self._wecom_sends[u] if now - t < 60]
            if len(recent) >= WECOM_MEMBER_PER_MINUTE:
                return {"errcode": 45009, "errmsg": "api freq out of limit"}
        digest = json.dumps(body, sort_keys=True)
        if body.get("enable_duplicate_check") and now - self._wecom_recent.get(digest, -1e12) < int(
            body.get("duplicate_check_interval") or 1800
        ):
            return {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid)}
        self._wecom_recent[digest] = now
        clipped = content.encode("utf-8")[:CONTENT_MAX_BYTES].decode("utf-8", errors="ignore")
        for u in valid:
            self._wecom_sends[u].append(now)
            self.sent.append({"channel": "wecom", "touser": u, "content": clipped, "at": now})
        return {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid)}

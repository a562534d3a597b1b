"""HTTP clients of the two Tencent APIs that send active messages: WeChat Official Account and WeCom.

- Official Account: the customer-service message ``POST /cgi-bin/message/custom/send``, with an
  access token from ``POST /cgi-bin/stable_token`` (or the classic ``GET /cgi-bin/token``).
- WeCom self-built application: ``POST /cgi-bin/message/send``, token from ``GET /cgi-bin/gettoken``.

``send_text`` returns a ``bot.core.outbox.Attempt`` that tells the channel outbox what to do with
the row, from the API's ``errcode``: delivered (0); token rejected (40001/40014/42001) →
refresh the token once and send again; refused for good → ``failed``, not retried (45015 the
merchant has not written for 48 hours, 45047 send quota used up, 43004 not following, ...);
slow down (45009/45011, WeCom 45033) → retried after a pause without using an attempt;
anything else (-1 busy, HTTP or network errors) → retried with backoff.

Bodies are sent as raw UTF-8 JSON: WeChat refuses ``\\uXXXX`` escapes (40033).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar

import httpx

from bot.channels.tokens import AccessTokens, TokenUnavailable
from bot.core.outbox import Attempt
from bot.core.settings import Settings
from bot.core.shared_state import SharedState

log = logging.getLogger(__name__)

USER_AGENT = "posbot-channels/1"
TOKEN_ERRORS = frozenset({40001, 40014, 42001})


class TencentApi:
    channel: ClassVar[str]
    # errcode -> what it means for the merchant (stored on the row; staff read it)
    refusals: ClassVar[dict[int, str]]
    # errcode -> seconds to wait before trying again
    throttles: ClassVar[dict[int, float]]

    def __init__(
        self,
        settings: Settings,
        state: SharedState,
        base_url: str,
        token_name: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(settings.push_timeout_s),
            transport=transport,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
        self.tokens = AccessTokens(state, token_name, self._fetch_token, clock=clock)

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- provided by each API --

    async def _fetch_token(self, force: bool) -> tuple[str, int]:
        raise NotImplementedError

    def _send_body(self, recipient: str, text: str) -> dict[str, Any]:
        raise NotImplementedError

    send_path: ClassVar[str]

    def _refused_recipient(self, body: dict[str, Any], recipient: str) -> str | None:
        """A reason when a 0-errcode answer still did not reach the recipient (WeCom's invaliduser)."""
        return None

    # -- shared --

    @staticmethod
    def _json(payload: dict[str, Any]) -> bytes:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    async def _call(self, method: str, path: str, **kwargs) -> tuple[int, dict[str, Any]]:
        r = await self._client.request(method, path, **kwargs)
        try:
            body = r.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        return r.status_code, body

    async def _token_call(self, method: str, path: str, **kwargs) -> tuple[str, int]:
        try:
            status, body = await self._call(method, path, **kwargs)
        except httpx.HTTPError as e:
            raise TokenUnavailable(f"{type(e).__name__}: {e}") from e
        token = body.get("access_token")
        if status == 200 and token and not body.get("errcode"):
            return str(token), int(body.get("expires_in") or 7200)
        code = body.get("errcode")
        msg = f"token request refused: errcode {code} {body.get('errmsg', '')}".strip() if code else f"HTTP {status}"
        log.error("%s %s", self.channel, msg)  # a wrong secret or a missing IP allow-list entry: an operator's job
        raise TokenUnavailable(msg, int(code) if isinstance(code, int) else None)

    async def send_text(self, recipient: str, text: str) -> Attempt:
        """Send one text; the outcome tells the outbox whether and when to try again."""
        try:
            token = await self.tokens.get()
            status, body = await self._send(token, recipient, text)
            if body.get("errcode") in TOKEN_ERRORS:
                log.info("%s access token rejected (%s): refreshing once", self.channel, body.get("errcode"))
                token = await self.tokens.refresh(token)
                status, body = await self._send(token, recipient, text)
        except TokenUnavailable as e:
            return Attempt(False, None, f"access token unavailable: {e}"[:500], extra={"last_errcode": e.errcode})
        except httpx.HTTPError as e:
            return Attempt(False, None, f"{type(e).__name__}: {e}"[:500])
        return self._outcome(status, body, recipient)

    async def _send(self, token: str, recipient: str, text: str) -> tuple[int, dict[str, Any]]:
        return await self._call(
            "POST",
            self.send_path,
            params={"access_token": token},
            content=self._json(self._send_body(recipient, text)),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )

    def _outcome(self, status: int, body: dict[str, Any], recipient: str) -> Attempt:
        code = body.get("errcode")
        errmsg = str(body.get("errmsg", ""))[:300]
        if status != 200 or not isinstance(code, int):
            return Attempt(False, status, f"HTTP {status}: unexpected answer {str(body)[:200]}")
        extra = {"last_errcode": code}
        if code == 0:
            reason = self._refused_recipient(body, recipient)
            if reason:
                return Attempt(False, status, reason, retriable=False, extra=extra)
            return Attempt(True, status, extra=extra)
        error = f"errcode {code}: {errmsg}"
        if code in self.refusals:
            return Attempt(False, status, f"{self.refusals[code]} ({error})"[:500], retriable=False, extra=extra)
        if code in self.throttles:
            return Attempt(False, status, error, throttle_s=self.throttles[code], extra=extra)
        return Attempt(False, status, error, extra=extra)


class WeChatApi(TencentApi):
    """Official Account customer-service messages (the 48-hour window after the merchant's last message)."""

    channel = "wechat"
    send_path = "/cgi-bin/message/custom/send"
    refusals = {
        45015: "商户超过48小时没有互动，微信不允许主动发送 / 48-hour window closed",
        45047: "已达到本次互动的客服消息条数上限，商户再发消息后补发 / send quota of this interaction used up",
        43004: "商户未关注公众号 / recipient does not follow the account",
        40003: "无效的 openid / invalid openid",
        43019: "商户已被拉黑 / recipient is blocked",
        45002: "消息过长 / content too long",
        40033: "消息含非法字符 / invalid characters",
        48001: "公众号没有客服消息接口权限 / account lacks the customer-service API",
    }
    throttles = {45009: 600.0, 45011: 60.0}

    def __init__(self, settings: Settings, state: SharedState, **kwargs):
        super().__init__(settings, state, settings.wechat_api_base, f"wechat:{settings.wechat_app_id}", **kwargs)

    async def _fetch_token(self, force: bool) -> tuple[str, int]:
        appid, secret = self.settings.wechat_app_id, self.settings.wechat_app_secret.get_secret_value()
        if self.settings.wechat_token_endpoint == "classic":
            return await self._token_call(
                "GET", "/cgi-bin/token", params={"grant_type": "client_credential", "appid": appid, "secret": secret}
            )
        payload = {"grant_type": "client_credential", "appid": appid, "secret": secret, "force_refresh": force}
        return await self._token_call(
            "POST",
            "/cgi-bin/stable_token",
            content=self._json(payload),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )

    def _send_body(self, recipient: str, text: str) -> dict[str, Any]:
        return {"touser": recipient, "msgtype": "text", "text": {"content": text}}


class WeComApi(TencentApi):
    """WeCom application messages to members who can see the application."""

    channel = "wecom"
    send_path = "/cgi-bin/message/send"
    refusals = {
        81013: "成员不在应用可见范围或不存在 / user not visible to the application",
        60111: "成员不存在 / userid not found",
        301002: "无权限操作该成员 / no permission for this user",
    }
    throttles = {45009: 60.0, 45033: 5.0}

    def __init__(self, settings: Settings, state: SharedState, **kwargs):
        name = f"wecom:{settings.wecom_corp_id}:{settings.wecom_agent_id}"
        super().__init__(settings, state, settings.wecom_api_base, name, **kwargs)

    async def _fetch_token(self, force: bool) -> tuple[str, int]:
        # Within its validity gettoken returns the same token, so there is nothing to force.
        return await self._token_call(
            "GET",
            "/cgi-bin/gettoken",
            params={"corpid": self.settings.wecom_corp_id, "corpsecret": self.settings.wecom_secret.get_secret_value()},
        )

    def _send_body(self, recipient: str, text: str) -> dict[str, Any]:
        return {
            "touser": recipient,
            "msgtype": "text",
            "agentid": self.settings.wecom_agent_id,
            "text": {"content": text},
            # WeCom drops an identical request within the interval: a resend after a crash stays one message.
            "enable_duplicate_check": 1,
            "duplicate_check_interval": 1800,
        }

    def _refused_recipient(self, body: dict[str, Any], recipient: str) -> str | None:
        invalid = {u.strip().lower() for u in str(body.get("invaliduser") or "").split("|") if u.strip()}
        if recipient.lower() in invalid:
            return f"{self.refusals[81013]} (invaliduser)"
        return None


def build_senders(settings: Settings, state: SharedState, **kwargs) -> dict[str, TencentApi]:
    """The API clients whose credentials are configured, by channel name."""
    senders: dict[str, TencentApi] = {}
    if settings.wechat_push_enabled:
        senders["wechat"] = WeChatApi(settings, state, **kwargs)
    if settings.wecom_push_enabled:
        senders["wecom"] = WeComApi(settings, state, **kwargs)
    return senders

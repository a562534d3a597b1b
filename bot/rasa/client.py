"""HTTP client for the Rasa server: the REST channel for messages, the HTTP API for status."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """Rasa did not answer in time or answered with an error."""


@dataclass
class BotMessage:
    text: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)
    image: str | None = None
    custom: dict[str, Any] | None = None

    @classmethod
    def from_rasa(cls, raw: dict[str, Any]) -> BotMessage:
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))} for b in raw.get("buttons") or []
        ]
        return cls(text=raw.get("text") or "", buttons=buttons, image=raw.get("image"), custom=raw.get("custom"))


class RasaClient:
    def __init__(self, base_url: str, token: str = "", timeout_s: float = 8.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(
        self,
        conversation_id: str,
        text: str,
        timeout_s: float | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> list[BotMessage]:
        """Send one user message through Rasa's REST channel and return the bot's replies.

        ``metadata`` is stored with the message in the tracker (Rasa's RestInput reads the
        request's ``metadata``); actions read it as ``tracker.latest_message["metadata"]``.
        """
        body: dict[str, Any] = {"sender": conversation_id, "message": text}
        if metadata:
            body["metadata"] = metadata
        try:
            r = await self._client.post(
                "/webhooks/rest/webhook",
                json=body,
                timeout=timeout_s if timeout_s is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as e:
            raise RasaUnavailable(f"{type(e).__name__}: {e}") from e
        if r.status_code != 200:
            raise RasaUnavailable(f"Rasa answered HTTP {r.status_code}")
        try:
            payload = r.json()
        except ValueError as e:
            raise RasaUnavailable("Rasa answered with invalid JSON") from e
        return [BotMessage.from_rasa(m) for m in payload or []]

    async def append_events(self, conversation_id: str, events: list[dict[str, Any]]) -> bool:
        """Append events to a conversation's tracker through Rasa's HTTP API; False when Rasa refused or is down."""
        try:
            r = await self._client.post(
                f"/conversations/{conversation_id}/tracker/events",
                params={"token": self.token, "include_events": "NONE"},
                json=events,
            )
        except httpx.HTTPError as e:
            log.warning("appending events to %s failed: %s", conversation_id, e)
            return False
        if r.status_code != 200:
            log.warning("appending events to %s: Rasa answered HTTP %s", conversation_id, r.status_code)
        return r.status_code == 200

    async def append_bot_message(self, conversation_id: str, text: str, buttons: list[dict[str, str]]) -> bool:
        """Record a bot message the app composed (e.g. numbered topics), so a later "1" resolves against it."""
        return await self.append_events(conversation_id, [{"event": "bot", "text": text, "data": {"buttons": buttons}}])

    async def restart(self, conversation_id: str) -> bool:
        """Forget the dialogue state: the next message starts a new session."""
        return await self.append_events(conversation_id, [{"event": "restart"}])

    async def status(self, timeout_s: float = 2.0) -> dict[str, Any]:
        """Reachability, version and loaded model of the Rasa server (never raises)."""
        try:
            v = await self._client.get("/version", timeout=timeout_s)
            s = await self._client.get("/status", params={"token": self.token}, timeout=timeout_s)
        except httpx.HTTPError as e:
            return {"reachable": False, "error": type(e).__name__}
        out: dict[str, Any] = {"reachable": v.status_code == 200}
        if v.status_code == 200:
            out["version"] = v.json().get("version")
        if s.status_code == 200:
            st = s.json()
            out["model_file"] = st.get("model_file")
            out["model_id"] = st.get("model_id")
        else:
            out["status_error"] = f"HTTP {s.status_code}"
        out["model_loaded"] = bool(out.get("model_id") or out.get("model_file"))
        return out


async def last_bot_buttons(client: RasaClient, conversation_id: str) -> list[dict[str, str]]:
    """Buttons of the bot's latest message, read from Rasa's tracker (stateless across app instances)."""
    try:
        r = await client._client.get(
            f"/conversations/{conversation_id}/tracker",
            params={"token": client.token, "include_events": "AFTER_RESTART"},
        )
    except httpx.HTTPError:
        return []
    if r.status_code != 200:
        return []
    for event in reversed(r.json().get("events") or []):
        if event.get("event") == "user":
            return []  # the merchant already answered the last buttons
        if event.get("event") == "bot":
            buttons = (event.get("data") or {}).get("buttons") or []
            if buttons:
                return [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))} for b in buttons]
    return []

"""Rasa's REST channel, saying so when a turn failed instead of answering it with nothing.

Rasa's ``RestInput`` catches every exception of a turn (the tracker store or the lock store
unreachable, an action endpoint error) and answers HTTP 200 with the messages collected so
far, usually none: the app could not tell a failed turn from a silent one, and the merchant
got no answer at all. This channel answers such a turn with HTTP 503, so the app gives its
polite "please send it again" (``bot.chat.service.RASA_DOWN_TEXT``). Same name (``rest``) and URL
(``/webhooks/rest/webhook``); the app never asks for Rasa's streaming variant.

Configured in ``credentials.yml`` (``bot.rasa_ext.rest_channel.RestInput:``). Runs inside
Rasa's environment (.venv-rasa).
"""

from __future__ import annotations

import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)


class RestInput(RasaRestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("posbot_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            sender_id = await self._extract_sender(request)
            collector = CollectingOutputChannel()
            message = UserMessage(
                self._extract_message(request),
                collector,
                sender_id,
                input_channel=self._extract_input_channel(request),
                metadata=self.get_metadata(request),
            )
            try:
                await on_new_message(message)
            except (CancelledError, Exception) as e:  # the text is not logged: the tracker has it
                log.error("turn of %s failed: %s: %s", sender_id, type(e).__name__, e)
                return response.json({"error": "turn_failed", "reason": type(e).__name__}, status=503)
            return response.json(collector.messages)

        return webhook

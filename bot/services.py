"""The services one app-service process holds once, shared by the HTTP API and the custom actions.

The app's lifespan builds them (``build_services``) and registers them here, so
that Rasa custom actions, which rasa-sdk instantiates itself, can reach them
through ``get_services()``. Tests register their own instance the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imports for type checkers only; keeps this module light
    from bot.conversations.service import ConversationService
    from bot.db import Database
    from bot.faq.engine import FaqEngine
    from bot.settings import Settings
    from bot.tickets.service import TicketService


@dataclass
class Services:
    settings: "Settings"
    db: "Database"
    faq: "FaqEngine"
    tickets: "TicketService"
    conversations: "ConversationService"


_current: Services | None = None


def set_services(services: Services | None) -> None:
    global _current
    _current = services


def get_services() -> Services:
    if _current is None:
        raise RuntimeError("services are not initialised: the app service builds them at start-up")
    return _current

"""The services one app-service process holds once, shared by the HTTP API and the custom actions.

The app's lifespan builds them (``build_services``) and registers them here, so
that Rasa custom actions, which rasa-sdk instantiates itself, can reach them
through ``get_services()``. Tests register their own instance the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imports for type checkers only; keeps this module light
    from bot.analytics.turns import FaqTurnLog
    from bot.conversations.service import ConversationService
    from bot.conversations.vault import PhoneVault
    from bot.core.db import Database
    from bot.core.settings import Settings
    from bot.faq.codes import CodeTable
    from bot.faq.engine import FaqEngine
    from bot.faq.lexicon import Lexicon
    from bot.field.service import FieldService
    from bot.tickets.service import TicketService


@dataclass
class Services:
    settings: Settings
    db: Database
    faq: FaqEngine
    tickets: TicketService
    conversations: ConversationService

    @cached_property
    def vault(self) -> PhoneVault:
        """Phone numbers typed in the chat, kept encrypted and briefly for the ticket form."""
        # local import: keeps this module light (Rasa imports it via actions.common)
        from bot.conversations.vault import PhoneVault

        return PhoneVault.from_settings(self.db, self.settings)

    @cached_property
    def field(self) -> FieldService:
        """Consumables deliveries and on-site visits on top of the tickets (bot/field)."""
        # local import: keeps this module light (Rasa imports it via actions.common)
        from bot.field.service import FieldService

        return FieldService(self.tickets)

    @cached_property
    def faq_turns(self) -> FaqTurnLog:
        """The FAQ turn log: what the chat's FAQ decisions were and what became of them."""
        # local import: keeps this module light (Rasa imports it via actions.common)
        from bot.analytics.turns import FaqTurnLog

        return FaqTurnLog(self.db)

    @property
    def codes(self) -> CodeTable:
        """The response-code table (data/codes/response_codes.yml), loaded once per process."""
        # local import: keeps this module light (Rasa imports it via actions.common)
        from bot.faq.codes import default_codes

        return default_codes()

    @property
    def lexicon(self) -> Lexicon:
        """Brands and domain vocabulary (data/lexicon/), loaded once per process."""
        # local import: keeps this module light (Rasa imports it via actions.common)
        from bot.faq.lexicon import default_lexicon

        return default_lexicon()


_current: Services | None = None


def set_services(services: Services | None) -> None:
    global _current
    _current = services


def get_services() -> Services:
    if _current is None:
        raise RuntimeError("services are not initialised: the app service builds them at start-up")
    return _current

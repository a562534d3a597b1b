"""Who a ticket is for: merchant id and phone, except a handoff from a chat, where the chat is the contact."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.tickets.schemas import TicketCreate
from bot.tickets.service import TicketService
from tests.tickets.helpers import ticket_data, ticket_fields


@pytest.mark.parametrize("missing", ["merchant_id", "contact_phone"])
def test_repair_ticket_needs_merchant_id_and_phone(missing):
    with pytest.raises(ValidationError) as exc:
        TicketCreate(**ticket_fields(**{missing: None}))
    assert missing in str(exc.value)


def test_handoff_from_a_chat_needs_neither(database):
    service = TicketService(database)
    t = service.create(
        ticket_data(
            category="handoff",
            merchant_id=None,
            contact_phone=None,
            terminal_id=None,
            channel="web",
            sender_id="web:abc123",
            description="商户要求转人工客服",
        )
    )
    assert (t.merchant_id, t.contact_phone) == (None, None)
    assert service.get(t.number).sender_id == "web:abc123"


def test_handoff_without_chat_or_phone_is_refused():
    with pytest.raises(ValidationError) as exc:
        TicketCreate(**ticket_fields(category="handoff", merchant_id=None, contact_phone=None))
    assert "contact_phone" in str(exc.value)

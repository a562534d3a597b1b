"""What an agent sees beside a conversation: who the merchant is and every ticket of this chat.

The facts come from the conversation's tickets (the chat actions copy merchant id, terminal
and phone into every ticket they open), newest first, so a handoff shows what the merchant
already told the bot and the agent never has to ask again. The phone is masked here:
the ticket itself (``GET /api/tickets/{number}``) has the full number for calling back.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from bot.masking import mask_phone

DESCRIPTION_CLIP = 200
TICKETS_SHOWN = 20


class MerchantFacts(BaseModel):
    merchant_id: str | None = None
    terminal_id: str | None = None
    device_serial: str | None = None
    contact_phone_masked: str | None = Field(None, description="138****5678; the full number is on the ticket.")


class TicketBrief(BaseModel):
    number: str
    category: str
    status: str
    priority: str
    created_at: datetime
    updated_at: datetime
    description: str = Field(..., description=f"First {DESCRIPTION_CLIP} characters.")


class ConversationContext(BaseModel):
    merchant: MerchantFacts
    tickets: list[TicketBrief] = Field(default_factory=list, description="This conversation's tickets, newest first.")


def _value(v) -> str:
    return getattr(v, "value", v)


def conversation_context(tickets, conv_id: str) -> ConversationContext:
    """Merchant facts and ticket history of one conversation (``tickets``: a TicketService)."""
    mine = tickets.list_for_conversation(conv_id, limit=TICKETS_SHOWN)
    facts = MerchantFacts()
    for t in mine:  # newest first: the latest value of each fact wins
        if facts.merchant_id is None and t.merchant_id:
            facts.merchant_id = t.merchant_id
        if facts.terminal_id is None and t.terminal_id:
            facts.terminal_id = t.terminal_id
        if facts.device_serial is None and t.device_serial:
            facts.device_serial = t.device_serial
        if facts.contact_phone_masked is None and t.contact_phone:
            facts.contact_phone_masked = mask_phone(t.contact_phone)
    briefs = [
        TicketBrief(
            number=t.number,
            category=_value(t.category),
            status=_value(t.status),
            priority=_value(t.priority),
            created_at=t.created_at,
            updated_at=t.updated_at,
            description=t.description[:DESCRIPTION_CLIP],
        )
        for t in mine
    ]
    return ConversationContext(merchant=facts, tickets=briefs)

"""Pydantic v2 schemas of the ticket service: inputs validated here, outputs returned by it.

Every validation message is bilingual (Chinese / English) and names the field
(``bot.validation``); the constrained string types are in ``bot.tickets.types``, the field
job a consumables or visit ticket carries in ``bot.field.schemas``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from bot.field.schemas import FieldIn, FieldOut
from bot.masking import mask_pii
from bot.tickets.states import FIELD_CATEGORIES, Category, Channel, EventType, Priority, Status
from bot.tickets.types import (
    Assignee,
    Author,
    CommentBody,
    Description,
    DeviceSerial,
    MerchantId,
    MobilePhone,
    Note,
    SenderId,
    TerminalId,
)
from bot.validation import BilingualModel, field_error
from bot.vocabulary import AMOUNT_MAX

TRANSCRIPT_MAX_LINES = 100
TRANSCRIPT_LINE_MAX = 2000


class TranscriptLine(BaseModel):
    """One line of the conversation that led to the ticket.

    A plain model: the enclosing TicketCreate translates its errors with the full path
    (``transcript.3.role``). Unknown keys are ignored so tracker dumps fit.
    """

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    role: Literal["user", "bot", "agent", "system"]
    text: str
    at: datetime | None = None

    @field_validator("text")
    @classmethod
    def _clip(cls, v: str) -> str:
        # Context, not contract: an overlong line is clipped rather than refused.
        return mask_pii(v[:TRANSCRIPT_LINE_MAX])


class TicketCreate(BilingualModel):
    category: Category
    merchant_id: MerchantId | None = Field(None, description="Required except for handoff tickets.")
    terminal_id: TerminalId | None = None
    device_serial: DeviceSerial | None = None
    contact_phone: MobilePhone | None = Field(None, description="Required except for handoff tickets.")
    description: Description
    priority: Priority = Priority.NORMAL
    settlement_date: date | None = None
    settlement_amount: Decimal | None = Field(None, description="Transaction amount in yuan, at most 2 decimals.")
    channel: Channel = Channel.API
    sender_id: SenderId | None = None
    transcript: list[TranscriptLine] = Field(
        default_factory=list,
        description=f"Conversation so far; only the last {TRANSCRIPT_MAX_LINES} lines are kept.",
    )
    field: FieldIn | None = Field(None, description="Required for (and only for) consumables and visit tickets.")

    @field_validator("transcript")
    @classmethod
    def _last_lines(cls, v: list[TranscriptLine]) -> list[TranscriptLine]:
        return v[-TRANSCRIPT_MAX_LINES:]

    @field_validator("settlement_amount")
    @classmethod
    def _amount(cls, v: Decimal | None) -> Decimal | None:
        if v is None:
            return v
        try:
            ok = v.is_finite() and v > 0 and v <= AMOUNT_MAX and v == v.quantize(Decimal("0.01"))
        except InvalidOperation:
            ok = False
        if not ok:
            raise field_error(
                "settlement_amount",
                "必须是大于0、最多两位小数、不超过1000万的金额（元）",
                "must be a positive amount in yuan with at most 2 decimals, up to 10,000,000",
            )
        return v

    @field_validator("settlement_date")
    @classmethod
    def _not_future(cls, v: date | None) -> date | None:
        # One day of slack: "today" in Shanghai may be tomorrow in UTC.
        if v is not None and v > date.today() + timedelta(days=1):
            raise field_error("settlement_date", "不能是将来的日期", "must not be in the future")
        return v

    def _cross_field_errors(self) -> list[tuple[str, PydanticCustomError]]:
        problems = self._contact_errors() + self._field_errors()
        if self.category in (Category.REPAIR, Category.ACTIVATION) and not (self.terminal_id or self.device_serial):
            return problems + [
                (
                    "terminal_id",
                    PydanticCustomError(
                        "terminal_required",
                        "报修和激活工单需要终端号（terminal_id）或设备序列号（device_serial） / "
                        "terminal_id or device_serial is required for repair and activation tickets",
                    ),
                )
            ]
        return problems

    def _field_errors(self) -> list[tuple[str, PydanticCustomError]]:
        if self.category not in FIELD_CATEGORIES:
            if self.field is not None:
                return [
                    (
                        "field",
                        field_error(
                            "field", "只用于耗材配送和上门服务工单", "is for consumables and visit tickets only"
                        ),
                    )
                ]
            return []
        if self.field is None:
            return [
                (
                    "field",
                    field_error(
                        "field", "耗材配送和上门服务工单必须填写", "is required for consumables and visit tickets"
                    ),
                )
            ]
        if (self.field.kind == "consumables") != (self.category == Category.CONSUMABLES):
            return [("field.kind", field_error("field.kind", "与工单类别不符", "does not match the category"))]
        return []

    def _contact_errors(self) -> list[tuple[str, PydanticCustomError]]:
        """Who the ticket is for: merchant id and phone, except that a handoff from a chat
        only needs the chat (staff answer the merchant there)."""
        if self.category == Category.HANDOFF and (self.sender_id or self.contact_phone):
            return []
        problems = []
        for name, label in (("merchant_id", "商户号"), ("contact_phone", "联系电话")):
            if getattr(self, name) is None:
                problems.append(
                    (name, PydanticCustomError("missing", f"{label}（{name}）为必填项 / {name} is required"))
                )
        return problems

    @property
    def settlement_amount_fen(self) -> int | None:
        return None if self.settlement_amount is None else int(self.settlement_amount * 100)


def _reply_errors(reply_to_merchant: bool, note: str | None) -> list[tuple[str, PydanticCustomError]]:
    """A note sent to the merchant must exist."""
    if reply_to_merchant and not note:
        return [("note", field_error("note", "发给商户时不能为空", "is required with reply_to_merchant"))]
    return []


class TicketPatch(BilingualModel):
    """Staff changes. An explicit ``"assignee": null`` unassigns; absent fields stay as they are."""

    status: Status | None = None
    assignee: Assignee | None = None
    priority: Priority | None = None
    note: Note | None = Field(
        None,
        description="Why (internal); for status resolved it is the resolution. Sent to the merchant "
        "only with reply_to_merchant.",
    )
    reply_to_merchant: bool = Field(
        False, description="Send the note to the merchant (quoted under the status message); else it stays internal."
    )

    def _cross_field_errors(self) -> list[tuple[str, PydanticCustomError]]:
        problems = _reply_errors(self.reply_to_merchant, self.note)
        if not ({"status", "assignee", "priority"} & self.model_fields_set):
            problems.append(
                (
                    "status",
                    PydanticCustomError(
                        "empty_patch",
                        "至少需要修改 status、assignee 或 priority 之一 / "
                        "at least one of status, assignee, priority is required",
                    ),
                )
            )
        for name in ("status", "priority"):
            if name in self.model_fields_set and getattr(self, name) is None:
                problems.append((name, field_error(name, "不能为空", "must not be null")))
        return problems


class CommentCreate(BilingualModel):
    author: Author | None = Field(None, description="Staff name; the API key's name when omitted.")
    body: CommentBody
    reply_to_merchant: bool = Field(False, description="Also send the comment to the merchant's chat.")


class MerchantPreviewIn(BilingualModel):
    """A change as staff are about to save it (PATCH or comment), to show what the merchant will read."""

    status: Status | None = None
    note: Note | None = None
    reply_to_merchant: bool = False

    def _cross_field_errors(self) -> list[tuple[str, PydanticCustomError]]:
        return _reply_errors(self.reply_to_merchant, self.note)


class MerchantPreviewOut(BaseModel):
    recipient: str | None = Field(
        None, description="The chat conversation that will receive the messages; null: nobody is told."
    )
    messages: list[str] = Field(default_factory=list, description="Exactly what the merchant will read, in order.")


class TicketFilters(BilingualModel):
    status: Status | None = None
    category: Category | None = None
    merchant_id: MerchantId | None = None
    assignee: Assignee | None = None
    channel: Channel | None = None
    created_from: datetime | None = Field(None, description="Inclusive; naive means settings.timezone.")
    created_to: datetime | None = Field(None, description="Exclusive; naive means settings.timezone.")


# --- outputs ----------------------------------------------------------------------------


class TicketOut(BaseModel):
    number: str
    category: Category
    status: Status
    priority: Priority
    merchant_id: str | None
    terminal_id: str | None
    device_serial: str | None
    contact_phone: str | None
    description: str
    settlement_date: date | None
    settlement_amount: Decimal | None
    channel: Channel
    sender_id: str | None
    transcript: list[dict[str, Any]]
    assignee: str | None
    resolution: str | None
    field: FieldOut | None = Field(
        None, description="Consumables and visit tickets: what, where, when (docs/tickets.md)."
    )
    version: int
    created_at: datetime
    updated_at: datetime


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last.")


class EventOut(BaseModel):
    id: int
    ticket_number: str
    type: EventType
    actor: str
    data: dict[str, Any]
    created_at: datetime


class NotificationOut(BaseModel):
    id: int
    ticket_number: str
    channel: str
    sender_id: str
    text: str
    created_at: datetime
    sent_at: datetime | None


class OutboxEventOut(BaseModel):
    event_id: str
    ticket_number: str
    event_type: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    last_status_code: int | None
    created_at: datetime
    delivered_at: datetime | None


class OutboxPage(BaseModel):
    items: list[OutboxEventOut]
    next_cursor: str | None = None


class CreateResult(BaseModel):
    """What ``TicketService.create_ex`` returns: the ticket and whether it is new."""

    ticket: TicketOut
    created: bool

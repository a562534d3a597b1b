"""Pydantic v2 schemas of the ticket service: inputs validated here, outputs returned by it.

Every validation message is bilingual (Chinese / English) and names the field, in
process (the chat actions show ``exc.errors()[i]["msg"]``) and through the API
(``bot.api.errors`` uses the same translation for errors FastAPI raises itself).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.masking import mask_pii
from bot.tickets.states import FIELD_CATEGORIES, Category, Channel, EventType, Priority, Status
from bot.vocabulary import (
    AMOUNT_MAX,
    DEVICE_SERIAL_PATTERN,
    FIELD_KIND_LABELS,
    MERCHANT_ID_DIGITS,
    MERCHANT_ID_PATTERN,
    MOBILE_PATTERN,
    PHONE_DIGITS,
    TERMINAL_ID_DIGITS,
    TERMINAL_ID_PATTERN,
    TICKET_DESCRIPTION_MAX,
    TICKET_FIELD_LABELS,
)

DESCRIPTION_MAX = TICKET_DESCRIPTION_MAX
NOTE_MAX = 2000
COMMENT_MAX = 2000
TRANSCRIPT_MAX_LINES = 100
TRANSCRIPT_LINE_MAX = 2000
IDEMPOTENCY_KEY_MAX = 128


def _fmt(f: str, zh: str, en: str) -> str:
    label = TICKET_FIELD_LABELS.get(f.rsplit(".", 1)[-1], "字段")
    return f"{label}（{f}）{zh} / {f} {en}"


def _expected(ctx: dict[str, Any]) -> str:
    return str(ctx.get("expected", "")).replace("'", "")


# type -> (zh, en) templates; {ctx keys} are filled from the pydantic error's ctx.
_TEMPLATES: dict[str, tuple[str, str]] = {
    "missing": ("为必填项", "is required"),
    "string_type": ("必须是字符串", "must be a string"),
    "string_too_short": ("长度至少为 {min_length}", "must have at least {min_length} characters"),
    "string_too_long": ("最多 {max_length} 个字符", "must have at most {max_length} characters"),
    "string_pattern_mismatch": ("格式不正确", "has an invalid format"),
    "enum": ("必须是以下之一：{expected}", "must be one of: {expected}"),
    "literal_error": ("必须是以下之一：{expected}", "must be one of: {expected}"),
    "int_type": ("必须是整数", "must be an integer"),
    "int_parsing": ("必须是整数", "must be an integer"),
    "int_from_float": ("必须是整数", "must be an integer"),
    "bool_type": ("必须是布尔值", "must be a boolean"),
    "bool_parsing": ("必须是布尔值", "must be a boolean"),
    "float_type": ("必须是数字", "must be a number"),
    "float_parsing": ("必须是数字", "must be a number"),
    "decimal_type": ("必须是数字", "must be a number"),
    "decimal_parsing": ("必须是数字", "must be a number"),
    "datetime_type": ("必须是 ISO 8601 日期时间", "must be an ISO 8601 datetime"),
    "datetime_parsing": ("必须是 ISO 8601 日期时间", "must be an ISO 8601 datetime"),
    "datetime_from_date_parsing": ("必须是 ISO 8601 日期时间", "must be an ISO 8601 datetime"),
    "date_type": ("必须是日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)"),
    "date_parsing": ("必须是日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)"),
    "date_from_datetime_parsing": ("必须是日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)"),
    "date_from_datetime_inexact": ("必须是日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)"),
    "greater_than": ("必须大于 {gt}", "must be greater than {gt}"),
    "greater_than_equal": ("必须大于或等于 {ge}", "must be greater than or equal to {ge}"),
    "less_than": ("必须小于 {lt}", "must be less than {lt}"),
    "less_than_equal": ("必须小于或等于 {le}", "must be less than or equal to {le}"),
    "list_type": ("必须是列表", "must be a list"),
    "too_long": ("最多 {max_length} 项", "must have at most {max_length} items"),
    "dict_type": ("必须是 JSON 对象", "must be a JSON object"),
    "model_type": ("必须是 JSON 对象", "must be a JSON object"),
    "model_attributes_type": ("必须是 JSON 对象", "must be a JSON object"),
    "extra_forbidden": ("不是可接受的字段", "is not an accepted field"),
    "uuid_type": ("必须是 UUID", "must be a UUID"),
    "uuid_parsing": ("必须是 UUID", "must be a UUID"),
}

_CJK = re.compile(r"[\u4e00-\u9fff]")


def field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """Dotted field path of an error location, without FastAPI's body/query/header/path part."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "header", "path", "cookie"):
        source = parts.pop(0)
        if not parts or all(isinstance(p, int) for p in parts):
            return source if source == "body" else "request"
    return ".".join(str(p) for p in parts) or "body"


def bilingual_message(error: dict[str, Any]) -> str:
    """Chinese-and-English message naming the field of one pydantic error dict."""
    msg = str(error.get("msg", ""))
    if _CJK.search(msg):  # ours already (custom validators)
        return msg
    etype = str(error.get("type", ""))
    if etype == "json_invalid":
        return "请求体不是合法的 JSON / request body is not valid JSON"
    f = field_name(error.get("loc", ()))
    ctx = dict(error.get("ctx") or {})
    if "expected" in ctx:
        ctx["expected"] = _expected(ctx)
    tpl = _TEMPLATES.get(etype)
    if tpl is None:
        return _fmt(f, f"无效：{msg}", f"is invalid: {msg}")
    try:
        return _fmt(f, tpl[0].format(**ctx), tpl[1].format(**ctx))
    except (KeyError, IndexError):
        return _fmt(f, "无效", "is invalid")


def translate_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic error dicts with bilingual ``msg`` and a ``field`` key; ``input`` dropped.

    The input is dropped on purpose: it may be a megabyte of text or a secret.
    """
    out = []
    for e in errors:
        out.append(
            {
                "type": e.get("type"),
                "loc": list(e.get("loc", ())),
                "field": field_name(e.get("loc", ())),
                "msg": bilingual_message(e),
            }
        )
    return out


def _error(field: str, zh: str, en: str) -> PydanticCustomError:
    return PydanticCustomError(f"{field}_invalid", _fmt(field, zh, en))


class BilingualModel(BaseModel):
    """Base whose every validation error has a bilingual message naming the field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="wrap")
    @classmethod
    def _bilingual_errors(cls, data: Any, handler):
        try:
            model = handler(data)
        except ValidationError as exc:
            raise ValidationError.from_exception_data(
                exc.title,
                [
                    {
                        "type": PydanticCustomError(e["type"], bilingual_message(dict(e))),
                        "loc": e["loc"],
                        "input": e["input"],
                    }
                    for e in exc.errors()
                ],
            ) from None
        problems = model._cross_field_errors()
        if problems:
            # Raised here rather than in an "after" validator so the error's loc names the field.
            raise ValidationError.from_exception_data(
                cls.__name__,
                [{"type": err, "loc": (field,), "input": data} for field, err in problems],
            )
        return model

    def _cross_field_errors(self) -> list[tuple[str, PydanticCustomError]]:
        """Override for rules spanning several fields: (field to blame, error) pairs."""
        return []


# --- field validators -----------------------------------------------------------------


def _pattern(field: str, regex: str, zh: str, en: str):
    compiled = re.compile(regex)

    def check(v: str) -> str:
        if not compiled.fullmatch(v):
            raise _error(field, zh, en)
        return v

    return AfterValidator(check)


def _bounded(field: str, max_len: int, *, min_len: int = 1):
    def check(v: str) -> str:
        if len(v) < min_len:
            raise _error(field, "不能为空", "must not be empty")
        if len(v) > max_len:
            raise _error(field, f"最多 {max_len} 个字符", f"must have at most {max_len} characters")
        return v

    return AfterValidator(check)


MerchantId = Annotated[
    str,
    _pattern(
        "merchant_id",
        MERCHANT_ID_PATTERN,
        f"必须是{MERCHANT_ID_DIGITS}位数字",
        f"must be exactly {MERCHANT_ID_DIGITS} digits",
    ),
]
TerminalId = Annotated[
    str,
    _pattern(
        "terminal_id",
        TERMINAL_ID_PATTERN,
        f"必须是{TERMINAL_ID_DIGITS}位数字",
        f"must be exactly {TERMINAL_ID_DIGITS} digits",
    ),
]
DeviceSerial = Annotated[
    str,
    _pattern(
        "device_serial",
        DEVICE_SERIAL_PATTERN,
        "必须是4到64位字母、数字或连字符",
        "must be 4 to 64 letters, digits or hyphens",
    ),
]
MobilePhone = Annotated[
    str,
    _pattern(
        "contact_phone",
        MOBILE_PATTERN,
        f"必须是{PHONE_DIGITS}位中国大陆手机号",
        f"must be an {PHONE_DIGITS}-digit mainland China mobile number (^{MOBILE_PATTERN}$)",
    ),
]
# Free text is stored with phones, card and ID numbers masked (bot/masking.py): the contact
# phone has its own validated field, nothing else on a ticket needs them in clear.
_MASKED = AfterValidator(mask_pii)
Description = Annotated[str, _bounded("description", DESCRIPTION_MAX), _MASKED]
SenderId = Annotated[str, _bounded("sender_id", 128)]
Assignee = Annotated[str, _bounded("assignee", 64)]
Note = Annotated[str, _bounded("note", NOTE_MAX), _MASKED]
Author = Annotated[str, _bounded("author", 64)]
CommentBody = Annotated[str, _bounded("body", COMMENT_MAX), _MASKED]


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


# --- field service (bot.field): consumables deliveries and on-site visits ------------------

FIELD_KINDS = tuple(FIELD_KIND_LABELS)
FieldKind = Literal["consumables", "installation", "repair", "relocation", "training"]
Address = Annotated[str, _bounded("address", 200, min_len=6), _MASKED]
ServiceArea = Annotated[str, _bounded("service_area", 40)]
PartName = Annotated[str, _bounded("item", 40), _MASKED]


class ItemIn(BilingualModel):
    code: str = Field(description="A code of bot.field.catalog (paper_57x50, ribbon_needle, part_print_head ...).")
    quantity: int = Field(
        ge=1, description="Rolls / pieces; at most settings.field_paper_max_rolls or field_part_max_units."
    )

    def _cross_field_errors(self) -> list[tuple[str, PydanticCustomError]]:
        from bot.field.catalog import BY_CODE, max_quantity
        from bot.settings import get_settings

        item = BY_CODE.get(self.code)
        if item is None:
            return [
                (
                    "code",
                    _error("code", f"必须是以下之一：{', '.join(BY_CODE)}", f"must be one of: {', '.join(BY_CODE)}"),
                )
            ]
        settings = get_settings()
        limit = max_quantity(item, settings.field_paper_max_rolls, settings.field_part_max_units)
        if self.quantity > limit:
            return [("quantity", _error("quantity", f"最多 {limit}", f"must be at most {limit}"))]
        return []


class FieldIn(BilingualModel):
    """What a consumables or visit ticket asks for."""

    kind: FieldKind
    items: list[ItemIn] = Field(default_factory=list, max_length=10, description="Consumables only.")
    delivery_method: Literal["delivery", "pickup"] | None = Field(None, description="Consumables only.")
    address: Address | None = Field(None, description="Required for visits and deliveries.")
    service_area: ServiceArea | None = Field(None, description="City + district; taken from the address when omitted.")
    scheduled_date: date | None = Field(
        None, description="Visits: the booked day (required). Consumables: the expected day; computed when omitted."
    )
    half_day: Literal["am", "pm"] | None = Field(None, description="Visits: 上午 (am) or 下午 (pm), required.")

    def _cross_field_errors(self) -> list[tuple[str, PydanticCustomError]]:
        problems: list[tuple[str, PydanticCustomError]] = []
        if self.kind == "consumables":
            if not self.items:
                problems.append(("items", _error("items", "至少一项", "must have at least one item")))
            if self.delivery_method is None:
                problems.append(("delivery_method", _error("delivery_method", "为必填项", "is required")))
            if self.delivery_method == "delivery" and not self.address:
                problems.append(("address", _error("address", "送货上门时为必填项", "is required for a delivery")))
            if self.half_day is not None:
                problems.append(("half_day", _error("half_day", "只用于上门服务", "is for visits only")))
        else:
            if self.items or self.delivery_method:
                problems.append(("items", _error("items", "只用于耗材配送", "is for consumables only")))
            for name in ("address", "scheduled_date", "half_day"):
                if getattr(self, name) is None:
                    problems.append((name, _error(name, "上门服务时为必填项", "is required for a visit")))
        if self.address and not self.service_area:
            from bot.field.areas import service_area

            self.service_area = service_area(self.address)
        if self.address and not self.service_area:
            problems.append(
                ("address", _error("address", "需要写明所在的市和区（县）", "must name the city and district"))
            )
        return problems


class FieldOut(BaseModel):
    kind: FieldKind
    kind_label: str
    items: list[dict[str, Any]] = Field(description='[{"code", "label", "unit", "quantity"}]')
    delivery_method: Literal["delivery", "pickup"] | None
    address: str | None
    service_area: str | None
    scheduled_date: date | None = Field(description="Visit: the booked day. Consumables: the expected delivery day.")
    half_day: Literal["am", "pm"] | None
    outcome: Literal["done", "cancelled"] | None = Field(description="null while the work is to do.")
    parts_used: list[dict[str, Any]] = Field(description='[{"item", "quantity"}], recorded when done.')
    finished_at: datetime | None


class PartUsed(BilingualModel):
    item: PartName = Field(description="A catalogue code or the part's name.")
    quantity: int = Field(ge=1, le=99)


class FieldDone(BilingualModel):
    """The maintainer finished the job."""

    note: Note = Field(description="What was done: the ticket's resolution (internal unless reply_to_merchant).")
    parts_used: list[PartUsed] = Field(default_factory=list, max_length=20)
    reply_to_merchant: bool = Field(False, description="Also send the note to the merchant's chat.")


class FieldAssign(BilingualModel):
    maintainer: Assignee | None = Field(description="Staff username of the maintainer; null unassigns.")


class FieldReschedule(BilingualModel):
    scheduled_date: date
    half_day: Literal["am", "pm"]


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
            raise _error(
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
            raise _error("settlement_date", "不能是将来的日期", "must not be in the future")
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
                        _error("field", "只用于耗材配送和上门服务工单", "is for consumables and visit tickets only"),
                    )
                ]
            return []
        if self.field is None:
            return [
                (
                    "field",
                    _error("field", "耗材配送和上门服务工单必须填写", "is required for consumables and visit tickets"),
                )
            ]
        if (self.field.kind == "consumables") != (self.category == Category.CONSUMABLES):
            return [("field.kind", _error("field.kind", "与工单类别不符", "does not match the category"))]
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
        return [("note", _error("note", "发给商户时不能为空", "is required with reply_to_merchant"))]
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
                problems.append((name, _error(name, "不能为空", "must not be null")))
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

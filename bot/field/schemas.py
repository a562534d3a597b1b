"""Schemas of the field service (bot.field): consumables deliveries and on-site visits.

``FieldIn`` / ``FieldOut`` are the field job as a ticket carries it (``TicketCreate.field``,
``TicketOut.field``); ``FieldDone``, ``FieldAssign`` and ``FieldReschedule`` are the
maintainer's changes to it (``bot.field.service``, ``/api/field``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from pydantic_core import PydanticCustomError

from bot.core.settings import get_settings
from bot.field.areas import service_area
from bot.field.catalog import BY_CODE, max_quantity
from bot.tickets.types import MASKED, Assignee, Note
from bot.validation import BilingualModel, bounded, field_error
from bot.vocabulary import FIELD_KIND_LABELS

FIELD_KINDS = tuple(FIELD_KIND_LABELS)
FieldKind = Literal["consumables", "installation", "repair", "relocation", "training"]
Address = Annotated[str, bounded("address", 200, min_len=6), MASKED]
ServiceArea = Annotated[str, bounded("service_area", 40)]
PartName = Annotated[str, bounded("item", 40), MASKED]


class ItemIn(BilingualModel):
    code: str = Field(description="A code of bot.field.catalog (paper_57x50, ribbon_needle, part_print_head ...).")
    quantity: int = Field(
        ge=1, description="Rolls / pieces; at most settings.field_paper_max_rolls or field_part_max_units."
    )

    def _cross_field_errors(self) -> list[tuple[str, PydanticCustomError]]:
        item = BY_CODE.get(self.code)
        if item is None:
            return [
                (
                    "code",
                    field_error(
                        "code", f"必须是以下之一：{', '.join(BY_CODE)}", f"must be one of: {', '.join(BY_CODE)}"
                    ),
                )
            ]
        settings = get_settings()
        limit = max_quantity(item, settings.field_paper_max_rolls, settings.field_part_max_units)
        if self.quantity > limit:
            return [("quantity", field_error("quantity", f"最多 {limit}", f"must be at most {limit}"))]
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
                problems.append(("items", field_error("items", "至少一项", "must have at least one item")))
            if self.delivery_method is None:
                problems.append(("delivery_method", field_error("delivery_method", "为必填项", "is required")))
            if self.delivery_method == "delivery" and not self.address:
                problems.append(("address", field_error("address", "送货上门时为必填项", "is required for a delivery")))
            if self.half_day is not None:
                problems.append(("half_day", field_error("half_day", "只用于上门服务", "is for visits only")))
        else:
            if self.items or self.delivery_method:
                problems.append(("items", field_error("items", "只用于耗材配送", "is for consumables only")))
            for name in ("address", "scheduled_date", "half_day"):
                if getattr(self, name) is None:
                    problems.append((name, field_error(name, "上门服务时为必填项", "is required for a visit")))
        if self.address and not self.service_area:
            self.service_area = service_area(self.address)
        if self.address and not self.service_area:
            problems.append(
                ("address", field_error("address", "需要写明所在的市和区（县）", "must name the city and district"))
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

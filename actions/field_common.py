"""What the field-service actions share: the two forms' names and slots, the settings, clock and catalogue.

``consumables_form`` asks what (a catalogue item, bot.field.catalog), how many (within the
settings' limits), delivery address or pick-up, and the merchant id and phone the
conversation may already know. ``visit_form`` asks the kind (installation / repair /
relocation / training), the merchant id and terminal, the address (its service area),
the problem (repairs), the preferred half-day (bot.field.when), confirmed back with its
weekday, and the phone. Both end in a summary (确认提交 / 修改 / 取消) and create a ticket of
category ``consumables`` / ``visit`` with its field job.

The field actions live in ``field_forms`` (start and validation), ``field_questions`` (the
questions and the summary), ``field_submit`` (submit, cancel) and ``field_aftercare``
(status, reschedule, calling off, care). Thin over ``services().tickets`` /
``services().field``; wording in actions/field_texts.py.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker

from actions import common
from actions.common import services
from actions.form_kit import REASKED
from bot.field import catalog as _catalog

CONSUMABLES_FORM = "consumables_form"
VISIT_FORM = "visit_form"
FIELD_FORMS = (CONSUMABLES_FORM, VISIT_FORM)
CONSUMABLE_CASE = ("supply_item", "supply_quantity", "supply_delivery", "supply_address", "field_area")
VISIT_CASE = ("visit_kind", "visit_address", "field_area", "visit_problem", "visit_time", "visit_day", "visit_time_ok")
CONTROL = ("field_confirm", "field_editing", "field_edit", REASKED)


def settings():
    return services().settings


def _tz() -> ZoneInfo:
    return ZoneInfo(settings().timezone)


def local_now() -> datetime:
    """Now in the service's time zone (``common.now_utc``: the one clock the tests fix)."""
    return common.now_utc().astimezone(_tz())


def catalog():
    """The consumables catalogue (bot.field.catalog)."""
    return _catalog


def item_limit(item) -> int:
    s = settings()
    return catalog().max_quantity(item, s.field_paper_max_rolls, s.field_part_max_units)


def _visit_fields(tracker: Tracker) -> list[str]:
    kind = tracker.get_slot("visit_kind")
    fields = ["visit_kind", "merchant_id"]
    if kind != "installation":
        fields.append("terminal_id")
    fields.append("visit_address")
    if kind == "repair":
        fields.append("visit_problem")
    return fields + ["visit_time", "phone"]


def _consumables_fields(tracker: Tracker) -> list[str]:
    return ["supply_item", "supply_quantity", "supply_delivery", "merchant_id", "phone"]


def form_fields(form: str, tracker: Tracker) -> list[str]:
    return _consumables_fields(tracker) if form == CONSUMABLES_FORM else _visit_fields(tracker)

"""After a field request: its status, moving or calling off the visit, and the care checklist and reminder.

"我的纸什么时候到" / "师傅什么时候来" read the merchant's latest request of that kind;
"改到周五下午" moves the open visit, "不用来了" calls it off after asking once. The care
checklist offers a periodic reminder, which "不用提醒保养了" stops.
"""

from __future__ import annotations

import logging
import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet

from actions import field_texts as ft
from actions.common import (
    HELPED,
    PENDING,
    STEP,
    button,
    latest_intent,
    latest_text,
    new_step,
    services,
)
from actions.field_common import local_now, settings
from actions.tickets import own_tickets, ticket_status_reply
from bot.field import reminders
from bot.field.care import checklist
from bot.field.when import Window, day_label, parse_window

log = logging.getLogger(__name__)

VISIT_WORDS = ("上门", "师傅", "维修", "来人", "装机", "培训", "移机", "预约")


def _own_field_tickets(tracker: Tracker) -> list:

    return [t for t in own_tickets(tracker) if t.field is not None]


def _open_visit(tracker: Tracker):
    visits = [
        t
        for t in _own_field_tickets(tracker)
        if t.field.kind != "consumables"
        and t.field.outcome is None
        and str(getattr(t.status, "value", t.status)) in ("open", "in_progress")
    ]
    return max(visits, key=lambda t: t.created_at, default=None)


class ActionCheckField(Action):
    """ "我的纸什么时候到" / "色带寄了吗" / "师傅什么时候来": the merchant's latest request of that kind."""

    def name(self) -> str:
        return "action_check_field"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:

        try:
            mine = _own_field_tickets(tracker)
        except Exception:
            log.exception("field status unavailable for %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_ticket_lookup_down")
            return []
        text = latest_text(tracker)
        wants_visit = any(w in text for w in VISIT_WORDS)
        kinds = [t for t in mine if (t.field.kind != "consumables") == wants_visit] or mine
        latest = max(kinds, key=lambda t: t.created_at, default=None)
        if latest is None:
            if own_tickets(tracker):
                return ticket_status_reply(dispatcher, tracker)  # no field request, but other tickets
            dispatcher.utter_message(text=ft.NO_FIELD_TICKET)
            return [SlotSet(PENDING, None)]
        f = latest.field
        status = str(getattr(latest.status, "value", latest.status))
        if f.kind == "consumables":
            items = "；".join(ft.items_line(i["label"], i["quantity"], i["unit"]) for i in f.items)
            by = day_label(f.scheduled_date) if f.scheduled_date else None
            reply = ft.delivery_status(latest.number, items, status, f.outcome, by, f.delivery_method)
        else:
            window = Window(f.scheduled_date, f.half_day).label() if f.scheduled_date and f.half_day else None
            reply = ft.visit_status(latest.number, f.kind_label, status, f.outcome, window, bool(latest.assignee))
        dispatcher.utter_message(text=reply)
        return [SlotSet(PENDING, None), SlotSet(HELPED, True)]


class ActionRescheduleVisit(Action):
    """ "改到周五下午": moves the merchant's open visit; without a time, asks for one."""

    def name(self) -> str:
        return "action_reschedule_visit"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:

        visit = _open_visit(tracker)
        if visit is None:
            dispatcher.utter_message(text=ft.NO_OPEN_VISIT)
            return [SlotSet(PENDING, None)]
        current = Window(visit.field.scheduled_date, visit.field.half_day).label() if visit.field.half_day else None
        s = settings()
        from datetime import date as _date

        earlier = tracker.get_slot("visit_day")
        parsed = parse_window(
            latest_text(tracker),
            local_now(),
            earlier_day=_date.fromisoformat(earlier) if earlier else None,
            min_notice_h=s.field_visit_min_notice_hours,
            max_days=s.field_visit_max_days_ahead,
        )
        if parsed.window is None:
            if parsed.day is not None:
                step = new_step("reschedule")
                label = day_label(parsed.day)
                dispatcher.utter_message(
                    text=ft.ask_half(label),
                    buttons=[button(f"{label}{t}", "inform", step=step) for t in ft.HALF_TITLES],
                )
                return [
                    SlotSet(PENDING, "visit_reschedule"),
                    SlotSet("visit_day", parsed.day.isoformat()),
                    SlotSet(STEP, step),
                ]
            asked_before = tracker.get_slot(PENDING) == "visit_reschedule"
            named_a_time = re.search(r"\d|今|明|后天|周|星期|礼拜|月|号|上午|下午", latest_text(tracker))
            if parsed.problem and (asked_before or named_a_time):
                dispatcher.utter_message(text=ft.retry(parsed.problem))
            else:
                dispatcher.utter_message(text=ft.ask_reschedule(visit.number, current))
            return [SlotSet(PENDING, "visit_reschedule")]
        try:
            t = services().field.reschedule(
                visit.number, parsed.window.day, parsed.window.half, actor="merchant", tell_merchant=False
            )
        except Exception:
            log.exception("reschedule of %s failed", visit.number)
            dispatcher.utter_message(text=ft.FIELD_DOWN)
            return [SlotSet(PENDING, None)]
        dispatcher.utter_message(text=ft.rescheduled(t.number, parsed.window.label()))
        return [SlotSet(PENDING, None), SlotSet("visit_day", None), SlotSet(HELPED, True)]


class ActionCancelVisit(Action):
    """ "不用来了取消吧": asks once, then calls off the merchant's open visit."""

    def name(self) -> str:
        return "action_cancel_visit"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:

        visit = _open_visit(tracker)
        if visit is None:
            dispatcher.utter_message(text=ft.NO_VISIT_TO_CANCEL)
            return [SlotSet(PENDING, None)]
        window = Window(visit.field.scheduled_date, visit.field.half_day).label() if visit.field.half_day else None
        if tracker.get_slot(PENDING) != "visit_cancel":
            step = new_step("visitcancel")
            dispatcher.utter_message(
                text=ft.ask_cancel_visit(visit.number, window),
                buttons=[
                    button(ft.CANCEL_VISIT_TITLES[0], "affirm", step=step),
                    button(ft.CANCEL_VISIT_TITLES[1], "deny", step=step),
                ],
            )
            return [SlotSet(PENDING, "visit_cancel"), SlotSet(STEP, step)]
        if latest_intent(tracker) != "affirm":
            dispatcher.utter_message(text=ft.VISIT_KEPT)
            return [SlotSet(PENDING, None), SlotSet(STEP, None)]
        try:
            services().field.cancel(visit.number, actor="merchant", tell_merchant=False)
        except Exception:
            log.exception("cancel of %s failed", visit.number)
            dispatcher.utter_message(text=ft.FIELD_DOWN)
            return [SlotSet(PENDING, None)]
        dispatcher.utter_message(text=ft.visit_cancelled(visit.number))
        return [SlotSet(PENDING, None), SlotSet(STEP, None), SlotSet(HELPED, True)]


# --- care -----------------------------------------------------------------------------------


class ActionCareChecklist(Action):
    def name(self) -> str:
        return "action_care_checklist"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:

        # No step id: opting in is right whenever it is clicked.
        dispatcher.utter_message(text=checklist(), buttons=[button(ft.REMINDER_TITLE, "care_reminder")])
        return [SlotSet(HELPED, True)]


STOP_WORDS = ("不用", "取消", "关闭", "别再", "不要", "停止", "关掉", "退订")


class ActionCareReminder(Action):
    """Opt in ("提醒我保养") or out ("不用提醒保养了") of the periodic care reminder."""

    def name(self) -> str:
        return "action_care_reminder"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:

        text = latest_text(tracker)
        try:
            if not text.startswith("/") and any(w in text for w in STOP_WORDS):
                stopped = reminders.opt_out(services().db, tracker.sender_id)
                dispatcher.utter_message(text=ft.REMINDER_OFF if stopped else ft.REMINDER_NOT_ON)
            else:
                days = settings().field_care_reminder_days
                reminders.opt_in(services().db, tracker.sender_id, tracker.get_slot("merchant_id"), days)
                dispatcher.utter_message(text=ft.reminder_on(days))
        except Exception:
            log.exception("care reminder change failed for %s", tracker.sender_id)
            dispatcher.utter_message(text=ft.FIELD_DOWN)
        return [SlotSet(STEP, None)]

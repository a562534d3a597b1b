"""Ticket status ("查工单"): by ticket number, else by the merchant id known in the conversation,
else the tickets opened from this chat, else ask for one of them."""

from __future__ import annotations

import logging
import re
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import CATEGORY_LABELS, HELPED, PENDING, channel_of, entity, latest_text, services
from actions.validators import normalize

log = logging.getLogger(__name__)

STATUS_LABELS = {"open": "待处理", "in_progress": "处理中", "resolved": "已解决", "closed": "已关闭"}
_NUMBER_RE = re.compile(r"GD\d{8}-\d{4}", re.IGNORECASE)
_MERCHANT_RE = re.compile(r"(?<!\d)\d{15}(?!\d)")
MAX_LISTED = 3
ASK_TEXT = "请发一下工单号（比如 GD20261125-0001，在登记成功的消息里），或者15位商户号，我帮您查～"


def _ticket_number(tracker: Tracker) -> str | None:
    value = entity(tracker, "ticket_number")
    if not value:
        m = _NUMBER_RE.search(normalize(latest_text(tracker)))
        value = m.group(0) if m else None
    return value.upper() if value else None


def _merchant_id(tracker: Tracker) -> str | None:
    value = entity(tracker, "merchant_id")
    if not value:
        m = _MERCHANT_RE.search(normalize(latest_text(tracker)))
        value = m.group(0) if m else None
    return value or tracker.get_slot("merchant_id")


def describe(ticket, tz: ZoneInfo) -> str:
    """One ticket as the merchant reads it: number, type, status, last update (local time)."""
    status = getattr(ticket.status, "value", ticket.status)
    category = getattr(ticket.category, "value", ticket.category)
    lines = [
        f"工单 {ticket.number}",
        f"· 类型：{CATEGORY_LABELS.get(category, category)}",
        f"· 状态：{STATUS_LABELS.get(status, status)}",
        f"· 最近更新：{ticket.updated_at.astimezone(tz):%Y-%m-%d %H:%M}",
    ]
    if status == "resolved" and ticket.resolution:
        lines.append(f"· 处理结果：{ticket.resolution}")
    return "\n".join(lines)


def ticket_status_reply(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    from bot.tickets import TicketNotFound
    from bot.tickets.schemas import TicketFilters

    svc = services()
    tz = ZoneInfo(svc.settings.timezone)
    number = _ticket_number(tracker)
    if number:
        try:
            ticket = svc.tickets.get(number)
        except TicketNotFound:
            dispatcher.utter_message(
                text=f"没有查到工单 {number}，麻烦核对一下工单号（格式如 GD20261125-0001）。"
                "也可以发15位商户号，我帮您查名下的工单。"
            )
            return [SlotSet(PENDING, "ticket_lookup")]
        dispatcher.utter_message(text=describe(ticket, tz))
        return [SlotSet(PENDING, None), SlotSet(HELPED, True)]

    merchant_id = _merchant_id(tracker)
    if merchant_id:
        open_tickets = svc.tickets.find_open_for_merchant(merchant_id, limit=MAX_LISTED)
        if open_tickets:
            head = f"商户号 {merchant_id} 名下有 {len(open_tickets)} 张处理中的工单："
            dispatcher.utter_message(text=head + "\n\n" + "\n\n".join(describe(t, tz) for t in open_tickets))
        else:
            recent = svc.tickets.list(TicketFilters(merchant_id=merchant_id), limit=MAX_LISTED).items
            if recent:
                dispatcher.utter_message(
                    text=f"商户号 {merchant_id} 名下目前没有处理中的工单。最近的工单：\n\n"
                    + "\n\n".join(describe(t, tz) for t in recent)
                )
            else:
                dispatcher.utter_message(
                    text=f"商户号 {merchant_id} 名下暂时没有查到工单。如果是刚提交的，请发一下工单号我再查查～"
                )
        return [SlotSet(PENDING, None), SlotSet(HELPED, True), SlotSet("merchant_id", merchant_id)]

    mine = svc.tickets.list_for_sender(channel_of(tracker.sender_id), tracker.sender_id, limit=MAX_LISTED)
    if mine:
        dispatcher.utter_message(text="您在这里提交过的工单：\n\n" + "\n\n".join(describe(t, tz) for t in mine))
        return [SlotSet(PENDING, None), SlotSet(HELPED, True)]

    dispatcher.utter_message(text=ASK_TEXT)
    return [SlotSet(PENDING, "ticket_lookup")]


class ActionCheckTicket(Action):
    def name(self) -> str:
        return "action_check_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        try:
            return ticket_status_reply(dispatcher, tracker)
        except Exception:
            log.exception("ticket lookup failed for %s", tracker.sender_id)
            dispatcher.utter_message(text="抱歉，工单系统暂时查不了，请稍后再试，或者说“转人工”。")
            return []

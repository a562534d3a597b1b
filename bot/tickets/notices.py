"""What the merchant reads in the chat when staff work on their ticket. Written once, here.

Status changes reach the merchant as short templated messages; a staff note is internal
unless the agent marks it as a reply to the merchant (``reply_to_merchant``), and then it
is quoted under the template. ``TicketService`` queues exactly these texts as
notifications, and its ``preview`` shows staff the same texts before they save.

Which moves are told: picked up (open → in_progress), resolved, reopened
(resolved → open). Not told: back to the queue (in_progress → open, the merchant's
ticket is still being handled) and closed (the merchant was already told it is resolved).
"""

from __future__ import annotations

STATUS_TEMPLATES: dict[tuple[str | None, str], str] = {
    ("open", "in_progress"): "您的工单 {number} 客服已开始处理，有进展会在这里通知您。",
    ("open", "resolved"): "您的工单 {number} 已处理完成✅ 如果问题还在，直接说“转人工”，客服会接着帮您处理。",
    ("in_progress", "resolved"): "您的工单 {number} 已处理完成✅ 如果问题还在，直接说“转人工”，客服会接着帮您处理。",
    ("resolved", "open"): "您的工单 {number} 已重新打开，客服会继续跟进，有进展会在这里通知您。",
}
REPLY_LINE = "客服留言：{text}"
COMMENT_TEMPLATE = "关于您的工单 {number}，客服回复：{text}"


def status_notice(number: str, from_status: str, to_status: str, reply: str | None = None) -> str | None:
    """The merchant's message for a status change (with the agent's reply, if marked), else None."""
    template = STATUS_TEMPLATES.get((from_status, to_status))
    if template is None:
        return comment_notice(number, reply) if reply else None
    text = template.format(number=number)
    return f"{text}\n{REPLY_LINE.format(text=reply)}" if reply else text


def comment_notice(number: str, text: str) -> str:
    """A note the agent marked as a reply to the merchant, without a status change."""
    return COMMENT_TEMPLATE.format(number=number, text=text)


def merchant_messages(
    number: str, change: tuple[str, str] | None, note: str | None, reply_to_merchant: bool
) -> list[str]:
    """Exactly what the merchant's chat receives for one staff change (status move and/or note)."""
    reply = note if reply_to_merchant and note else None
    if change is not None:
        text = status_notice(number, change[0], change[1], reply)
    else:
        text = comment_notice(number, reply) if reply else None
    return [text] if text else []

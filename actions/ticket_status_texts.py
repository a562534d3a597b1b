"""What the bot says when a merchant checks a ticket ("查工单"), written once.

The ticket's lines and the overview of a conversation's tickets, and the replies of the
private-by-default lookup (actions/tickets.py): asking the phone on the ticket, a wrong
one, and how to check a ticket that is not from this chat safely.
"""

from __future__ import annotations

from bot.vocabulary import STATUS_LABELS

NUMBER_EXAMPLE = "GD20261125-K7M3Q9"


def field_when_line(kind: str, when: str) -> str:
    """The line a consumables or visit ticket's status adds: when it arrives / the visit is."""
    return f"\n· {'预计送达' if kind == 'consumables' else '上门时间'}：{when}"


def ticket_lines(number: str, category_label: str, status: str, updated: str, resolution: str | None) -> str:
    lines = [
        f"工单 {number}",
        f"· 类型：{category_label}",
        f"· 状态：{STATUS_LABELS.get(status, status)}",
        f"· 最近更新：{updated}",
    ]
    if resolution:
        lines.append(f"· 处理结果：{resolution}")
    return "\n".join(lines)


def tickets_overview(active: list[str], finished: list[str], counts: dict[str, int], more: int) -> str:
    """This conversation's tickets: unfinished ones first, the counts matching their states.

    ``counts``: unfinished tickets per status (all of them; ``more`` were not listed).
    """
    parts: list[str] = []
    if active:
        unfinished = sum(counts.values())
        detail = "、".join(f"{counts[s]} 张{STATUS_LABELS[s]}" for s in ("in_progress", "open") if counts.get(s))
        parts.append(f"您有 {unfinished} 张工单还没处理完（{detail}）：\n\n" + "\n\n".join(active))
    if finished:
        lead = "最近处理完的工单：" if active else "您的工单都已处理完，最近的："
        parts.append(lead + "\n\n" + "\n\n".join(finished))
    text = "\n\n".join(parts)
    if more:
        text += f"\n\n还有 {more} 张更早的工单没有列出，发工单号可以单独查询。"
    return text


def ask_ticket_number() -> str:
    return f"请发一下工单号（比如 {NUMBER_EXAMPLE}，在登记成功的消息里），我帮您查～"


def ask_phone_to_verify(number: str) -> str:
    return f"为了保护商户信息，查询工单 {number} 需要先核对一下身份：请发一下登记这张工单时留的手机号（11位）。"


def verify_after_form(number: str) -> str:
    return f"工单 {number} 需要先核对身份才能查看，等这张工单登记完，再发一次工单号我帮您核对～"


def phone_mismatch(number: str) -> str:
    return f"没有查到和这个手机号对应的工单 {number}，麻烦核对一下工单号和手机号再发一次～"


def check_safely() -> str:
    """How a merchant checks a ticket that is not from this chat, without us showing it to a stranger."""
    return (
        "为了保护商户信息，这张工单暂时不能在这里查看。您可以：\n"
        "1. 在商户App里打开“在线客服”（会自动核对身份）再查；\n"
        "2. 说“转人工”，客服核对身份后帮您查。"
    )


def merchant_lookup_needs_identity(merchant_mask: str) -> str:
    return (
        f"为了保护商户信息，按商户号（{merchant_mask}）查全部工单需要先核对身份。您可以：\n"
        "1. 在商户App里打开“在线客服”（会自动核对身份）再查；\n"
        "2. 发工单号，我核对登记时留的手机号后告诉您进度。"
    )

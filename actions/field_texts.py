"""What the bot says about consumables, on-site visits and care, written once.

Numbers come from the settings (lead times, limits) and from the ticket (dates), never
from here.
"""

from __future__ import annotations

from actions.texts import ASK_TEXTS, CONFIRM_TITLES, retry  # noqa: F401  (the one re-ask wording)
from bot.vocabulary import STATUS_LABELS, slot_labels

TIME_OK_TITLES = ("对，就这个时间", "换个时间")
HALF_TITLES = ("上午", "下午")
PICKUP_TITLE = "自取"
CANCEL_VISIT_TITLES = ("确定取消", "不取消")
REMINDER_TITLE = "定期提醒我保养"

FIELD_ASK = {
    "merchant_id": ASK_TEXTS["merchant_id"],
    "terminal_id": ASK_TEXTS["terminal_id"],
    "phone": ASK_TEXTS["phone"],
    "supply_item": "需要哪种耗材？点下面的选项，或者直接说，比如“80×80的打印纸”：",
    "visit_kind": "请问需要哪种上门服务？",
    "visit_address": "请发一下需要上门的店铺地址（带上市和区，比如“杭州市西湖区文三路100号”）：",
    "visit_problem": "机器出了什么问题？简单说一下，师傅好带对配件：",
    "visit_time": "希望哪天上门？按半天预约，可以说“明天下午”“周六上午”或“12月5日上午”：",
}
WHICH_FIELD = "请问要修改哪一项？"
CONSUMABLES_TITLE = "耗材申请"
VISIT_TITLE = "上门预约"
# The lines of the summaries the merchant confirms.
SUMMARY_LABELS = {
    "items": "耗材",
    "delivery": "方式",
    "address": "地址",
    "kind": "服务类型",
    "merchant_id": "商户号",
    "terminal_id": "终端号",
    "device_serial": "设备序列号",
    "problem": "问题",
    "time": "上门时间",
    "phone": "联系手机",
}
PICK_FIELD = "请点一下要修改的项目～"
FIELD_EDIT_LABELS = slot_labels(
    "supply_item",
    "supply_quantity",
    "supply_delivery",
    "visit_kind",
    "terminal_id",
    "visit_address",
    "visit_problem",
    "visit_time",
    "merchant_id",
    "phone",
)


def consumables_intro() -> str:
    return "好的，我来帮您申请耗材配送，问您几个问题就好，之前说过的不用再说。中途说“取消”可以随时退出。"


def visit_intro(kind_label: str | None) -> str:
    what = f"预约{kind_label}" if kind_label else "预约上门服务"
    return f"好的，我来帮您{what}，问您几个问题就好，之前说过的不用再说。中途说“取消”可以随时退出。"


def ask_quantity(unit: str, limit: int) -> str:
    return f"需要几{unit}？（一次最多{limit}{unit}）"


def ask_delivery(pickup_point: str) -> str:
    return f"送到哪里？请发店铺地址（带上市和区）；想自己去拿的话回复“{PICKUP_TITLE}”，到{pickup_point}领取。"


def ask_half(day_label: str) -> str:
    return f"{day_label}上午还是下午？"


def ask_time_ok(window_label: str) -> str:
    return f"您选的是 {window_label}，对吗？"


def time_ok_reask() -> str:
    return f"请点“{TIME_OK_TITLES[0]}”或“{TIME_OK_TITLES[1]}”，也可以直接说新的时间，比如“周五下午”。"


def summary(title: str, lines: list[tuple[str, str]]) -> str:
    body = "\n".join(f"· {label}：{value}" for label, value in lines)
    return f"请核对{title}：\n{body}\n没问题请点“{CONFIRM_TITLES[0]}”；需要改就点“{CONFIRM_TITLES[1]}”。"


def items_line(label: str, quantity: int, unit: str) -> str:
    return f"{label} × {quantity}{unit}"


def consumables_submitted(
    number: str, items: str, method: str, address: str | None, lead: int, by: str, pickup_point: str
) -> str:
    if method == "delivery":
        where = f"送到：{address}"
        when = f"预计{lead}个工作日内送达（{by}前）"
    else:
        where = f"自取：{pickup_point}"
        when = f"预计{lead}个工作日内可以领取（{by}起）"
    return (
        f"已为您登记耗材申请✅ 工单号 {number}\n· {items}\n· {where}\n{when}，有变化会在这里通知您。"
        "想看进度随时问我“我的纸什么时候到”。"
    )


def visit_submitted(
    number: str, kind_label: str, window: str, address: str, area: str | None, phone: str | None
) -> str:
    area_part = f"（{area}）" if area else ""
    contact = f"安排好维护人员后会联系 {phone}。" if phone else "安排好维护人员后会在这里通知您。"
    return (
        f"已为您预约{kind_label}✅ 工单号 {number}\n· 时间：{window}\n· 地址：{address}{area_part}\n{contact}"
        "要改时间可以说“改到周五下午”，不需要了说“不用来了”。"
    )


def delivery_status(
    number: str, items: str, status: str, outcome: str | None, by: str | None, method: str | None
) -> str:
    lines = [f"您申请的耗材（工单 {number}）：", f"· {items}"]
    if outcome == "done" or status in ("resolved", "closed"):
        lines.append("· 状态：已完成配送" if method == "delivery" else "· 状态：已备好/已领取")
    else:
        lines.append(f"· 状态：{STATUS_LABELS.get(status, status)}")
        if by:
            lines.append(f"· 预计：{by}前{'送达' if method == 'delivery' else '可以领取'}")
    return "\n".join(lines)


def visit_status(
    number: str, kind_label: str, status: str, outcome: str | None, window: str | None, assigned: bool
) -> str:
    lines = [f"您的{kind_label}预约（工单 {number}）："]
    if outcome == "cancelled":
        lines.append("· 状态：已取消")
    elif outcome == "done" or status in ("resolved", "closed"):
        lines.append("· 状态：已完成")
    else:
        if window:
            lines.append(f"· 时间：{window}")
        lines.append(f"· 状态：{'已安排维护人员' if assigned else '等待安排维护人员'}")
    return "\n".join(lines)


NO_FIELD_TICKET = (
    "在这个对话里没有找到您的耗材申请或上门预约。需要的话直接说“送几卷打印纸”或“派人上门”；"
    "在别处登记的可以发工单号给我查。"
)
NO_OPEN_VISIT = "没有找到您待上门的预约，所以没有可以改的。需要预约的话说“派人上门”就行～"
NO_VISIT_TO_CANCEL = "没有找到您待上门的预约，所以没有可以取消的。需要预约的话说“派人上门”就行～"
CANCELLED = "好的，已取消这次登记，填写的信息已清除。还有其他问题随时问我～"
FIELD_DOWN = "抱歉，系统暂时出了点问题，没能提交成功😥 可以稍后再试，或者说“转人工”。"
EARLIER_STEP = "您点的是前面一步的按钮～我们接着填："


def ask_reschedule(number: str, window: str | None) -> str:
    now = f"（现在约的是 {window}）" if window else ""
    return f"工单 {number} 的上门时间想改到什么时候？{now}可以说“周五下午”“12月8日上午”："


def rescheduled(number: str, window: str) -> str:
    return f"好的，已改到 {window}✅（工单 {number}）。还要改的话随时告诉我。"


def ask_cancel_visit(number: str, window: str | None) -> str:
    when = f" {window} 的" if window else "的"
    return f"确定取消{when}上门服务吗？（工单 {number}）"


def visit_cancelled(number: str) -> str:
    return f"好的，已取消这次上门服务（工单 {number}）。以后需要随时找我预约～"


VISIT_KEPT = "好的，预约保持不变～"


def reminder_on(days: int) -> str:
    return f"好的，以后每{days}天在这里提醒您保养一次机器。不想再收到的话说“不用提醒保养了”。"


REMINDER_OFF = "好的，已关闭保养提醒，不会再发了。"
REMINDER_NOT_ON = "您还没有开通保养提醒，所以不用关闭～"


def address_with_area(address: str | None, area: str | None) -> str:
    return f"{address}（{area}）"

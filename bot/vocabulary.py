"""The words of the domain, written once: conversation ids, the rules of ids and limits, labels.

Actions, the ticket service, the conversation service, the chat core and the staff page
(``GET /api/staff/labels``) all read these; nobody keeps a copy.

Pure Python, importing nothing from the app: ``actions.common`` imports it, and Rasa's own
Python 3.10 environment imports ``actions.common`` (``action_turn_hook`` runs inside Rasa,
bot/rasa_ext/local_actions.py) without SQLAlchemy 2, pydantic 2 or the app's settings.
"""

from __future__ import annotations

from decimal import Decimal

# --- conversation ids ----------------------------------------------------------------------
# A conversation is "<channel>:<the channel's own sender id>" ("web:3f2a…", "wechat:oAbC…"):
# Rasa's sender id, the key of every stored conversation, ticket notification and outbox row.

CONV_ID_MAX = 160  # "<channel>:" + the channel's own id (64 for web, 28-ish for WeChat openids)
UNKNOWN_CHANNEL = "unknown"
# Chat channels a ticket can come from; any other conversation files its tickets as "api".
TICKET_CHAT_CHANNELS = ("web", "wechat", "wecom")


def conversation_id(channel: str, sender_id: str) -> str:
    """Rasa's sender id: the channel prefix lets actions know where a conversation lives."""
    return f"{channel}:{sender_id}"


def channel_of(conv_id: str) -> str:
    """Channel prefix of a conversation id: ``web:abc`` -> ``web``; no prefix -> ``unknown``."""
    head, sep, _ = conv_id.partition(":")
    return head if sep and head else UNKNOWN_CHANNEL


def ticket_channel_of(conv_id: str) -> str:
    """The ticket channel of a conversation id: ``web:…`` → web, ``wechat:…`` → wechat,
    ``wecom:…`` → wecom, anything else api."""
    head = conv_id.partition(":")[0]
    return head if head in TICKET_CHAT_CHANNELS else "api"


# --- ids and limits ------------------------------------------------------------------------

MERCHANT_ID_DIGITS = 15
TERMINAL_ID_DIGITS = 8
PHONE_DIGITS = 11
MERCHANT_ID_PATTERN = rf"\d{{{MERCHANT_ID_DIGITS}}}"
TERMINAL_ID_PATTERN = rf"\d{{{TERMINAL_ID_DIGITS}}}"
# Mainland China mobile numbers: 1, then 3-9, then nine digits.
MOBILE_PATTERN = r"1[3-9]\d{9}"
# A device serial (label on the back, e.g. N910SN00123456): letters, digits, hyphens, 4-64 characters.
DEVICE_SERIAL_PATTERN = r"[A-Za-z0-9][A-Za-z0-9-]{3,63}"

AMOUNT_MAX = Decimal("10000000")  # yuan: far above any POS transaction
TICKET_DESCRIPTION_MAX = 2000  # what the ticket service stores
CHAT_DESCRIPTION_MIN = 2  # what the chat forms accept as a problem description
CHAT_DESCRIPTION_MAX = 500

# --- labels of the ticket domain (bot.tickets.states checks them against its enums) --------

STATUS_LABELS: dict[str, str] = {"open": "待处理", "in_progress": "处理中", "resolved": "已解决", "closed": "已关闭"}
CATEGORY_LABELS: dict[str, str] = {
    "repair": "故障报修",
    "settlement": "结算到账",
    "activation": "开通激活",
    "handoff": "人工咨询",
    "consumables": "耗材配送",
    "visit": "上门服务",
    "other": "其他咨询",
}
PRIORITY_LABELS: dict[str, str] = {"low": "低", "normal": "普通", "high": "高", "urgent": "紧急"}
CHANNEL_LABELS: dict[str, str] = {
    "web": "网页",
    "wechat": "微信",
    "wecom": "企业微信",
    "api": "接口",
    "phone": "电话",
    "staff": "客服",
}
EVENT_LABELS: dict[str, str] = {
    "created": "创建工单",
    "status_changed": "状态变更",
    "assigned": "指派",
    "priority_changed": "优先级变更",
    "commented": "备注",
    "field_changed": "上门/配送变更",
    "delivered": "已同步到工单系统",
    "notification": "已通知商户",
}

# What the staff page shows about handoffs and FAQ decisions.
HANDOFF_REASON_LABELS: dict[str, str] = {
    "request_human": "商户要求转人工",
    "urgent": "情绪激动或情况紧急",
    "fallback": "机器人连续答不上来",
}
FAQ_DECISION_LABELS: dict[str, str] = {"answer": "可直接回答", "suggest": "给出候选", "none": "未找到合适答案"}
MATCH_LABELS: dict[str, str] = {"high": "高", "medium": "中", "low": "低"}

# Field jobs (bot.field): what a consumables or visit ticket asks for.
FIELD_KIND_LABELS: dict[str, str] = {
    "consumables": "耗材配送",
    "installation": "新装机",
    "repair": "上门维修",
    "relocation": "移机",
    "training": "操作培训",
}
VISIT_KIND_LABELS: dict[str, str] = {k: v for k, v in FIELD_KIND_LABELS.items() if k != "consumables"}
DELIVERY_LABELS: dict[str, str] = {"delivery": "送货上门", "pickup": "网点自取"}

# Fields of the ticket API as validation messages and the staff page name them; unknown
# fields fall back to "字段 <name>".
TICKET_FIELD_LABELS: dict[str, str] = {
    "category": "工单类别",
    "merchant_id": "商户号",
    "terminal_id": "终端号",
    "device_serial": "设备序列号",
    "contact_phone": "联系电话",
    "description": "问题描述",
    "priority": "优先级",
    "status": "状态",
    "assignee": "处理人",
    "note": "备注",
    "reply_to_merchant": "发给商户",
    "channel": "渠道",
    "sender_id": "会话用户标识",
    "transcript": "对话记录",
    "role": "角色",
    "text": "内容",
    "at": "时间",
    "settlement_date": "交易日期",
    "settlement_amount": "交易金额",
    "author": "作者",
    "body": "请求体",
    "limit": "每页条数",
    "cursor": "分页游标",
    "created_from": "起始时间",
    "created_to": "截止时间",
    "idempotency-key": "幂等键（Idempotency-Key）",
    "idempotency_key": "幂等键",
    "field": "上门/配送信息",
    "kind": "服务类型",
    "items": "耗材",
    "code": "耗材代码",
    "quantity": "数量",
    "delivery_method": "配送方式",
    "address": "地址",
    "service_area": "服务区域",
    "scheduled_date": "日期",
    "half_day": "时段",
    "parts_used": "使用的配件",
    "item": "配件",
    "maintainer": "维护人员",
}

# Slots of the chat forms as the bot names them to the merchant ("请发新的手机号", the 修改 buttons).
# "terminal" is the ticket form's one question for terminal id or serial.
SLOT_LABELS: dict[str, str] = {
    "merchant_id": "商户号",
    "terminal": "终端号/序列号",
    "terminal_id": "终端号",
    "device_serial": "设备序列号",
    "phone": "手机号",
    "txn_date": "交易日期",
    "amount": "交易金额",
    "description": "问题描述",
    "supply_item": "耗材",
    "supply_quantity": "数量",
    "supply_delivery": "配送方式/地址",
    "visit_kind": "服务类型",
    "visit_address": "地址",
    "visit_problem": "问题",
    "visit_time": "上门时间",
}


def slot_labels(*slots: str) -> dict[str, str]:
    """The labels of ``slots``, in that order."""
    return {s: SLOT_LABELS[s] for s in slots}

"""Tickets: merchant support cases, their event log, webhook outbox and API keys.

This module only defines the error hierarchy, so importing ``bot.tickets`` stays
cheap; the service lives in ``bot.tickets.service``.

Every error carries an HTTP status and a bilingual (Chinese / English) message,
so the API error handler and the chat actions can show it as is.
"""

from __future__ import annotations


class TicketError(Exception):
    """Base of the errors the ticket service raises on purpose."""

    status_code = 400
    code = "ticket_error"
    # For 422s: where the bad value came from, as a FastAPI-style error location.
    loc: tuple[str, ...] = ()

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TicketNotFound(TicketError):
    status_code = 404
    code = "ticket_not_found"

    def __init__(self, number: str):
        super().__init__(f"工单 {number} 不存在 / ticket {number} not found")
        self.number = number


class IllegalTransition(TicketError):
    status_code = 409
    code = "illegal_transition"

    def __init__(self, current: str, target: str, allowed: tuple[str, ...] = ()):
        hint = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"工单状态不能从 {current} 变为 {target} / illegal status transition {current} -> {target} "
            f"(allowed: {hint})"
        )
        self.current = current
        self.target = target


class ConcurrentUpdate(TicketError):
    status_code = 409
    code = "concurrent_update"

    def __init__(self, number: str):
        super().__init__(f"工单 {number} 正被同时修改，请重试 / ticket {number} was modified concurrently, retry")


class InvalidCursor(TicketError):
    status_code = 422
    code = "invalid_cursor"
    loc = ("query", "cursor")

    def __init__(self) -> None:
        super().__init__("分页游标（cursor）无效 / cursor is invalid")


class InvalidIdempotencyKey(TicketError):
    status_code = 422
    code = "invalid_idempotency_key"
    loc = ("header", "Idempotency-Key")

    def __init__(self) -> None:
        super().__init__(
            "幂等键（Idempotency-Key）必须是1到128个可打印ASCII字符 / "
            "Idempotency-Key must be 1 to 128 printable ASCII characters"
        )


class OutboxEventNotFound(TicketError):
    status_code = 404
    code = "outbox_event_not_found"

    def __init__(self, event_id: str):
        super().__init__(f"投递事件 {event_id} 不存在 / outbox event {event_id} not found")


class OutboxEventDelivered(TicketError):
    status_code = 409
    code = "outbox_event_delivered"

    def __init__(self, event_id: str):
        super().__init__(f"投递事件 {event_id} 已送达，无需重试 / outbox event {event_id} was already delivered")


class NotificationNotFound(TicketError):
    status_code = 404
    code = "notification_not_found"

    def __init__(self, notification_id: int):
        super().__init__(f"通知 {notification_id} 不存在 / notification {notification_id} not found")


__all__ = [
    "ConcurrentUpdate",
    "IllegalTransition",
    "InvalidCursor",
    "InvalidIdempotencyKey",
    "NotificationNotFound",
    "OutboxEventDelivered",
    "OutboxEventNotFound",
    "TicketError",
    "TicketNotFound",
]


class NotAFieldJob(TicketError):
    status_code = 409
    code = "not_a_field_job"

    def __init__(self, number: str):
        super().__init__(f"工单 {number} 不是耗材配送或上门服务工单 / ticket {number} has no field job")


class FieldJobFinished(TicketError):
    status_code = 409
    code = "field_job_finished"

    def __init__(self, number: str, outcome: str):
        label = "已完成" if outcome == "done" else "已取消"
        super().__init__(f"工单 {number} 的上门/配送{label}，不能再修改 / field job of {number} is {outcome}")


class UnknownMaintainer(TicketError):
    status_code = 422
    code = "unknown_maintainer"
    loc = ("body", "maintainer")

    def __init__(self, username: str):
        super().__init__(
            f"维护人员（maintainer）{username} 不是可接单的员工账号 / maintainer {username} is not an active account with field:write"
        )

"""Enumerations of the ticket domain and the status state machine.

    open → in_progress → resolved → closed, plus the shortcuts and returns below.

Allowed moves (anything else raises IllegalTransition, HTTP 409):

* open → in_progress: staff picks the ticket up.
* open → resolved: solved right away (e.g. answered on the phone).
* in_progress → open: released back to the queue (staff unavailable).
* in_progress → resolved: work done; the merchant is notified.
* resolved → closed: confirmed or expired; ``closed`` is final.
* resolved → open: reopened, the problem is not gone.

Closing straight from open/in_progress is not allowed on purpose: every closed ticket
went through ``resolved``, so the merchant was told about the outcome. A duplicate is
resolved with a note ("duplicate of GD…") and then closed.
A move to the current status is a no-op, not an error (PATCH stays idempotent).
"""

from __future__ import annotations

from enum import StrEnum

from bot.tickets import IllegalTransition
from bot.vocabulary import CATEGORY_LABELS, CHANNEL_LABELS, EVENT_LABELS, PRIORITY_LABELS, STATUS_LABELS


class Status(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Category(StrEnum):
    REPAIR = "repair"
    SETTLEMENT = "settlement"
    ACTIVATION = "activation"
    HANDOFF = "handoff"
    CONSUMABLES = "consumables"
    VISIT = "visit"
    OTHER = "other"


# Categories whose tickets carry a field job (bot.field): deliveries and on-site visits.
FIELD_CATEGORIES = frozenset({Category.CONSUMABLES, Category.VISIT})


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Channel(StrEnum):
    WEB = "web"
    WECHAT = "wechat"
    WECOM = "wecom"
    API = "api"
    PHONE = "phone"
    STAFF = "staff"


class EventType(StrEnum):
    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    ASSIGNED = "assigned"
    PRIORITY_CHANGED = "priority_changed"
    COMMENTED = "commented"
    FIELD_CHANGED = "field_changed"
    DELIVERED = "delivered"
    NOTIFICATION = "notification"


# Event types the external ticketing system receives through the outbox. `delivered`
# and `notification` are our own bookkeeping: sending them would loop or leak chat ids.
OUTBOX_EVENT_TYPES = frozenset(
    {
        EventType.CREATED,
        EventType.STATUS_CHANGED,
        EventType.ASSIGNED,
        EventType.PRIORITY_CHANGED,
        EventType.COMMENTED,
        EventType.FIELD_CHANGED,
    }
)

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.IN_PROGRESS, Status.RESOLVED}),
    Status.IN_PROGRESS: frozenset({Status.OPEN, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.OPEN}),
    Status.CLOSED: frozenset(),
}

# What staff and merchants read for each code: bot.vocabulary (GET /api/staff/labels serves them).
for _enum, _labels in (
    (Status, STATUS_LABELS),
    (Category, CATEGORY_LABELS),
    (Priority, PRIORITY_LABELS),
    (Channel, CHANNEL_LABELS),
    (EventType, EVENT_LABELS),
):
    assert set(_labels) == {m.value for m in _enum}, f"labels of {_enum.__name__} out of date"

# Statuses in which a ticket still needs work (find_open_for_merchant).
ACTIVE_STATUSES = frozenset({Status.OPEN, Status.IN_PROGRESS})


def allowed_targets(current: Status | str) -> tuple[str, ...]:
    return tuple(sorted(s.value for s in TRANSITIONS[Status(current)]))


def check_transition(current: Status | str, target: Status | str) -> bool:
    """True if the status changes, False for a no-op; raises IllegalTransition otherwise."""
    cur, tgt = Status(current), Status(target)
    if cur == tgt:
        return False
    if tgt not in TRANSITIONS[cur]:
        raise IllegalTransition(cur.value, tgt.value, allowed_targets(cur))
    return True

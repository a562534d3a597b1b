"""Human-friendly ticket numbers: ``GD<YYYYMMDD>-<NNNN>``.

The date is the local date in ``settings.timezone`` (merchants read it), the sequence
restarts at 0001 each day and widens past 9999 rather than wrapping.

The sequence comes from one row per day in ``ticket_counters``, bumped with a single
``INSERT ... ON CONFLICT DO UPDATE SET last_value = last_value + 1 RETURNING``
inside the ticket's own transaction. The row lock (PostgreSQL) or the database write
lock (SQLite) serialises concurrent creators, and a rolled-back ticket rolls its
number back too, so numbers are unique and gap-free.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.tickets.models import TicketCounter

NUMBER_RE = re.compile(r"^GD(\d{8})-(\d{4,})$")


def local_day(moment: datetime, timezone: str) -> str:
    """``YYYYMMDD`` of an aware datetime in the given timezone."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: ticket numbers need an aware one")
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y%m%d")


def format_number(day: str, sequence: int) -> str:
    return f"GD{day}-{sequence:04d}"


def is_ticket_number(text: str) -> bool:
    return bool(NUMBER_RE.match(text))


def next_sequence(session: Session, day: str) -> int:
    """Atomically take the next sequence number of ``day`` in the session's transaction."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        insert = postgresql.insert
    elif dialect == "sqlite":
        insert = sqlite.insert
    else:  # pragma: no cover - the project runs on these two only
        raise RuntimeError(f"ticket numbers need SQLite or PostgreSQL, not {dialect}")
    stmt = (
        insert(TicketCounter)
        .values(day=day, last_value=1)
        .on_conflict_do_update(
            index_elements=[TicketCounter.day],
            set_={"last_value": TicketCounter.last_value + 1},
        )
        .returning(TicketCounter.last_value)
    )
    return int(session.execute(stmt).scalar_one())


def next_number(session: Session, moment: datetime, timezone: str) -> str:
    day = local_day(moment, timezone)
    return format_number(day, next_sequence(session, day))

"""Ticket numbers: ``GD<YYYYMMDD>-<6 random characters>``, e.g. ``GD20261125-K7M3Q9``.

The date is the local date in ``settings.timezone`` (merchants and staff read it). The
rest is random, so a number says nothing about how many tickets exist and cannot be
walked: one day has 31^6 ≈ 887 million possible numbers, and the chat never tells a
stranger whether a guessed number exists (see actions/tickets.py).

The random part is read out on the phone, so its alphabet leaves out the characters
people confuse when they say or read them: 0/O, 1/I/L. Merchants type numbers in any
case, with spaces or without the hyphen; ``find_ticket_number`` reads all of that, and
also the older ``GD<YYYYMMDD>-<NNNN>`` numbers (daily sequence, before migration 0006),
which still exist.

Uniqueness: the ``tickets.number`` column is unique; the creator draws again when the
drawn number is taken (``TicketService.create``).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0 O 1 I L
RANDOM_LENGTH = 6

# Canonical forms: the current one and the legacy daily sequence.
NUMBER_RE = re.compile(rf"^GD(\d{{8}})-([{ALPHABET}]{{{RANDOM_LENGTH}}}|\d{{4,}})$")
# What a merchant types: any case, spaces or a missing hyphen between the parts.
_TYPED_RE = re.compile(
    rf"(?<![0-9A-Za-z])GD\s*(\d{{8}})\s*[-_－—]?\s*([{ALPHABET}]{{{RANDOM_LENGTH}}}|\d{{4,6}})(?![0-9A-Za-z])",
    re.IGNORECASE,
)


def local_day(moment: datetime, timezone: str) -> str:
    """``YYYYMMDD`` of an aware datetime in the given timezone."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: ticket numbers need an aware one")
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y%m%d")


def random_part() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))


def new_number(moment: datetime, timezone: str) -> str:
    """A fresh number for a ticket created at ``moment`` (not yet checked for uniqueness)."""
    return f"GD{local_day(moment, timezone)}-{random_part()}"


def is_ticket_number(text: str) -> bool:
    """True for a canonical number (upper case, with the hyphen), current or legacy format."""
    return bool(NUMBER_RE.fullmatch(text or ""))


def find_ticket_number(text: str) -> str | None:
    """The first ticket number in what a merchant typed, in canonical form, else None."""
    t = (text or "").translate(str.maketrans("０１２３４５６７８９－", "0123456789-"))
    m = _TYPED_RE.search(t)
    if not m:
        return None
    return f"GD{m.group(1)}-{m.group(2).upper()}"

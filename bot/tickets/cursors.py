"""Opaque pagination cursors shared by the ticket list and the outbox list.

The tag keeps a cursor from one list from being accepted by another.
"""

from __future__ import annotations

import base64

from bot.tickets import InvalidCursor


def encode_cursor(tag: str, last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{tag}:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(tag: str, cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        got, value = raw.split(":", 1)
        if got != tag:
            raise ValueError(got)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc

"""Masking of merchant identifiers wherever they are shown to someone else than the merchant.

One place, so chat replies, staff overviews and logs mask the same way.
"""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """138****5678; anything that is not an 11-digit number is returned as is (nothing to hide)."""
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) == 11 else (phone or "")


def mask_id(value: str | None) -> str:
    """8983****1234 for merchant ids and other long numbers; short values stay as they are."""
    value = value or ""
    return f"{value[:4]}****{value[-4:]}" if len(value) > 8 else value

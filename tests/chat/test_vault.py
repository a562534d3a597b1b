"""The phone vault on SQLite and PostgreSQL: per conversation, encrypted, expiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.conversations.vault import PhoneVault

PHONE = "13812345678"
KEY = b"k" * 32


class Clock:
    def __init__(self):
        self.now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)

    def __call__(self):
        return self.now


def test_kept_encrypted_per_conversation_and_forgotten_after_the_ttl(database):
    clock = Clock()
    vault = PhoneVault(database, KEY, ttl_s=3600, clock=clock)
    assert vault.keep("web:a", PHONE) == "138****5678"
    assert vault.keep("web:a", PHONE) == "138****5678"  # typed again: one row, expiry renewed
    with database.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT conversation_id, masked, sealed FROM conversation_pii")).all()
    assert len(rows) == 1 and rows[0][1] == "138****5678" and PHONE not in rows[0][2]
    assert vault.resolve("web:a", "138****5678") == PHONE
    assert vault.resolve("web:b", "138****5678") is None  # another conversation
    assert PhoneVault(database, b"x" * 32, clock=clock).resolve("web:a", "138****5678") is None  # another key
    clock.now += timedelta(seconds=3601)
    assert vault.resolve("web:a", "138****5678") is None
    vault.keep("web:c", "13900001111")  # keeping deletes expired rows
    with database.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM conversation_pii")).scalar_one() == 1


def test_the_latest_of_two_numbers_with_the_same_mask_wins(database):
    vault = PhoneVault(database, KEY)
    vault.keep("web:a", "13812345678")
    vault.keep("web:a", "13800005678")
    assert vault.resolve("web:a", "138****5678") == "13800005678"

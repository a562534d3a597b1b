"""Migration 0001_tickets matches the ORM models and can be rolled back."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.core.db import Base, alembic_config, make_engine, upgrade
from bot.tickets.models import TICKET_TABLES


def _ours(diff) -> bool:
    """Whether an autogenerate diff entry concerns one of the ticket tables."""
    if isinstance(diff, list):  # column modifications come grouped
        return any(_ours(d) for d in diff)
    for part in diff[1:]:
        table = getattr(part, "table", None)
        name = getattr(table, "name", None) or getattr(part, "name", None)
        if isinstance(part, str) and part in TICKET_TABLES:
            return True
        if name in TICKET_TABLES:
            return True
    return False


def test_migration_matches_models(db_url):
    import bot.core.models  # noqa: F401  (all tables on Base.metadata)

    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = [d for d in compare_metadata(ctx, Base.metadata) if _ours(d)]
    finally:
        engine.dispose()
    assert diffs == []


def test_downgrade_and_upgrade_again(db_url):
    upgrade(db_url, "0001_tickets")
    cfg = alembic_config(db_url)
    command.downgrade(cfg, "base")
    engine = make_engine(db_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        assert not tables & set(TICKET_TABLES)
    finally:
        engine.dispose()
    upgrade(db_url, "0001_tickets")
    engine = make_engine(db_url)
    try:
        assert set(TICKET_TABLES) <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_one_head_random_numbers_after_web_chat(db_url):
    """0006_random_ticket_numbers comes after 0005_web_chat, leads to the only head, and drops the
    per-day counter; downgrading one step brings the (empty) counter back."""
    from alembic.script import ScriptDirectory

    cfg = alembic_config(db_url)
    script = ScriptDirectory.from_config(cfg)
    heads = script.get_heads()
    assert len(heads) == 1
    assert "0006_random_ticket_numbers" in {r.revision for r in script.iterate_revisions(heads[0], "base")}
    assert script.get_revision("0006_random_ticket_numbers").down_revision == "0005_web_chat"

    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        assert "ticket_counters" not in sa.inspect(engine).get_table_names()
        command.downgrade(cfg, "0005_web_chat")
        assert "ticket_counters" in sa.inspect(engine).get_table_names()
        upgrade(db_url)
        assert "ticket_counters" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_phone_vault_table_comes_after_staff_accounts_and_goes_back(db_url):
    """0008_conversation_pii follows 0007 on the single line of migrations and its downgrade drops the vault."""
    from alembic.script import ScriptDirectory

    cfg = alembic_config(db_url)
    script = ScriptDirectory.from_config(cfg)
    heads = script.get_heads()
    assert len(heads) == 1
    assert "0008_conversation_pii" in {r.revision for r in script.walk_revisions("base", heads[0])}
    assert script.get_revision("0008_conversation_pii").down_revision == "0007_staff_accounts"
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        assert "conversation_pii" in sa.inspect(engine).get_table_names()
        command.downgrade(cfg, "0007_staff_accounts")
        assert "conversation_pii" not in sa.inspect(engine).get_table_names()
        upgrade(db_url)
        assert "conversation_pii" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_faq_turn_log_is_the_head_and_goes_back(db_url):
    """0010_faq_turns is on the single line of history and its downgrade drops the turn log only."""
    from alembic.script import ScriptDirectory

    cfg = alembic_config(db_url)
    script = ScriptDirectory.from_config(cfg)
    heads = script.get_heads()
    assert len(heads) == 1
    assert "0010_faq_turns" in {r.revision for r in script.iterate_revisions(heads[0], "base")}
    down = script.get_revision("0010_faq_turns").down_revision
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        assert "faq_turns" in sa.inspect(engine).get_table_names()
        command.downgrade(cfg, down)
        tables = sa.inspect(engine).get_table_names()
        assert "faq_turns" not in tables and "conversations" in tables
        upgrade(db_url)
        assert "faq_turns" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()

"""Staff accounts: the store, argon2 hashes, sessions, the migration and `posbot staff`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.core.settings import get_settings
from bot.staff.accounts import ROLE_SCOPES, LoginFailed, StaffError, StaffStore
from bot.staff.models import StaffAccount, StaffSession

from .conftest import PASSWORD, Clock


def test_password_is_stored_as_an_argon2id_hash(store, database):
    store.create("lihua", "agent", PASSWORD, "李华")
    with database.session() as s:
        row = s.execute(select(StaffAccount)).scalar_one()
        assert row.password_hash.startswith("$argon2id$")
        assert PASSWORD not in row.password_hash
    assert store.authenticate("LiHua", PASSWORD).display_name == "李华"  # usernames are case-insensitive


def test_wrong_password_unknown_user_and_disabled_account_all_fail(store):
    store.create("lihua", "agent", PASSWORD)
    with pytest.raises(LoginFailed):
        store.authenticate("lihua", PASSWORD + "x")
    with pytest.raises(LoginFailed):
        store.authenticate("nobody", PASSWORD)
    store.disable("lihua")
    with pytest.raises(LoginFailed) as exc:
        store.authenticate("lihua", PASSWORD)
    assert exc.value.reason == "disabled account"


@pytest.mark.parametrize(
    "username, role, password",
    [
        ("x", "agent", PASSWORD),
        ("李华", "agent", PASSWORD),
        ("bot", "agent", PASSWORD),
        ("lihua", "boss", PASSWORD),
        ("lihua", "agent", "short"),
    ],
)
def test_create_refuses_bad_input(store, username, role, password):
    with pytest.raises(StaffError):
        store.create(username, role, password)


def test_duplicate_username_is_refused(store):
    store.create("lihua", "agent", PASSWORD)
    with pytest.raises(StaffError, match="already exists"):
        store.create("LIHUA", "viewer", PASSWORD)


def test_roles_widen_step_by_step():
    assert set(ROLE_SCOPES["viewer"]) == {
        "tickets:read",
        "conversations:read",
        "faq:read",
        "field:read",
        "analytics:read",
    }
    assert set(ROLE_SCOPES["agent"]) - set(ROLE_SCOPES["viewer"]) == {
        "tickets:write",
        "conversations:write",
        "field:write",
    }
    assert set(ROLE_SCOPES["editor"]) - set(ROLE_SCOPES["agent"]) == {"faq:write"}
    assert "staff:admin" in ROLE_SCOPES["admin"] and "staff:admin" not in ROLE_SCOPES["editor"]


def test_maintainers_work_their_queue_but_cannot_read_chats_or_change_tickets():
    scopes = set(ROLE_SCOPES["maintainer"])
    assert {"field:read", "field:write", "tickets:read"} <= scopes
    assert not scopes & {"conversations:read", "tickets:write", "staff:admin"}


def test_session_expires_ends_on_logout_and_on_disable(database):
    clock = Clock()
    store = StaffStore(database, clock=clock)
    account = store.create("lihua", "agent", PASSWORD)
    token, _ = store.start_session(account, timedelta(hours=8))
    assert store.session(token).account.username == "lihua"
    with database.session() as s:
        assert token not in s.execute(select(StaffSession.token_hash)).scalar_one()  # only the hash is kept
    clock.advance(hours=8)
    assert store.session(token) is None

    token, _ = store.start_session(account, timedelta(hours=8))
    store.end_session(token)
    assert store.session(token) is None

    token, _ = store.start_session(account, timedelta(hours=8))
    with database.session() as s:  # expired less than a day ago: kept
        assert len(s.execute(select(StaffSession)).all()) == 3
    clock.advance(days=2)
    token, _ = store.start_session(account, timedelta(hours=8))
    with database.session() as s:  # rows of sessions expired over a day ago are purged
        assert len(s.execute(select(StaffSession)).all()) == 1
    store.disable("lihua")
    assert store.session(token) is None
    store.enable("lihua")
    assert store.session(token) is None  # disabling ended it for good


def test_new_password_ends_old_sessions(store):
    account = store.create("lihua", "agent", PASSWORD)
    token, _ = store.start_session(account, timedelta(hours=1))
    store.set_password("lihua", "another long password")
    assert store.session(token) is None
    assert store.authenticate("lihua", "another long password").username == "lihua"


def test_migration_matches_the_models(database):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import bot.core.models  # noqa: F401
    from bot.core.db import Base

    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert [d for d in diff if "staff" in repr(d) or "actor" in repr(d)] == []


def test_migration_downgrades_cleanly(sqlite_url):
    import sqlalchemy as sa
    from alembic import command

    from bot.core.db import alembic_config, upgrade

    upgrade(sqlite_url)
    command.downgrade(alembic_config(sqlite_url), "0006_random_ticket_numbers")
    engine = sa.create_engine(sqlite_url)
    tables = set(sa.inspect(engine).get_table_names())
    assert not tables & {"staff_accounts", "staff_sessions"}
    assert "actor" not in {c["name"] for c in sa.inspect(engine).get_columns("conversation_messages")}
    engine.dispose()
    upgrade(sqlite_url)


@pytest.fixture
def cli(database, db_url, monkeypatch):
    monkeypatch.setenv("POSBOT_DATABASE_URL", db_url)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, ok: bool = True):
        from bot.cli import main

        result = runner.invoke(main, list(args), input=input, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    yield invoke
    get_settings.cache_clear()


def test_cli_creates_lists_and_disables_accounts(cli, store):
    out = cli(
        "staff", "create", "lihua", "--role", "admin", "--name", "李华", "--password-stdin", input=PASSWORD + "\n"
    )
    assert "created lihua (李华), role admin" in out.output
    assert store.authenticate("lihua", PASSWORD).role == "admin"

    prompted = cli("staff", "create", "xiaowang", "--role", "agent", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert PASSWORD not in prompted.output  # hidden input
    assert store.authenticate("xiaowang", PASSWORD).role == "agent"

    listing = cli("staff", "list").output
    assert "lihua" in listing and "xiaowang" in listing and "active" in listing

    cli("staff", "disable", "xiaowang")
    with pytest.raises(LoginFailed):
        store.authenticate("xiaowang", PASSWORD)
    assert "disabled" in cli("staff", "list").output

    bad = cli("staff", "create", "x2", "--role", "agent", "--password-stdin", input="short\n", ok=False)
    assert bad.exit_code != 0 and "at least" in bad.output
    missing = cli("staff", "disable", "nobody", ok=False)
    assert missing.exit_code != 0 and "no account" in missing.output
    for command in (("enable", "nobody"), ("passwd", "nobody", "--password-stdin")):
        miss = cli("staff", *command, input=PASSWORD + "\n", ok=False)
        assert miss.exit_code != 0 and "no account named 'nobody'" in miss.output
    short = cli("staff", "passwd", "lihua", "--password-stdin", input="short\n", ok=False)
    assert short.exit_code != 0 and "at least" in short.output
    assert store.authenticate("lihua", PASSWORD).role == "admin"  # the old password still works
    cli("staff", "enable", "xiaowang")
    assert store.authenticate("xiaowang", PASSWORD).role == "agent"

"""``posbot apikey`` / ``posbot tickets`` commands and the API key store."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from bot.core.settings import get_settings
from bot.tickets.apikeys import ApiKeyRejected, ApiKeyStore, hash_token
from bot.tickets.models import ApiKey, OutboxEvent
from bot.tickets.schemas import TicketPatch

from .helpers import ticket_data

KEY_RE = re.compile(r"key:\s+(posbot_[0-9a-f]{8}_\S+)")


@pytest.fixture
def cli(database, db_url, monkeypatch):
    monkeypatch.setenv("POSBOT_DATABASE_URL", db_url)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        from bot.cli import main

        result = runner.invoke(main, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    yield invoke
    get_settings.cache_clear()


def test_apikey_create_list_revoke(cli, database):
    out = cli("apikey", "create", "--name", "crm-sync", "--scope", "tickets:read", "--scope", "tickets:write").output
    token = KEY_RE.search(out).group(1)
    store = ApiKeyStore(database)
    key = store.authenticate(token)
    assert key.name == "crm-sync" and key.scopes == ("tickets:read", "tickets:write")

    # Only the hash is stored; the list shows the prefix, never the key.
    with database.session() as s:
        row = s.execute(select(ApiKey)).scalar_one()
        assert row.key_hash == hash_token(token) and token not in (row.prefix, row.key_hash, row.name)
    listing = cli("apikey", "list").output
    assert key.prefix in listing and "crm-sync" in listing and token not in listing

    cli("apikey", "revoke", str(key.id))
    with pytest.raises(ApiKeyRejected) as exc:
        store.authenticate(token)
    assert exc.value.reason == "revoked key"
    assert "revoked" in cli("apikey", "revoke", str(key.id)).output  # idempotent

    missing = cli("apikey", "revoke", "9999", ok=False)
    assert missing.exit_code != 0 and "no API key" in missing.output


def test_apikey_create_rejects_unknown_scope(cli):
    result = cli("apikey", "create", "--name", "x", "--scope", "tickets:admin", ok=False)
    assert result.exit_code == 2 and "tickets:admin" in result.output


def test_tickets_list_show_and_outbox_retry(cli, database, service):
    a = service.create(ticket_data(description="第一单"))
    b = service.create(ticket_data(category="other", terminal_id=None))
    service.update(a.number, TicketPatch(status="in_progress", assignee="alice"), actor="staff")

    out = cli("tickets", "list").output
    assert a.number in out and b.number in out
    out = cli("tickets", "list", "--status", "in_progress").output
    assert a.number in out and b.number not in out
    paged = cli("tickets", "list", "--limit", "1").output
    assert b.number in paged and "--cursor" in paged
    cursor = paged.split("--cursor ")[1].split()[0]
    assert a.number in cli("tickets", "list", "--limit", "1", "--cursor", cursor).output
    bad = cli("tickets", "list", "--merchant", "123", ok=False)
    assert bad.exit_code != 0 and "merchant_id" in bad.output

    shown = cli("tickets", "show", a.number).output
    assert "第一单" in shown and "status_changed" in shown and "alice" in shown
    assert cli("tickets", "show", "GD20000101-0001", ok=False).exit_code == 1

    with database.session() as s:
        row = s.execute(select(OutboxEvent).order_by(OutboxEvent.id)).scalars().first()
        row.status, row.attempts, row.last_error = "dead", 8, "HTTP 500"
        event_id = row.event_id
    assert event_id in cli("tickets", "outbox-dead").output
    assert "re-queued" in cli("tickets", "outbox-retry", event_id).output
    assert "no dead events" in cli("tickets", "outbox-dead").output
    assert cli("tickets", "outbox-retry", "nope", ok=False).exit_code == 1


def test_cli_on_an_unmigrated_database_explains(sqlite_url, monkeypatch):
    monkeypatch.setenv("POSBOT_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    try:
        from bot.cli import main

        result = CliRunner().invoke(main, ["apikey", "list"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1 and "posbot db upgrade" in result.output


def test_authenticate_reasons(database):
    store = ApiKeyStore(database)
    new = store.create("ops", ["faq:read"])
    assert store.authenticate(new.token).has_scope("faq:read")
    prefix = new.info.prefix
    cases = {
        None: "missing key",
        "": "missing key",
        "nonsense": "malformed key",
        new.token + "x": "malformed key",
        "posbot_ffffffff_" + "a" * 43: "unknown key",
        f"{prefix}_" + "a" * 43: "wrong secret",
    }
    for token, reason in cases.items():
        with pytest.raises(ApiKeyRejected) as exc:
            store.authenticate(token)
        assert exc.value.reason == reason
        assert exc.value.prefix in (None, "posbot_ffffffff", prefix)
    with pytest.raises(ValueError):
        store.create("x", [])
    with pytest.raises(ValueError):
        store.create(" ", ["faq:read"])


def test_keys_table_holds_no_plaintext(database):
    store = ApiKeyStore(database)
    tokens = [store.create(f"k{i}", ["tickets:read"]).token for i in range(3)]
    with database.engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(text("SELECT * FROM api_keys")) for v in row)
    for token in tokens:
        assert token not in dump and token.split("_", 2)[2] not in dump

"""Production settings for real: PostgreSQL for trackers and tickets, Redis as Rasa's lock store,
two Rasa servers and two app services. A conversation started on one instance continues on the other."""

from __future__ import annotations

import uuid

import httpx
import pytest
import sqlalchemy as sa

from tests import nginx
from tests.conftest import free_port, launch_stack, wait_stack
from tests.support import ChatClient, buttons, operator_key, texts

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def two_stacks(tmp_path_factory, rasa_model, postgres_url):
    # Every instance must accept the others' chat session tokens: one configured key.
    session_key = "prod-session-key-" + uuid.uuid4().hex
    stacks = [
        launch_stack(
            tmp_path_factory.mktemp(f"prod{i}"),
            rasa_model,
            database_url=postgres_url,
            redis_url=REDIS_URL,
            chat_session_secret=session_key,
            pii_vault_key=session_key + "-pii",  # a phone kept by one instance files the ticket on the other
        )
        for i in range(2)
    ]
    try:
        for s in stacks:
            wait_stack(s)
        yield stacks
    finally:
        for s in stacks:
            s.stop()


def test_conversation_moves_between_instances(two_stacks, postgres_url):
    a, b = two_stacks
    assert a.rasa_url != b.rasa_url and a.app_url != b.app_url
    for s in two_stacks:
        key = operator_key(s.settings.effective_database_url)
        health = httpx.get(f"{s.app_url}/healthz", headers=key, timeout=10).json()
        assert health["database"]["dialect"] == "postgresql"

    sender = "p" + uuid.uuid4().hex[:10]
    on_a, on_b = ChatClient(a.app_url), ChatClient(b.app_url)
    try:
        r1 = on_a.post(sender, "打印机不出纸")
        assert r1.status_code == 200
        assert "个步骤试一试" in texts(r1.json())  # troubleshooting steps, then the check
        not_solved = buttons(r1.json())[1]
        # The merchant's answer lands on the other instance with the token the first one issued:
        # it must accept the token, know the offered buttons and the dialogue context.
        on_b.tokens[sender] = on_a.token(sender)
        r2 = on_b.post(sender, not_solved["payload"], title=not_solved["title"])
        assert r2.status_code == 200, r2.text
        assert "故障报修工单" in texts(r2.json()), r2.json()
    finally:
        on_a.close()
        on_b.close()

    # Rasa's tracker store holds the whole conversation in PostgreSQL.
    eng = sa.create_engine(postgres_url)
    with eng.connect() as c:
        n = c.execute(
            sa.text("SELECT count(*) FROM events WHERE sender_id = :s AND type_name = 'user'"), {"s": f"web:{sender}"}
        ).scalar_one()
    eng.dispose()
    assert n == 2


def test_nginx_spreads_one_conversation_over_both_app_instances(two_stacks, tmp_path):
    """The deployment's own nginx config in front of both app instances, as compose runs it."""
    hostport = [s.app_url.removeprefix("http://") for s in two_stacks]
    proxy = nginx.Nginx(tmp_path / "nginx", free_port(), *hostport)
    merchant = ChatClient(proxy.url)
    try:
        sender = "n" + uuid.uuid4().hex[:10]
        assert merchant.http.get("/healthz").status_code == 200
        r1 = merchant.post(sender, "打印机不出纸")
        assert r1.status_code == 200 and "试完点下面告诉我结果" in texts(r1.json())
        tried = next(b for b in buttons(r1.json()) if b["payload"].startswith("/deny"))
        r2 = merchant.post(sender, tried["payload"], title=tried["title"])
        assert r2.status_code == 200 and "故障报修工单" in texts(r2.json()), r2.json()
        # Rasa's action endpoint is not reachable from outside.
        assert merchant.http.post("/webhook", json={}).status_code == 404
        chat_turns = [u for u, uri in proxy.requests() if uri == "/api/chat"]
        assert len(chat_turns) == 2 and set(chat_turns) == set(hostport), proxy.requests()
    finally:
        merchant.close()
        proxy.stop()

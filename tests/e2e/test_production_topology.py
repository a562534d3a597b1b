"""Production settings for real: PostgreSQL for trackers and tickets, Redis as Rasa's lock store,
two Rasa servers and two app services. A conversation started on one instance continues on the other."""

from __future__ import annotations

import uuid

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import launch_stack, wait_stack
from tests.support import ChatClient, texts

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
        health = httpx.get(f"{s.app_url}/healthz", timeout=10).json()
        assert health["database"]["dialect"] == "postgresql"

    sender = "p" + uuid.uuid4().hex[:10]
    on_a, on_b = ChatClient(a.app_url), ChatClient(b.app_url)
    try:
        r1 = on_a.post(sender, "打印机不出纸")
        assert r1.status_code == 200
        assert "问题解决了吗？" in texts(r1.json())  # troubleshooting steps, then the check
        # The merchant's answer lands on the other instance with the token the first one issued:
        # it must accept the token, know the offered buttons and the dialogue context.
        on_b.tokens[sender] = on_a.token(sender)
        r2 = on_b.post(sender, "/deny", title="没解决")
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

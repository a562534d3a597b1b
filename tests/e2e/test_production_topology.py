"""Production settings for real: PostgreSQL for trackers and tickets, Redis as Rasa's lock store,
two Rasa servers and two app services. A conversation started on one instance continues on the other."""

from __future__ import annotations

import uuid

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import launch_stack, wait_stack
from tests.support import texts

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def two_stacks(tmp_path_factory, rasa_model, postgres_url):
    stacks = [
        launch_stack(tmp_path_factory.mktemp(f"prod{i}"), rasa_model, database_url=postgres_url, redis_url=REDIS_URL)
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
    with httpx.Client(timeout=60) as client:
        first = {"sender_id": sender, "text": '/choose_faq{"faq_id":"fault-printer-out-of-paper"}'}
        r1 = client.post(f"{a.app_url}/api/chat", json=first)
        assert r1.status_code == 200
        assert "问题解决了吗？" in texts(r1.json())  # troubleshooting steps, then the check
        # The merchant's answer lands on the other instance: it must know the context.
        r2 = client.post(f"{b.app_url}/api/chat", json={"sender_id": sender, "text": "/deny"})
        assert r2.status_code == 200
        assert "故障报修工单" in texts(r2.json()), r2.json()

    # Rasa's tracker store holds the whole conversation in PostgreSQL.
    eng = sa.create_engine(postgres_url)
    with eng.connect() as c:
        n = c.execute(
            sa.text("SELECT count(*) FROM events WHERE sender_id = :s AND type_name = 'user'"), {"s": f"web:{sender}"}
        ).scalar_one()
    eng.dispose()
    assert n == 2

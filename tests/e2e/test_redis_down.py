"""Redis stops under the production topology: two Rasa and two app instances on PostgreSQL, Redis
as Rasa's lock store and as the app's rate-limit counters (a private redis-server and PostgreSQL
cluster of this test; the machine's shared servers are never touched).

Defined behaviour (docs/operations.md, "Faults"):

* while Redis is down every turn is still answered, on either instance, and the conversation
  goes on where it was: each Rasa instance serialises turns with its own locks
  (bot/rasa_ext/lock_store.py) and the rate limits let requests through (fail open);
* once Redis is back, both come back to it by themselves: the limits count in Redis again and
  refuse a sender past them; nothing is restarted.
"""

from __future__ import annotations

import uuid

import pytest
import redis

from tests.conftest import launch_stack, wait_stack
from tests.private_services import private_pg, private_redis  # noqa: F401 - fixtures
from tests.support import ChatClient, buttons, texts

pytestmark = pytest.mark.integration
MESSAGES_PER_MINUTE = 6


@pytest.fixture(scope="module")
def two_stacks(tmp_path_factory, rasa_model, private_pg, private_redis):  # noqa: F811
    url = private_pg.create_database("posbot")
    key = "redis-fault-key-" + uuid.uuid4().hex
    stacks = [
        launch_stack(
            tmp_path_factory.mktemp(f"redisdown{i}"),
            rasa_model,
            database_url=url,
            redis_url=private_redis.url,
            chat_session_secret=key,
            pii_vault_key=key + "-pii",
            rate_limit_sender_messages=f"{MESSAGES_PER_MINUTE}/minute",
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


def limit_keys(server) -> list:
    client = redis.Redis.from_url(server.url)
    try:
        return client.keys("posbot:limits*")
    finally:
        client.close()


def logs(stack, name: str) -> str:
    return "".join(p.read_text(errors="replace") for p in stack.log_dir.glob(f"{name}-*.log"))


def test_turns_answered_while_redis_is_down_and_limits_return_with_it(two_stacks, private_redis):  # noqa: F811
    a, b = two_stacks
    sender = "d" + uuid.uuid4().hex[:10]
    on_a, on_b = ChatClient(a.app_url), ChatClient(b.app_url)
    on_b.tokens[sender] = on_a.token(sender)
    try:
        r = on_a.post(sender, "打印机不出纸")
        assert r.status_code == 200 and "试完点下面告诉我结果" in texts(r.json()), r.text
        assert limit_keys(private_redis), "the app should count its limits in Redis"
        tried = next(x for x in buttons(r.json()) if x["payload"].startswith("/deny"))

        private_redis.stop()
        # The merchant's answer lands on the other instance: answered, with the dialogue context.
        r = on_b.post(sender, tried["payload"], title=tried["title"])
        assert r.status_code == 200, r.text
        assert "故障报修工单" in texts(r.json()), r.json()
        affirm = next(x for x in buttons(r.json()) if x["payload"].startswith("/affirm"))
        r = on_a.post(sender, affirm["payload"], title=affirm["title"])
        assert r.status_code == 200 and "15位商户号" in texts(r.json()), r.json()
        # Limits fail open: more messages than the limit allows, all served.
        other = "e" + uuid.uuid4().hex[:10]
        statuses = [on_b.post(other, "你好").status_code for _ in range(MESSAGES_PER_MINUTE + 1)]
        assert statuses == [200] * (MESSAGES_PER_MINUTE + 1), statuses
        assert "Redis lock store unreachable" in logs(b, "rasa") + logs(a, "rasa")
        assert "rate limit store unavailable" in logs(b, "app")

        private_redis.start()  # an empty Redis: what a restarted cache looks like
        r = on_b.post(sender, "898310048161234")
        assert r.status_code == 200 and "8位终端号" in texts(r.json()), r.json()  # the form went on
        # The limits count in Redis again, without a restart: past the limit, a polite 429.
        third = "g" + uuid.uuid4().hex[:10]
        replies = [on_a.post(third, "你好") for _ in range(MESSAGES_PER_MINUTE + 2)]
        statuses = [x.status_code for x in replies]
        assert 429 in statuses and set(statuses) == {200, 429}, statuses
        assert statuses.index(429) >= MESSAGES_PER_MINUTE, statuses  # the first ones served
        refused = replies[statuses.index(429)]
        assert refused.json()["code"] == "rate_limited" and int(refused.headers["retry-after"]) > 0
        assert limit_keys(private_redis)
    finally:
        on_a.close()
        on_b.close()
    assert "Redis lock store reachable again" in logs(a, "rasa") + logs(b, "rasa")

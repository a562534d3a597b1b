"""The Rasa lock store (bot/rasa_ext/lock_store.py), run where Rasa runs it (.venv-rasa).

With Redis reachable the locks are Redis' (every Rasa instance sees them); with Redis
unreachable the turns of one conversation are still serialised, by the instance's own locks,
and other conversations do not wait for them.
"""

from __future__ import annotations

import json
import subprocess
import textwrap

from bot.rasa.project import PROJECT_ROOT, RASA_VENV, lock_store_config, rasa_env
from tests.private_services import free_port, private_redis  # noqa: F401 - fixture

PROBE = textwrap.dedent(
    """
    import asyncio, json, sys
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    cfg = json.loads(sys.argv[1])
    check = sys.argv[2] == "check"  # look into Redis during the turn
    c = dict(cfg)
    store = LockStore.create(EndpointConfig(url=c.pop("url"), type=c.pop("type"), **c))
    order = []

    async def turn(conv, name, hold):
        async with store.lock(conv, wait_time_in_seconds=0.05):
            order.append(name + "+")
            in_redis = store.red.get(store.key_prefix + conv) is not None if name == "a" and check else None
            await asyncio.sleep(hold)
            order.append(name + "-")
            return in_redis

    async def main():
        first = asyncio.create_task(turn("c1", "a", 0.5))
        await asyncio.sleep(0.1)
        results = await asyncio.gather(first, turn("c1", "b", 0), turn("c2", "x", 0))
        return results[0]

    in_redis = asyncio.run(main())
    print(json.dumps({"type": type(store).__name__, "order": order, "in_redis": in_redis}))
    """
)


def probe(redis_url: str, check: bool) -> dict:
    r = subprocess.run(
        [
            str(RASA_VENV / "bin" / "python"),
            "-c",
            PROBE,
            json.dumps(lock_store_config(redis_url)),
            "check" if check else "-",
        ],
        cwd=PROJECT_ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def serialised(order: list[str]) -> bool:
    """The second turn of c1 began after the first ended; c2 did not wait for c1."""
    return order.index("b+") > order.index("a-") and order.index("x-") < order.index("a-")


def test_locks_live_in_redis_when_it_is_up(private_redis):  # noqa: F811
    out = probe(private_redis.url, check=True)
    assert out["type"] == "FallbackRedisLockStore"
    assert out["in_redis"] is True, out
    assert serialised(out["order"]), out


def test_turns_still_serialised_when_redis_is_unreachable():
    out = probe(f"redis://127.0.0.1:{free_port()}/0", check=False)  # nothing listens there
    assert out["type"] == "FallbackRedisLockStore"
    assert serialised(out["order"]), out

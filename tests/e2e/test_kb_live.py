"""Two app instances on one PostgreSQL database: a knowledge-base edit made through one is
answered by the other within seconds, without restarts (the engines follow the KB revision).

Both instances start at once on an empty database, so this also shows that only one seeds it.
Rasa is not needed for the FAQ API, so none is started.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.integration

FIXTURE_KB = Path(__file__).resolve().parents[1] / "faq" / "fixtures" / "kb"
ENTRY = "settlement-t1-arrival"
QUESTION = "刷卡的钱什么时候到账"
WITHIN_S = 120  # how long we keep asking (a loaded CI machine); the change normally lands in 2-4 s


def start_instance(tmp: Path, name: str, database_url: str, faq_dir: Path):
    from bot.core.settings import Settings
    from bot.rasa.stack import Stack

    settings = Settings(
        data_dir=tmp / name,
        database_url=database_url,
        host="127.0.0.1",
        port=free_port(),
        faq_dir=faq_dir,
        outbox_worker_enabled=False,
    )
    stack = Stack(model=tmp / "unused.tar.gz", settings=settings, rasa_port=free_port(), log_dir=tmp / name / "logs")
    stack.start(start_rasa=False)
    return stack


def wait_up(stack, key: dict) -> None:
    deadline = time.monotonic() + 180
    while True:  # up when the FAQ answers (Rasa is absent on purpose)
        proc = stack.procs["app"]
        if proc.poll() is not None:
            raise AssertionError(
                f"app exited: {(stack.log_dir / f'app-{stack.settings.port}.log').read_text()[-3000:]}"
            )
        try:
            if (
                httpx.get(f"{stack.app_url}/api/faq/search", params={"q": QUESTION}, headers=key, timeout=5).status_code
                == 200
            ):
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "app instance did not start"
        time.sleep(0.5)


def until(fetch, predicate, what: str):
    deadline = time.monotonic() + WITHIN_S
    last = None
    while time.monotonic() < deadline:
        last = fetch()
        if predicate(last):
            return last
        time.sleep(0.3)
    raise AssertionError(f"{what}: never happened; last seen {last}")


def test_an_edit_on_one_instance_is_answered_by_the_other(tmp_path, postgres_url):
    from bot.core.db import Database, upgrade
    from bot.staff.accounts import StaffStore
    from bot.tickets.apikeys import ApiKeyStore

    upgrade(postgres_url)
    faq_dir = tmp_path / "faq"
    shutil.copytree(FIXTURE_KB, faq_dir)
    db = Database(postgres_url)
    key = {"X-API-Key": ApiKeyStore(db).create("two-instances", ["faq:read"]).token}
    StaffStore(db).create("editor1", "editor", "correct horse battery", display_name="小周")
    a = start_instance(tmp_path, "a", postgres_url, faq_dir)
    b = start_instance(tmp_path, "b", postgres_url, faq_dir)
    try:
        wait_up(a, key)
        wait_up(b, key)
        with (
            httpx.Client(base_url=a.app_url, timeout=30) as editor_a,
            httpx.Client(base_url=b.app_url, timeout=30) as editor_b,
        ):
            for c in (editor_a, editor_b):
                r = c.post("/api/staff/login", json={"username": "editor1", "password": "correct horse battery"})
                assert r.status_code == 200, r.text

            def answer_on(stack, q=QUESTION):
                r = httpx.get(f"{stack.app_url}/api/faq/search", params={"q": q}, headers=key, timeout=10)
                return r.json()["results"][0] if r.json()["results"] else None

            entry = editor_a.get(f"/api/faq/entries/{ENTRY}").json()
            assert entry["version"] == 1  # seeded once, although both instances started on an empty database
            assert [v["action"] for v in editor_a.get(f"/api/faq/entries/{ENTRY}/versions").json()["items"]] == ["seed"]
            old = answer_on(b)["answer"]
            new = f"两个实例测试 {uuid.uuid4().hex[:6]}：刷卡后下一个工作日到账。"
            body = {
                k: entry[k]
                for k in (
                    "category",
                    "subcategory",
                    "question",
                    "paraphrases",
                    "answer",
                    "escalate",
                    "provider_specific",
                )
            } | {"answer": new, "version": entry["version"]}
            r = editor_a.put(f"/api/faq/entries/{ENTRY}", json=body)
            assert r.status_code == 200, r.text

            until(lambda: answer_on(b), lambda hit: hit and hit["answer"] == new, "instance b serves the new answer")
            assert answer_on(a)["answer"] == new

            # the other way round, with a new wording: b takes it, a finds the entry by it
            wording = "货款哪天能打到我卡上"
            r = editor_b.post(f"/api/faq/entries/{ENTRY}/wordings", json={"text": wording})
            assert r.status_code == 201, r.text
            until(
                lambda: httpx.get(f"{a.app_url}/api/faq/{ENTRY}", headers=key, timeout=10).json()["paraphrases"],
                lambda pars: wording in pars,
                "instance a has the new wording",
            )
            assert answer_on(a, wording)["id"] == ENTRY

            # a revert made on b is what a answers afterwards
            r = editor_b.post(f"/api/faq/entries/{ENTRY}/revert", json={"version": 1})
            assert r.status_code == 200, r.text
            until(
                lambda: answer_on(a), lambda hit: hit and hit["answer"] == old, "instance a serves the reverted answer"
            )
    finally:
        a.stop()
        b.stop()
        db.dispose()

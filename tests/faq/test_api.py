"""HTTP API: /api/faq/search and /api/faq/{id}, behind a real faq:read API key."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient


@pytest.fixture
def client(shared_engine, sqlite_url):
    from bot.api import faq as faq_api
    from bot.api.errors import install_error_handlers
    from bot.core.db import Database, upgrade
    from bot.tickets.apikeys import ApiKeyStore

    upgrade(sqlite_url)
    db = Database(sqlite_url)
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(faq_api.router)
    app.state.services = SimpleNamespace(db=db, faq=shared_engine)
    store = ApiKeyStore(db)
    good = store.create("faq reader", ["faq:read"]).token
    other = store.create("tickets only", ["tickets:read"]).token
    with TestClient(app) as c:
        c.headers["X-API-Key"] = good
        c.other_token = other
        yield c
    db.dispose()


def test_search_json_shape(client):
    r = client.get("/api/faq/search", params={"q": "刷卡机不出小票了", "k": 5})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"query", "decision", "kind", "results", "codes"}
    assert body["codes"] == []
    assert body["query"] == "刷卡机不出小票了" and body["decision"] == "answer"
    first = body["results"][0]
    assert {"id", "category", "question", "answer", "score"} <= set(first)
    assert first["id"] == "fault-printer-no-receipt" and isinstance(first["score"], float)
    assert len(body["results"]) <= 5


def test_search_out_of_scope(client):
    body = client.get("/api/faq/search", params={"q": "今天天气怎么样"}).json()
    assert body["decision"] == "none" and body["kind"] == "none" and body["results"] == []


def test_bearer_token_works_too(client):
    token = client.headers.pop("X-API-Key")
    r = client.get("/api/faq/search", params={"q": "结算卡怎么换"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}, {"q": "\n\t"}])
def test_blank_or_missing_q_is_422(client, params):
    r = client.get("/api/faq/search", params=params)
    assert r.status_code == 422
    text = r.text
    assert "q" in text
    if params.get("q", "") != "":
        assert "must not be empty or blank" in text


@pytest.mark.parametrize("k", [0, 21, -1])
def test_k_out_of_range_is_422(client, k):
    assert client.get("/api/faq/search", params={"q": "到账", "k": k}).status_code == 422


def test_long_and_emoji_queries_are_answered_not_refused(client):
    assert client.get("/api/faq/search", params={"q": "😀😀"}).json() == {
        "query": "😀😀",
        "decision": "none",
        "kind": "none",
        "results": [],
        "codes": [],
    }
    r = client.get("/api/faq/search", params={"q": "刷卡机不出小票" + "啊" * 2000})
    assert r.status_code == 200


def test_get_entry(client):
    r = client.get("/api/faq/fees-rate")
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == "fees-rate" and body["category"] == "fees" and len(body["paraphrases"]) >= 6


def test_unknown_id_is_404(client):
    r = client.get("/api/faq/no-such-entry")
    assert r.status_code == 404 and "no-such-entry" in r.json()["detail"]


def test_requires_faq_read_scope(client):
    key = client.headers.pop("X-API-Key")
    assert client.get("/api/faq/search", params={"q": "到账"}).status_code == 401
    assert (
        client.get("/api/faq/search", params={"q": "到账"}, headers={"X-API-Key": client.other_token}).status_code
        == 403
    )
    assert client.get("/api/faq/search", params={"q": "到账"}, headers={"X-API-Key": key}).status_code == 200


def test_search_includes_the_codes_the_query_quotes(client):
    body = client.get("/api/faq/search", params={"q": "刷卡显示51，还有一个错误码 zz9"}).json()
    [code] = body["codes"]
    assert code["code"] == "51" and code["known"] is True and code["side"] == "cardholder"
    assert code["meaning"].startswith("余额不足") and code["steps"]
    unknown = client.get("/api/faq/search", params={"q": "报错B9"}).json()["codes"]
    assert unknown == [
        {
            "code": "B9",
            "known": False,
            "meaning": None,
            "side": None,
            "side_label": None,
            "steps": [],
            "varies": False,
            "display": None,
        }
    ]


def test_code_route(client):
    r = client.get("/api/faq/codes/a7")
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == "A7" and body["varies"] is True and body["side"] == "acquirer"
    assert client.get("/api/faq/codes/5").json()["code"] == "05"  # a single digit is how some terminals print it


def test_code_route_unknown_and_malformed(client):
    r = client.get("/api/faq/codes/B9")
    assert r.status_code == 404 and "B9" in r.text
    assert client.get("/api/faq/codes/not-a-code").status_code == 422
    assert client.get("/api/faq/codes/%E4%BA%94").status_code == 422  # 五


def test_code_list_and_scope(client):
    body = client.get("/api/faq/codes").json()
    assert {c["code"] for c in body["codes"]} >= {"00", "05", "51", "96", "A0", "A7"}
    r = client.get("/api/faq/codes/05", headers={"X-API-Key": client.other_token})
    assert r.status_code == 403
    r = client.get("/api/faq/codes/05", headers={"X-API-Key": "wrong"})
    assert r.status_code == 401


def test_search_reports_the_decision_the_chat_makes(client):
    """A quoted code is answered from the code table; an in-domain question is never reported as out of scope."""
    code = client.get("/api/faq/search", params={"q": "刷卡提示51"}).json()
    assert code["kind"] == "code" and code["decision"] == "answer"
    assert code["codes"][0]["code"] == "51" and all(r["category"] == "fault" for r in code["results"])
    vague = client.get("/api/faq/search", params={"q": "刷卡机有点问题"}).json()
    assert vague["kind"] in ("suggest", "closest", "clarify") and vague["decision"] != "answer"
    if vague["kind"] == "clarify":
        assert vague["decision"] == "none" and vague["results"] == []
    else:
        assert vague["decision"] == "suggest" and 1 <= len(vague["results"]) <= 3


def test_hits_say_how_well_they_match_in_words_staff_read(client):
    body = client.get("/api/faq/search", params={"q": "刷卡机不出小票了", "k": 5}).json()
    levels = [r["match"] for r in body["results"]]
    assert levels[0] == "high"  # the answer the chat gives
    assert set(levels) <= {"high", "medium", "low"}


def test_category_filter_keeps_only_that_category(client):
    body = client.get("/api/faq/search", params={"q": "刷卡机不出小票了", "k": 5, "category": "settlement"}).json()
    assert body["results"] and {r["category"] for r in body["results"]} == {"settlement"}
    assert client.get("/api/faq/search", params={"q": "小票", "category": "nonsense"}).status_code == 422

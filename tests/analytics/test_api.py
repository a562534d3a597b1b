"""The unanswered queue and analytics routes per role and scope, on the real services (SQLite)."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.analytics.turns import FaqTurnLog
from bot.staff.accounts import StaffStore
from bot.tickets.apikeys import ApiKeyStore
from tests.analytics.conftest import seed_history

PASSWORD = "correct horse battery"


@pytest.fixture
def db(sqlite_url):
    from bot.core.db import Database, upgrade

    upgrade(sqlite_url)
    database = Database(sqlite_url)
    yield database
    database.dispose()


@pytest.fixture
def app(db, settings, faq_engine):
    from bot.api import analytics, staff
    from bot.api.errors import install_error_handlers
    from bot.conversations.service import ConversationService
    from bot.tickets.service import TicketService

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(staff.router)
    app.include_router(analytics.router)
    app.state.services = SimpleNamespace(
        db=db,
        settings=settings,
        faq=faq_engine,
        tickets=TicketService(db, settings),
        conversations=ConversationService(db, settings),
    )
    store = StaffStore(db)
    for role in ("viewer", "agent", "editor"):
        store.create(f"{role}1", role, PASSWORD)
    return app


def client_as(app, role: str | None) -> TestClient:
    c = TestClient(app, base_url="https://staff.test")
    if role:
        r = c.post("/api/staff/login", json={"username": f"{role}1", "password": PASSWORD})
        assert r.status_code == 200, r.text
    return c


@pytest.fixture
def questions(db):
    """Unanswered questions of today: three about the printer (two conversations), one about the weather."""
    turns = FaqTurnLog(db)
    ids = [
        turns.record("web:m1", "打印机不出纸", "none", [("fault-printer-no-receipt", 0.48)]),
        turns.record(
            "web:m2", "打印机不出纸了怎么办", "suggest", [("fault-printer-no-receipt", 0.52), ("fees-rate", 0.3)]
        ),
        turns.record("web:m2", "机器打印不出小票", "none", [("fault-printer-no-receipt", 0.44)]),
        turns.record("web:m3", "今天天气怎么样", "none"),
        turns.record(
            "web:m4", "小票打不出来", "answer", [("fault-printer-no-receipt", 0.9)], entry_id="fault-printer-no-receipt"
        ),
    ]
    return ids


def groups(client) -> list[dict]:
    r = client.get("/api/unanswered")
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_staff_see_the_queue_grouped_and_sorted_by_count(app, questions):
    data = client_as(app, "viewer").get("/api/unanswered").json()
    assert (data["groups"], data["questions"]) == (2, 4)  # the answered question is not in it
    printer, weather = data["items"]
    assert (printer["count"], printer["conversations"], printer["key"]) == (3, 2, f"g{questions[0]}")
    assert printer["candidates"][0] == {
        "id": "fault-printer-no-receipt",
        "question": "交易成功了但是不打单怎么办？",
        "category": "fault",
        "score": 0.52,
        "hits": 3,
    }
    assert printer["category"] == "fault"
    assert weather["samples"] == ["今天天气怎么样"] and weather["candidates"] == []


def test_an_editor_resolves_a_group_and_it_leaves_the_queue(app, db, questions):
    editor = client_as(app, "editor")
    key = groups(editor)[0]["key"]
    r = editor.post(
        f"/api/unanswered/groups/{key}/resolve",
        json={"entry_id": "fault-printer-no-receipt", "question": "打印机不出纸"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "group_key": key,
        "resolution": "wording",
        "entry_id": "fault-printer-no-receipt",
        "questions": 3,
    }
    assert [g["question"] for g in groups(editor)] == ["今天天气怎么样"]
    row = FaqTurnLog(db).get(questions[1])
    assert (row.resolved_by, row.resolution, row.resolved_entry_id) == (
        "editor1",
        "wording",
        "fault-printer-no-receipt",
    )
    # The same button clicked again (a second tab, a late click): the group is gone, nothing changes.
    again = editor.post(
        f"/api/unanswered/groups/{key}/resolve", json={"entry_id": "fees-rate", "question": "打印机不出纸"}
    )
    assert again.status_code == 404
    assert "已经处理过" in again.json()["detail"]
    assert FaqTurnLog(db).get(questions[1]).resolved_entry_id == "fault-printer-no-receipt"


def test_a_new_similar_question_after_resolving_is_a_new_group(app, db, questions):
    editor = client_as(app, "editor")
    key = groups(editor)[0]["key"]
    editor.post(
        f"/api/unanswered/groups/{key}/resolve",
        json={"entry_id": "fault-printer-no-receipt", "question": "打印机不出纸"},
    )
    late = FaqTurnLog(db).record("web:m9", "打印机不出纸啊", "none")
    assert {g["key"]: g["count"] for g in groups(editor)} == {f"g{late}": 1, f"g{questions[3]}": 1}


def test_out_of_scope_is_ignored_and_recorded(app, db, questions):
    editor = client_as(app, "editor")
    weather = groups(editor)[1]
    r = editor.post(f"/api/unanswered/groups/{weather['key']}/ignore")
    assert r.status_code == 200 and r.json()["resolution"] == "ignored"
    assert [g["question"] for g in groups(editor)] == ["打印机不出纸"]
    assert FaqTurnLog(db).get(questions[3]).resolution == "ignored"


def test_a_new_entry_resolution_is_its_own_kind(app, db, questions):
    editor = client_as(app, "editor")
    key = groups(editor)[0]["key"]
    r = editor.post(
        f"/api/unanswered/groups/{key}/resolve",
        json={"entry_id": "fault-screen-black", "question": "打印机不出纸", "resolution": "new_entry"},
    )
    assert r.status_code == 200 and FaqTurnLog(db).get(questions[0]).resolution == "new_entry"


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_who_may_only_read_cannot_resolve_or_ignore(app, db, questions, role):
    c = client_as(app, role)
    key = groups(c)[0]["key"]
    r = c.post(
        f"/api/unanswered/groups/{key}/resolve",
        json={"entry_id": "fault-printer-no-receipt", "question": "打印机不出纸"},
    )
    assert r.status_code == 403 and "faq:write" in r.json()["detail"]
    assert c.post(f"/api/unanswered/groups/{key}/ignore").status_code == 403
    assert FaqTurnLog(db).get(questions[0]).resolved_at is None
    assert len(groups(c)) == 2


def test_strangers_get_nothing(app, questions):
    anon = client_as(app, None)
    assert anon.get("/api/unanswered").status_code == 401
    assert anon.get("/api/analytics").status_code == 401
    assert anon.post(f"/api/unanswered/groups/g{questions[0]}/ignore").status_code == 401


def test_an_faq_search_key_cannot_read_merchants_questions(app, db, questions):
    token = ApiKeyStore(db).create("website-search", ["faq:read"]).token
    c = TestClient(app, headers={"X-API-Key": token})
    assert c.get("/api/unanswered").status_code == 403
    assert c.get("/api/analytics").status_code == 403
    reader = TestClient(app, headers={"X-API-Key": ApiKeyStore(db).create("bi", ["analytics:read"]).token})
    assert reader.get("/api/unanswered").status_code == 200


def test_resolving_with_a_mistyped_entry_or_key_is_refused_clearly(app, db, questions):
    editor = client_as(app, "editor")
    key = groups(editor)[0]["key"]
    r = editor.post(
        f"/api/unanswered/groups/{key}/resolve",
        json={"entry_id": "fault-printer-no-reciept", "question": "打印机不出纸"},
    )
    assert r.status_code == 422 and "知识库里没有条目 fault-printer-no-reciept" in r.json()["message"]
    assert editor.post("/api/unanswered/groups/1; drop/resolve", json={}).status_code in (404, 422)
    assert (
        editor.post(f"/api/unanswered/groups/{key}/resolve", json={"entry_id": "fault-printer-no-receipt"}).status_code
        == 422
    )
    assert editor.post("/api/unanswered/groups/g999999/ignore").status_code == 404
    assert len(groups(editor)) == 2  # nothing was resolved by the mistakes


def test_analytics_for_a_date_range_and_its_labels(app, db, settings, clock):
    seed_history(db, settings, clock)
    r = client_as(app, "viewer").get("/api/analytics", params={"since": "2026-11-30", "until": "2026-12-01"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["since"], data["until"], data["timezone"]) == ("2026-11-30", "2026-12-01", "Asia/Shanghai")
    assert [d["questions"] for d in data["days"]] == [2, 3]
    assert data["totals"]["answer_rate"] == 0.4
    assert data["labels"]["daily"]["answer_rate"] == "自助解答率"
    assert len(data["unanswered"]) == 3


def test_a_mistyped_date_is_a_chinese_error(app):
    r = client_as(app, "viewer").get("/api/analytics", params={"since": "2026-13-01"})
    assert r.status_code == 422 and "不是有效日期" in r.json()["message"]
    assert r.json()["detail"][0]["loc"] == ["query", "since"]
    r = client_as(app, "viewer").get(
        "/api/analytics/daily", params={"since": "2026-12-02", "until": "2026-12-01", "format": "csv"}
    )
    assert r.status_code == 422 and r.json()["message"] == "开始日期不能晚于结束日期"


def test_csv_export_opens_in_excel_with_chinese_headers(app, db, settings, clock):
    seed_history(db, settings, clock)
    c = client_as(app, "viewer")
    r = c.get("/api/analytics/daily", params={"since": "2026-11-30", "until": "2026-12-01", "format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="posbot-daily-2026-11-30-2026-12-01.csv"' in r.headers["content-disposition"]
    assert r.text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert [row["日期"] for row in rows] == ["2026-11-30", "2026-12-01"]
    assert (rows[0]["问题数"], rows[0]["自助解答率"], rows[1]["转人工率"], rows[0]["首次人工回复中位数（秒）"]) == (
        "2",
        "50.0%",
        "100.0%",
        "",
    )
    tickets = list(
        csv.DictReader(
            io.StringIO(
                c.get(
                    "/api/analytics/tickets", params={"since": "2026-11-30", "until": "2026-12-01", "format": "csv"}
                ).text.lstrip("\ufeff")
            )
        )
    )
    assert {(t["工单类别"], t["状态"], t["数量"]) for t in tickets} >= {("故障报修", "处理中", "1")}


def test_a_question_that_looks_like_a_formula_stays_text_in_the_csv(app, db):
    FaqTurnLog(db).record("web:m1", '=HYPERLINK("http://x")怎么办', "none")
    c = client_as(app, "viewer")
    r = c.get("/api/analytics/unanswered", params={"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0]["问题"].startswith("'=HYPERLINK")
    assert c.get("/api/analytics/unanswered").json()["rows"][0]["question"].startswith("=HYPERLINK")


def test_an_unknown_table_is_a_404_not_a_crash(app):
    assert client_as(app, "viewer").get("/api/analytics/merchants").status_code in (404, 422)


def test_an_entry_saved_a_moment_ago_resolves_its_group_before_the_engine_serves_it(app, db, questions, settings):
    """新建条目 from the queue: the editor saves, the page resolves the group at once, while the engine
    (reloading within seconds) does not serve the new entry yet. Unknown and retired ids stay refused."""
    from bot.faq.store import KbStore
    from tests.faq.conftest import FIXTURES

    live = settings.model_copy(update={"faq_source": "db", "faq_dir": FIXTURES / "kb"})
    app.state.services.settings = live
    store = KbStore(db, live.faq_dir)
    assert store.ensure_seeded() is True
    wordings = [
        "机器能开发票吗",
        "刷卡机可以打发票吗",
        "POS机开票怎么弄",
        "能用刷卡机开发票吗",
        "收银机开发票",
        "小票能当发票吗",
    ]
    store.create(
        {
            "id": "general-invoice",
            "category": "general",
            "question": "刷卡机能打发票吗",
            "paraphrases": wordings,
            "answer": "刷卡机打的是交易小票，不是发票。需要发票请联系您的服务商。",
        },
        actor="editor1",
    )
    assert app.state.services.faq.get("general-invoice") is None  # not served yet
    editor = client_as(app, "editor")
    key = groups(editor)[0]["key"]
    unknown = editor.post(
        f"/api/unanswered/groups/{key}/resolve",
        json={"entry_id": "no-such-entry", "question": "打印机不出纸", "resolution": "new_entry"},
    )
    assert unknown.status_code == 422
    r = editor.post(
        f"/api/unanswered/groups/{key}/resolve",
        json={"entry_id": "general-invoice", "question": "打印机不出纸", "resolution": "new_entry"},
    )
    assert r.status_code == 200, r.text
    assert FaqTurnLog(db).get(questions[0]).resolved_entry_id == "general-invoice"

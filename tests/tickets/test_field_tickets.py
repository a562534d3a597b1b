"""Consumables and visit tickets through the API and the webhook: the documented ``field`` shape,
validation of what a dispatch system may send, the maintainer's queue, assign, done and scopes."""

from __future__ import annotations

import json
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.field.service import FieldService
from bot.staff.accounts import StaffStore
from bot.tickets.apikeys import ApiKeyStore
from bot.tickets.outbox import OutboxWorker
from bot.tickets.service import TicketService

from .conftest import make_settings
from .helpers import ticket_fields

PASSWORD = "correct horse battery"
ADDRESS = "浙江省杭州市西湖区文三路100号"


def soon(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def consumables(**field) -> dict:
    f = {
        "kind": "consumables",
        "items": [{"code": "paper_80x80", "quantity": 5}],
        "delivery_method": "delivery",
        "address": ADDRESS,
    }
    f.update(field)
    return ticket_fields(
        category="consumables",
        terminal_id=None,
        description="打印纸 80×80 5卷",
        field=f,
        sender_id="web:m1",
        channel="web",
    )


def visit(**field) -> dict:
    f = {"kind": "repair", "address": ADDRESS, "scheduled_date": soon(2), "half_day": "pm"}
    f.update(field)
    return ticket_fields(
        category="visit", description="打印机不出纸，上门看看", field=f, sender_id="web:m1", channel="web"
    )


@pytest.fixture
def field_api(database, receiver):
    from bot.api import field, tickets
    from bot.api.errors import install_error_handlers

    settings = make_settings(ticket_webhook_url=receiver.url)
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(tickets.router)
    app.include_router(field.router)
    service = TicketService(database, settings)
    app.state.services = SimpleNamespace(db=database, tickets=service, field=FieldService(service), settings=settings)
    keys = ApiKeyStore(database)
    staff = StaffStore(database)
    staff.create("wangshifu", "maintainer", PASSWORD, "王师傅")
    staff.create("lihua", "viewer", PASSWORD)
    with TestClient(app) as client:
        yield SimpleNamespace(
            client=client,
            service=service,
            settings=settings,
            database=database,
            dispatch={
                "X-API-Key": keys.create(
                    "dispatch", ["tickets:read", "tickets:write", "field:read", "field:write"]
                ).token
            },
            tickets_only={"X-API-Key": keys.create("crm", ["tickets:read", "tickets:write"]).token},
            field_ro={"X-API-Key": keys.create("board", ["field:read"]).token},
        )


async def drain(database, settings) -> None:
    worker = OutboxWorker(database, settings)
    try:
        while await worker.run_once():
            pass
    finally:
        await worker.stop()


async def test_a_consumables_ticket_through_the_api_and_the_webhook(field_api, receiver):
    r = field_api.client.post("/api/tickets", json=consumables(), headers=field_api.dispatch)
    assert r.status_code == 201, r.text
    body = r.json()
    f = body["field"]
    assert body["category"] == "consumables"
    assert f["kind"] == "consumables" and f["kind_label"] == "耗材配送"
    assert f["items"] == [{"code": "paper_80x80", "label": "80×80mm 热敏打印纸", "unit": "卷", "quantity": 5}]
    assert f["delivery_method"] == "delivery" and f["address"] == ADDRESS and f["service_area"] == "杭州市西湖区"
    assert f["scheduled_date"] > date.today().isoformat()  # the promised delivery day
    assert f["outcome"] is None and f["parts_used"] == []
    assert field_api.client.get(f"/api/tickets/{body['number']}", headers=field_api.dispatch).json()["field"] == f

    await drain(field_api.database, field_api.settings)
    sent = [json.loads(req["body"]) for req in receiver.requests]
    assert [p["type"] for p in sent] == ["ticket.created"]
    assert sent[0]["ticket"]["field"] == f


@pytest.mark.parametrize(
    ("payload", "field_path", "zh"),
    [
        (consumables(items=[{"code": "paper_76x76", "quantity": 5}]), "field.items.0.code", "必须是以下之一"),
        (consumables(items=[{"code": "paper_80x80", "quantity": 500}]), "field.items.0.quantity", "最多 50"),
        (consumables(items=[{"code": "paper_80x80", "quantity": 0}]), "field.items.0.quantity", "大于或等于 1"),
        (consumables(address=None), "field.address", "送货上门时为必填项"),
        (consumables(address="文三路100号"), "field.address", "市和区"),
        (visit(half_day=None), "field.half_day", "上门服务时为必填项"),
        (ticket_fields(category="visit", description="x"), "field", "必须填写"),
        ({**ticket_fields(), "field": visit()["field"]}, "field", "只用于耗材配送和上门服务工单"),
        ({**visit(), "category": "consumables"}, "field.kind", "与工单类别不符"),
    ],
)
def test_what_a_dispatch_system_may_not_send(field_api, payload, field_path, zh):
    r = field_api.client.post("/api/tickets", json=payload, headers=field_api.dispatch)
    assert r.status_code == 422, r.text
    fields = {e["field"]: e["msg"] for e in r.json()["detail"]}
    assert field_path in fields and zh in fields[field_path], fields


async def test_the_maintainer_sees_assigns_and_closes_a_visit(field_api, receiver):
    c, h = field_api.client, field_api.dispatch
    v = c.post("/api/tickets", json=visit(), headers=h).json()
    d = c.post("/api/tickets", json=consumables(delivery_method="pickup", address=None), headers=h).json()
    later = c.post(
        "/api/tickets", json=visit(scheduled_date=soon(5), half_day="am", address="上海市浦东新区张江路1号"), headers=h
    ).json()

    q = c.get("/api/field/jobs", headers=field_api.field_ro).json()
    assert [t["number"] for t in q["items"]][-1] == later["number"]  # by day
    assert set(q["areas"]) == {"杭州市西湖区", "上海市浦东新区"}
    visits = c.get("/api/field/jobs", params={"kind": "visit"}, headers=h).json()["items"]
    assert {t["number"] for t in visits} == {v["number"], later["number"]}
    deliveries = c.get("/api/field/jobs", params={"kind": "delivery"}, headers=h).json()["items"]
    assert [t["number"] for t in deliveries] == [d["number"]]
    area = c.get("/api/field/jobs", params={"area": "上海市浦东新区"}, headers=h).json()["items"]
    assert [t["number"] for t in area] == [later["number"]]
    assert [m["username"] for m in c.get("/api/field/maintainers", headers=h).json()] == ["wangshifu"]

    # A viewer's account cannot take jobs; an unknown name is refused with a Chinese message.
    r = c.post(f"/api/field/jobs/{v['number']}/assign", json={"maintainer": "lihua"}, headers=h)
    assert r.status_code == 422 and "不是可接单的员工账号" in r.text
    r = c.post(f"/api/field/jobs/{v['number']}/assign", json={"maintainer": "wangshifu"}, headers=h)
    assert r.status_code == 200 and r.json()["assignee"] == "wangshifu" and r.json()["status"] == "in_progress"
    mine = c.get("/api/field/jobs", params={"maintainer": "wangshifu"}, headers=h).json()["items"]
    assert [t["number"] for t in mine] == [v["number"]]

    r = c.post(
        f"/api/field/jobs/{v['number']}/reschedule", json={"scheduled_date": soon(-1), "half_day": "am"}, headers=h
    )
    assert r.status_code == 422 and "不能早于今天" in r.text

    done = {
        "note": "更换打印头，测试打印正常",
        "parts_used": [{"item": "part_print_head", "quantity": 1}],
        "reply_to_merchant": True,
    }
    r = c.post(f"/api/field/jobs/{v['number']}/done", json=done, headers=h)
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["status"] == "resolved" and t["resolution"] == "更换打印头，测试打印正常"
    assert t["field"]["outcome"] == "done" and t["field"]["parts_used"] == [{"item": "part_print_head", "quantity": 1}]
    assert t["field"]["finished_at"]
    # Done is done: a second click (another tab) is a clear 409, and the job leaves the queue.
    again = c.post(f"/api/field/jobs/{v['number']}/done", json=done, headers=h)
    assert again.status_code == 409 and "已完成" in again.text
    assert v["number"] not in {t["number"] for t in c.get("/api/field/jobs", headers=h).json()["items"]}
    finished = c.get("/api/field/jobs", params={"include_finished": True}, headers=h).json()["items"]
    assert v["number"] in {t["number"] for t in finished}

    # The merchant hears it is done, with the care checklist on offer.
    texts = [n.text for n in field_api.service.pending_notifications("web", "web:m1")]
    assert any("已处理完成" in x and "更换打印头" in x for x in texts)
    assert any("保养清单" in x and "提醒我保养" in x for x in texts)

    await drain(field_api.database, field_api.settings)
    sent = [
        json.loads(req["body"])
        for req in receiver.requests
        if json.loads(req["body"])["ticket"]["number"] == v["number"]
    ]
    assert [p["type"] for p in sent] == [
        "ticket.created",
        "ticket.status_changed",
        "ticket.assigned",
        "ticket.status_changed",
        "ticket.field_changed",
    ]
    assert sent[-1]["data"] == {"change": "done", "parts_used": [{"item": "part_print_head", "quantity": 1}]}
    assert sent[-1]["ticket"]["field"]["outcome"] == "done"


def test_field_routes_need_field_scopes(field_api):
    c = field_api.client
    v = c.post("/api/tickets", json=visit(), headers=field_api.dispatch).json()
    r = c.get("/api/field/jobs", headers=field_api.tickets_only)
    assert r.status_code == 403 and "field:read" in r.json()["detail"]
    r = c.post(f"/api/field/jobs/{v['number']}/done", json={"note": "好了"}, headers=field_api.field_ro)
    assert r.status_code == 403 and "field:write" in r.json()["detail"]
    assert c.get("/api/field/jobs").status_code == 401


def test_a_plain_ticket_has_no_field_job(field_api):
    t = field_api.client.post("/api/tickets", json=ticket_fields(), headers=field_api.dispatch).json()
    assert t["field"] is None
    r = field_api.client.post(f"/api/field/jobs/{t['number']}/done", json={"note": "好了"}, headers=field_api.dispatch)
    assert r.status_code == 409 and "不是耗材配送或上门服务工单" in r.text
    r = field_api.client.post(
        "/api/field/jobs/GD20261202-XXXXXX/done", json={"note": "好了"}, headers=field_api.dispatch
    )
    assert r.status_code == 404


def test_merchant_reschedule_and_cancel_in_the_service(field_api):
    svc = FieldService(field_api.service)
    v = field_api.client.post("/api/tickets", json=visit(), headers=field_api.dispatch).json()
    day = date.today() + timedelta(days=4)
    t = svc.reschedule(v["number"], day, "am", actor="merchant", tell_merchant=False)
    assert t.field.scheduled_date == day and t.field.half_day == "am"
    t = svc.cancel(v["number"], actor="merchant", tell_merchant=False)
    assert t.status == "resolved" and t.field.outcome == "cancelled"
    assert field_api.service.pending_notifications("web", "web:m1") == []  # they were told in the chat
    from bot.tickets import FieldJobFinished

    with pytest.raises(FieldJobFinished):
        svc.reschedule(v["number"], day, "pm", actor="merchant", tell_merchant=False)


async def test_the_merchants_reschedule_and_cancel_reach_the_webhook_in_the_documented_shape(field_api, receiver):
    """docs/tickets.md, Webhooks: reschedule is ``ticket.field_changed`` with from/to; cancel is
    ``ticket.status_changed`` to resolved, then ``ticket.field_changed`` ``{"change": "cancelled"}``."""
    svc = FieldService(field_api.service)
    v = field_api.client.post("/api/tickets", json=visit(), headers=field_api.dispatch).json()
    day = date.today() + timedelta(days=4)
    svc.reschedule(v["number"], day, "am", actor="merchant", tell_merchant=False)
    svc.cancel(v["number"], actor="merchant", tell_merchant=False)

    await drain(field_api.database, field_api.settings)
    sent = [json.loads(req["body"]) for req in receiver.requests]
    sent = [p for p in sent if p["ticket"]["number"] == v["number"]]
    assert [p["type"] for p in sent] == [
        "ticket.created",
        "ticket.field_changed",
        "ticket.status_changed",
        "ticket.field_changed",
    ]
    moved, closed, called_off = sent[1], sent[2], sent[3]
    assert moved["actor"] == "merchant"
    assert moved["data"] == {
        "change": "rescheduled",
        "from": {"scheduled_date": soon(2), "half_day": "pm"},
        "to": {"scheduled_date": day.isoformat(), "half_day": "am"},
    }
    assert (
        moved["ticket"]["field"]["scheduled_date"] == day.isoformat() and moved["ticket"]["field"]["half_day"] == "am"
    )
    assert closed["data"]["to"] == "resolved" and closed["ticket"]["resolution"] == "商户取消了上门服务"
    assert called_off["data"] == {"change": "cancelled"}
    assert called_off["ticket"]["field"]["outcome"] == "cancelled" and called_off["ticket"]["field"]["finished_at"]


def test_migration_matches_the_care_reminder_model(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import bot.core.models  # noqa: F401
    from bot.core.db import Base, make_engine, upgrade

    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = [
                d
                for d in compare_metadata(ctx, Base.metadata)
                if "care_reminders" in repr(d) or "field_jobs" in repr(d)
            ]
    finally:
        engine.dispose()
    assert diffs == []


def test_the_field_migration_goes_back_and_forth(db_url):
    import sqlalchemy as sa
    from alembic import command

    from bot.core.db import alembic_config, make_engine, upgrade

    upgrade(db_url)
    cfg = alembic_config(db_url)
    engine = make_engine(db_url)
    try:
        assert {"field_jobs", "care_reminders"} <= set(sa.inspect(engine).get_table_names())
        command.downgrade(cfg, "0010_faq_turns")  # the revision before 0011_field_service
        assert not {"field_jobs", "care_reminders"} & set(sa.inspect(engine).get_table_names())
        upgrade(db_url)
        assert {"field_jobs", "care_reminders"} <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_posbot_field_remind_sends_what_is_due_once(database, db_url, monkeypatch):
    from datetime import UTC, datetime

    from click.testing import CliRunner

    from bot.cli import main
    from bot.conversations.service import ConversationService
    from bot.core.settings import get_settings
    from bot.field import reminders

    conv = "web:care-merchant"
    settings = make_settings()
    ConversationService(database, settings).log_message(conv, "in", "提醒我保养")
    reminders.opt_in(database, conv, "898310048161234", 30, now=datetime(2026, 1, 1, tzinfo=UTC))
    monkeypatch.setenv("POSBOT_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        first = runner.invoke(main, ["field", "remind"], catch_exceptions=False)
        again = runner.invoke(main, ["field", "remind"], catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    assert first.exit_code == 0 and "queued 1 care reminder" in first.output
    assert "queued 0 care reminder" in again.output
    pending = ConversationService(database, settings).pending_outgoing(conv)
    assert [m.text.splitlines()[0] for m in pending] == ["⏰ 定期保养提醒：花几分钟照着做一遍，机器更耐用～"]

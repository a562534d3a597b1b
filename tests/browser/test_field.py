"""The staff console's 上门/配送 tab in a real browser: the queue by day and area, assign, done with parts."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from .conftest import STAFF_PASSWORD
from .test_staff import log_in

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture(scope="module")
def maintainer(request):
    from bot.core.db import Database
    from bot.staff.accounts import StaffNotFound, StaffStore

    stack = request.getfixturevalue("live_stack")
    db = Database(stack.settings.effective_database_url)
    try:
        store = StaffStore(db)
        try:
            store.get("wangshifu")
        except StaffNotFound:
            store.create("wangshifu", "maintainer", STAFF_PASSWORD, display_name="王师傅")
    finally:
        db.dispose()
    return {"username": "wangshifu", "password": STAFF_PASSWORD, "display_name": "王师傅"}


def day(offset: int) -> str:
    return (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=offset)).isoformat()


def create(api, category: str, field: dict, **extra) -> dict:
    body = {
        "category": category,
        "merchant_id": "898310048161234",
        "contact_phone": "13800138000",
        "description": f"浏览器测试 {uuid.uuid4().hex[:6]}",
        "field": field,
    } | extra
    r = api.post("/api/tickets", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_the_maintainer_queue_assign_and_done(page, site, staff_account, maintainer, api):
    area = f"杭州市{uuid.uuid4().hex[:4].translate(str.maketrans('0123456789abcdef', '东南西北中上下左右前后新老大小滨'))}区"
    visit = create(
        api,
        "visit",
        {"kind": "repair", "address": f"{area}文三路100号", "scheduled_date": day(2), "half_day": "pm"},
        terminal_id="12345678",
    )
    delivery = create(
        api,
        "consumables",
        {
            "kind": "consumables",
            "items": [{"code": "paper_57x50", "quantity": 10}],
            "delivery_method": "delivery",
            "address": f"{area}文二路8号",
        },
    )

    log_in(page, site, staff_account)
    page.get_by_role("tab", name="上门/配送").click()
    page.get_by_label("区域").select_option(area)
    page.get_by_role("button", name="查询").click()
    jobs = page.locator(".field-job")
    expect(jobs).to_have_count(2)
    v = page.locator(f'.field-job[data-number="{visit["number"]}"]')
    expect(v).to_contain_text("上门维修")
    expect(v).to_contain_text("下午")
    expect(v).to_contain_text(area)
    d = page.locator(f'.field-job[data-number="{delivery["number"]}"]')
    expect(d).to_contain_text("57×50mm 热敏打印纸 × 10卷（送货上门）")

    # Only deliveries.
    page.get_by_label("类型").select_option("delivery")
    page.get_by_role("button", name="查询").click()
    expect(jobs).to_have_count(1)
    page.get_by_label("类型").select_option("")
    page.get_by_role("button", name="查询").click()
    expect(jobs).to_have_count(2)

    v.get_by_label("维护人员").select_option("wangshifu")
    v.get_by_role("button", name="指派").click()
    expect(v).to_contain_text("已指派给 王师傅")
    assert api.get(f"/api/tickets/{visit['number']}").json()["assignee"] == "wangshifu"

    # A part without a name is refused in the page, nothing is sent.
    v.get_by_label("完成说明").fill("更换打印头，测试打印正常")
    v.get_by_label("使用的配件（可不填）").fill("×2")
    v.get_by_role("button", name="标记完成").click()
    expect(v.get_by_role("alert")).to_contain_text("缺少名称")
    assert api.get(f"/api/tickets/{visit['number']}").json()["status"] == "in_progress"

    v.get_by_label("使用的配件（可不填）").fill("打印头×1")
    v.get_by_role("button", name="标记完成").click()
    expect(jobs).to_have_count(1)  # done jobs leave the queue
    t = api.get(f"/api/tickets/{visit['number']}").json()
    assert t["status"] == "resolved" and t["resolution"] == "更换打印头，测试打印正常"
    assert t["field"]["parts_used"] == [{"item": "打印头", "quantity": 1}]

    page.get_by_label("含已完成").check()
    page.get_by_role("button", name="查询").click()
    expect(v).to_contain_text("已完成")
    expect(v).to_contain_text("使用配件：打印头 × 1")


def test_a_maintainer_account_sees_the_queue_but_no_chats(page, site, maintainer):
    log_in(page, site, maintainer)
    page.get_by_role("tab", name="上门/配送").click()
    expect(page.locator("#f-count")).to_contain_text("共")
    expect(page.locator("#f-error")).to_be_hidden()

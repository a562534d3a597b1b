"""The staff console (/staff) in a real browser against the live stack, signed in with a real staff account."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from .helpers import CJK, ChatWidget

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def log_in(page: Page, site: str, account: dict, hash_: str = "") -> None:
    page.goto(site + "/staff" + (f"#{hash_}" if hash_ else ""))
    page.get_by_label("用户名").fill(account["username"])
    page.get_by_label("密码").fill(account["password"])
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_text(f"已登录：{account['display_name']}")).to_be_visible()


def create_ticket(api, **overrides) -> dict:
    body = {
        "category": "repair",
        "merchant_id": "898310048161234",
        "terminal_id": "12345678",
        "contact_phone": "13800138000",
        "description": f"打印机不打单，换了纸也不行（浏览器测试 {uuid.uuid4().hex[:6]}）",
        "priority": "high",
    } | overrides
    r = api.post("/api/tickets", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_faq_search_shows_results_and_the_entry(page, site, staff_account):
    log_in(page, site, staff_account)
    page.get_by_label("商户的问题").fill("打印机不打单")
    page.get_by_role("button", name="搜索", exact=True).click()

    expect(page.locator("#faq-summary .badge")).to_have_text(re.compile("可直接回答|给出候选|未找到合适答案"))
    results = page.locator("#faq-results .result")
    expect(results.first).to_be_visible()
    expect(results.first).to_contain_text(re.compile("匹配度 [高中低]"))
    expect(page.locator("#faq-results")).not_to_contain_text("相似度")
    expect(results.first.locator("mark").first).to_be_visible()  # the words the query shares
    expect(results.first).to_contain_text("打印")

    question = results.first.locator(".result-q").inner_text()
    results.first.click()
    detail = page.locator("#faq-detail")
    expect(detail.get_by_role("heading", level=2)).to_have_text(question)
    expect(detail.locator(".answer")).to_have_text(CJK)
    expect(detail).not_to_contain_text(".yml")  # no file names, ids or scores for agents
    expect(detail).not_to_contain_text("来源文件")


def test_wrong_password_is_an_error_not_a_login(page, site, staff_account):
    page.goto(site + "/staff")
    page.get_by_label("用户名").fill(staff_account["username"])
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("#login-error")).to_have_text("用户名或密码不正确")
    expect(page.get_by_text("已登录")).to_have_count(0)
    expect(page.get_by_role("tab", name="工单")).to_be_hidden()


def test_wrong_api_key_is_an_error_and_a_right_one_signs_in(page, site, staff_key):
    page.goto(site + "/staff")
    page.get_by_text("用 API key 登录（运维 / 对接调试）").click()
    page.get_by_label("API key").fill("posbot_00000000_" + "x" * 43)
    page.get_by_role("button", name="用 API key 登录").click()
    expect(page.locator("#login-error")).to_have_text("API key 无效或已停用")
    expect(page.get_by_text("已登录")).to_have_count(0)

    page.get_by_label("API key").fill(staff_key)
    page.get_by_role("button", name="用 API key 登录").click()
    expect(page.get_by_text("已登录：browser-tests")).to_be_visible()


def test_the_login_survives_a_reload_and_a_second_tab_and_logout_ends_it(page, site, staff_account):
    log_in(page, site, staff_account)
    page.reload()
    expect(page.get_by_text("已登录：小李（客服）")).to_be_visible()
    second = page.context.new_page()
    second.goto(site + "/staff#tickets")
    expect(second.get_by_text("已登录：小李（客服）")).to_be_visible()
    expect(second.get_by_role("button", name="查询")).to_be_visible()

    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible()
    second.reload()
    expect(second.get_by_role("button", name="登录", exact=True)).to_be_visible()  # ended on the server


def test_tickets_list_detail_update_and_comment(page, site, staff_account, api):
    ticket = create_ticket(api)
    number = ticket["number"]

    log_in(page, site, staff_account)
    page.get_by_role("tab", name="工单").click()
    link = page.get_by_role("link", name=number, exact=True)
    expect(link).to_be_visible()
    row = page.locator("#t-rows tr", has=link)
    expect(row).to_contain_text("待处理")
    expect(row).to_contain_text("报修")

    link.click()
    expect(page.locator("#t-title")).to_have_text(f"工单 {number}")
    expect(page.locator("#t-description")).to_have_text(ticket["description"])
    # Statuses the server allows from 待处理, in Chinese only (no "处理中（in_progress）").
    expect(page.locator("#t-new-status option")).to_have_text(["待处理", "处理中", "已解决"])
    expect(page.locator("#t-fields")).to_contain_text("故障报修")
    expect(page.locator("#t-events")).to_contain_text("创建工单")

    page.get_by_label("工单状态").select_option("in_progress")
    page.get_by_label("处理人").fill("小李")
    page.get_by_role("button", name="保存修改").click()
    expect(page.locator("#t-badges")).to_contain_text("处理中")
    expect(page.locator("#t-fields")).to_contain_text("小李")
    expect(page.locator("#t-events")).to_contain_text("状态变更")
    expect(page.locator("#t-events .event-status_changed")).to_contain_text("小李")  # who, from the session

    page.get_by_label("备注内容").fill("已电话联系商户，明天上门")
    page.get_by_role("button", name="添加备注").click()
    expect(page.locator("#t-events")).to_contain_text("已电话联系商户，明天上门")

    assert api.get(f"/api/tickets/{number}").json()["status"] == "in_progress"


def unique_merchant_id() -> str:
    return "8983100" + uuid.uuid4().hex[:8].translate(str.maketrans("abcdef", "123456"))


def test_tickets_filter_by_merchant(page, site, staff_account, api):
    merchant = unique_merchant_id()
    mine = create_ticket(api, merchant_id=merchant, category="settlement", description="昨天的钱没到账")
    other = create_ticket(api)

    log_in(page, site, staff_account, "tickets")
    expect(page.get_by_role("link", name=other["number"], exact=True)).to_be_visible()
    page.get_by_label("商户号").fill(merchant)
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("link", name=mine["number"], exact=True)).to_be_visible()
    expect(page.locator("#t-rows tr")).to_have_count(1)
    expect(page.get_by_role("link", name=other["number"], exact=True)).to_have_count(0)


def test_tickets_paging(page, site, staff_account, api):
    merchant = unique_merchant_id()
    numbers = [create_ticket(api, merchant_id=merchant)["number"] for _ in range(11)]

    log_in(page, site, staff_account, "tickets")
    page.get_by_label("商户号").fill(merchant)
    page.get_by_label("每页").select_option("10")
    page.get_by_role("button", name="查询").click()
    rows = page.locator("#t-rows tr")
    expect(rows).to_have_count(10)
    expect(rows.first).to_contain_text(numbers[-1])  # newest first
    expect(page.get_by_role("button", name="上一页")).to_be_disabled()

    page.get_by_role("button", name="下一页").click()
    expect(page.get_by_text("第 2 页")).to_be_visible()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(numbers[0])
    expect(page.get_by_role("button", name="下一页")).to_be_disabled()

    page.get_by_role("button", name="上一页").click()
    expect(rows).to_have_count(10)


def test_handoff_round_trip_between_merchant_and_staff(open_page, site, staff_account):
    # Merchant asks for a person.
    merchant = open_page()
    merchant.goto(site + "/")
    chat = ChatWidget(merchant)
    chat.say("转人工")
    expect(chat.banner).to_be_visible()
    conv_id = "web:" + chat.sender_id()

    # Staff open the conversation, read it and answer.
    staff = open_page()
    staff.on("dialog", lambda d: d.accept())  # 交还机器人 asks for confirmation
    log_in(staff, site, staff_account, "conversations")
    staff.get_by_label("会话 ID").fill(conv_id)
    staff.get_by_role("button", name="打开", exact=True).click()
    expect(staff.locator("#c-state")).to_have_text("人工处理中")
    expect(staff.locator("#c-transcript")).to_contain_text("转人工")

    # An FAQ answer goes into the reply box with one click (searched as the agent types).
    staff.get_by_role("tab", name="知识库搜索").click()
    staff.get_by_label("商户的问题").press_sequentially("打印机不打单", delay=30)
    staff.locator("#faq-results").get_by_role("button", name="插入回复").first.click()
    expect(staff.locator("#c-state")).to_have_text("人工处理中")
    expect(staff.get_by_label("回复商户")).not_to_have_value("")

    reply = "您好，我是客服小李，马上帮您看看～"
    staff.get_by_label("回复商户").fill(reply)
    staff.get_by_role("button", name="发送", exact=True).click()
    expect(staff.locator("#c-transcript")).to_contain_text(reply)

    # The merchant's page shows it, signed with the account's display name.
    expect(chat.staff_bubbles().filter(has_text=reply)).to_be_visible()
    expect(merchant.locator(".pw-msg.pw-staff").filter(has_text=reply)).to_contain_text("人工客服 · 小李")

    # Staff hand back: the bot answers again and the banner goes away.
    staff.get_by_role("button", name="交还机器人").click()
    expect(staff.locator("#c-state")).to_have_text("机器人接待中")
    expect(staff.locator("#c-fields")).to_contain_text("交还人小李")  # the person, not the account name
    expect(chat.say("你好").first).to_have_text(CJK)
    expect(chat.banner).to_be_hidden()


def test_faq_search_shows_the_response_code_the_query_quotes(page, site, staff_account):
    log_in(page, site, staff_account)
    page.get_by_label("商户的问题").fill("顾客刷卡显示51")
    page.get_by_role("button", name="搜索", exact=True).click()
    card = page.locator("#faq-results .code-hit").first
    expect(card).to_contain_text("返回码 51：余额不足")
    expect(card).to_contain_text("持卡人和发卡银行这边")
    expect(card.locator(".code-steps li").first).to_have_text(CJK)
    expect(page.locator("#faq-summary")).to_contain_text("返回码 1 个")

    page.get_by_label("商户的问题").fill("机器报错B9")
    page.get_by_role("button", name="搜索", exact=True).click()
    expect(page.locator("#faq-results .code-hit.unknown")).to_contain_text("代码表里没有这个返回码")


def test_staff_see_what_the_merchant_will_receive(page, site, staff_account, api):
    sender = f"web:b{uuid.uuid4().hex[:12]}"
    ticket = create_ticket(api, channel="web", sender_id=sender)
    number = ticket["number"]
    log_in(page, site, staff_account, f"tickets/{number}")
    expect(page.locator("#t-title")).to_have_text(f"工单 {number}")

    preview = page.locator("#t-preview")
    page.get_by_label("工单状态").select_option("resolved")
    page.get_by_role("textbox", name="说明").fill("内部：更换了打印头")
    expect(preview).to_contain_text(f"您的工单 {number} 已处理完成")
    expect(preview).not_to_contain_text("更换了打印头")  # the note stays internal

    page.get_by_role("textbox", name="说明").fill("已为您更换打印头")
    page.get_by_label("把说明作为客服留言发给商户").check()
    expect(preview).to_contain_text("客服留言：已为您更换打印头")
    page.get_by_role("button", name="保存修改").click()
    expect(page.locator("#t-badges")).to_contain_text("已解决")
    expect(page.locator("#t-events")).to_contain_text("客服留言：已为您更换打印头")  # what was sent, logged

    comment_preview = page.locator("#t-comment-preview")
    page.get_by_label("备注内容").fill("商户说明天在店")
    expect(comment_preview).to_be_hidden()  # internal: nothing to preview
    page.get_by_label("同时作为客服回复发给商户").check()
    expect(comment_preview).to_contain_text(f"关于您的工单 {number}，客服回复：商户说明天在店")


def test_a_ticket_without_a_chat_says_the_merchant_gets_nothing(page, site, staff_account, api):
    number = create_ticket(api)["number"]
    log_in(page, site, staff_account, f"tickets/{number}")
    expect(page.locator("#t-title")).to_have_text(f"工单 {number}")
    page.get_by_label("工单状态").select_option("in_progress")
    expect(page.locator("#t-preview")).to_have_text("这张工单不是从对话里来的，商户不会收到消息")


def test_the_agent_sees_the_merchant_and_the_conversations_tickets(open_page, site, staff_account, api):
    merchant = open_page()
    merchant.goto(site + "/")
    chat = ChatWidget(merchant)
    conv_id = "web:" + chat.sender_id()
    repair = create_ticket(api, channel="web", sender_id=conv_id, contact_phone="13812345678")
    chat.say("转人工")
    expect(chat.last_reply()).to_contain_text(repair["number"])

    staff = open_page()
    log_in(staff, site, staff_account, f"conversations/{conv_id}")
    context = staff.locator("#c-context")
    expect(context).to_contain_text("898310048161234")
    expect(context).to_contain_text("138****5678")
    expect(context).not_to_contain_text("13812345678")
    expect(staff.locator("#c-tickets li")).to_have_count(1)  # joined, not a second ticket
    expect(staff.locator("#c-tickets")).to_contain_text(repair["number"])


def test_the_queue_refreshes_itself_and_counts_who_is_waiting(open_page, site, staff_account, api):
    staff = open_page()
    log_in(staff, site, staff_account, "conversations")
    badge = staff.locator("#queue-badge")

    merchant = open_page()
    merchant.goto(site + "/")
    chat = ChatWidget(merchant)
    conv_id = "web:" + chat.sender_id()
    create_ticket(api, channel="web", sender_id=conv_id, merchant_id="898310048165678")
    chat.say("转人工")
    expect(chat.banner).to_be_visible()
    chat.say("打印机还是不出纸")
    chat.say("换了纸也不行")  # the first one may get the "a person will answer" notice; this one does not

    # No reload, no click: the row appears by itself, once, with who, how long and what was said.
    row = staff.locator(f'#c-waiting li[data-conv="{conv_id}"]')
    expect(row).to_have_count(1)
    expect(row).to_contain_text("商户 8983****5678")
    expect(row).to_contain_text("电话 138****8000")
    expect(row).to_contain_text("已等待")
    expect(row).to_contain_text("商户：换了纸也不行")
    expect(row).to_contain_text("2 条未回复")
    expect(row).not_to_contain_text(conv_id)
    expect(badge).to_have_text(re.compile(r"^[1-9]\d*$"))
    waiting = int(badge.inner_text())
    # A new arrival is announced in the title until the agent looks (tests/browser/test_insights.py);
    # then the title counts who is waiting.
    expect(staff).to_have_title("(1) 新的人工会话")
    staff.locator("#c-waiting").click()
    expect(staff).to_have_title(f"({waiting}) 客服工作台 · POS 商户助手")

    r = api.post(f"/api/conversations/{conv_id}/handback", json={})
    assert r.status_code == 200, r.text
    expect(row).to_have_count(0)
    if waiting == 1:
        expect(badge).to_be_hidden()
        expect(staff).to_have_title("客服工作台 · POS 商户助手")
    else:
        expect(badge).to_have_text(str(waiting - 1))


def test_a_viewer_reads_but_cannot_change_tickets(page, site, staff_account, api):
    number = create_ticket(api)["number"]
    log_in(
        page,
        site,
        {"username": "viewer", "password": staff_account["password"], "display_name": "值班主管"},
        f"tickets/{number}",
    )
    expect(page.locator("#t-title")).to_have_text(f"工单 {number}")
    expect(page.get_by_role("button", name="保存修改")).to_be_disabled()
    expect(page.get_by_role("button", name="添加备注")).to_be_disabled()

"""The staff workspace's insight tabs and the queue alert in a real browser against the live stack.

* 数据看板: a week of seeded history (2025-03-01..07, far from any other test's data) is drawn:
  the charts hold exactly the seeded numbers and their canvases have pixels on them.
* 未解答问题: similar unanswered questions show as one group; an editor resolves one through the
  new-entry path and ignores another; adding a wording needs the knowledge-base editor's route,
  and while that route is missing the page says so and the group stays.
* 人工会话: a new handoff beeps (Web Audio oscillators counted in the page) and puts
  "(1) 新的人工会话" in the title until the agent looks; the mute switch is remembered.

Screenshots for the README: docs/img/staff-workspace.png, docs/img/analytics.png.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.analytics.conftest import Clock

from .helpers import ChatWidget
from .test_staff import log_in

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# The README's screenshots: `POSBOT_SCREENSHOT_DIR=docs/img pytest tests/browser/test_insights.py`
# renews them; a normal run writes them to a temporary folder, so `make test` leaves the checkout clean.
IMG = Path(os.environ.get("POSBOT_SCREENSHOT_DIR") or Path(tempfile.gettempdir()) / "posbot-screenshots")
EDITOR = {"username": "editor-insights", "password": "browser-tests-password", "display_name": "知识库小王"}
WEEK = [f"2025-03-0{i}" for i in range(1, 8)]
# Counts each oscillator the page starts: the beep is two of them.
COUNT_BEEPS = """
window.__oscillators = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) { window.__oscillators += 1; return start.apply(this, args); };
"""


@pytest.fixture(scope="module")
def stack_db(live_stack):
    from bot.core.db import Database

    db = Database(live_stack.settings.effective_database_url)
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def editor(stack_db):
    from bot.staff.accounts import StaffStore

    StaffStore(stack_db).create(EDITOR["username"], "editor", EDITOR["password"], display_name=EDITOR["display_name"])
    return EDITOR


@pytest.fixture(scope="module")
def entry_ids(site, staff_key):
    import httpx

    with httpx.Client(base_url=site, headers={"X-API-Key": staff_key}, timeout=60) as c:
        ids = []
        for q in ("打印机不出纸", "手续费怎么算"):
            r = c.get("/api/faq/search", params={"q": q, "k": 1})
            assert r.status_code == 200, r.text
            ids.append(r.json()["results"][0]["id"])
        return ids


@pytest.fixture(scope="module")
def seeded_week(stack_db, live_stack, entry_ids):
    """Day i (0-6) of the week: i+1 conversations, each one question; the even ones answered, the odd
    ones not (similar questions about a Bluetooth speaker); a 👍 per answer; c0 rates 1+i%5;
    from day 3 one handoff answered after 60*i seconds; day 0 and 5 a repair ticket."""
    from bot.analytics.turns import FaqTurnLog
    from bot.conversations.service import ConversationService
    from bot.tickets.schemas import TicketCreate
    from bot.tickets.service import TicketService

    settings = live_stack.settings
    clock = Clock(None)
    convs = ConversationService(stack_db, settings, clock=clock)
    turns = FaqTurnLog(stack_db, clock=clock)
    tickets = TicketService(stack_db, settings, clock=clock)
    tag = uuid.uuid4().hex[:6]
    speaker = ["收款能连蓝牙音箱播报吗", "收款播报能连蓝牙音箱吗", "蓝牙音箱能播报收款吗", "能不能用蓝牙音箱播报收款"]
    for i, day in enumerate(WEEK):
        for j in range(i + 1):
            conv = f"web:seed{tag}d{i}c{j}"
            clock.at(f"{day} 10:{j:02d}")
            if j % 2 == 0:
                convs.log_message(conv, "in", "打印机不出纸")
                turns.record(conv, "打印机不出纸", "answer", [(entry_ids[0], 0.9)], entry_id=entry_ids[0])
                convs.record_faq_feedback(conv, entry_ids[0], "up")
                turns.record_vote(conv, entry_ids[0], "up")
            else:
                text = speaker[j % len(speaker)]
                convs.log_message(conv, "in", text)
                turns.record(conv, text, "none", [(entry_ids[1], 0.2)])
        clock.at(f"{day} 10:20")  # within 30 minutes of c0's answer: it counts for that entry too
        convs.record_rating(f"web:seed{tag}d{i}c0", 1 + i % 5, dedupe_key=f"chat-seed-{tag}-{i}")
        if i >= 3:
            clock.at(f"{day} 12:00")
            convs.start_handoff(f"web:seed{tag}d{i}c0")
            clock.now += timedelta(seconds=60 * i)
            convs.staff_reply(f"web:seed{tag}d{i}c0", "您好", by="小李")
            convs.hand_back(f"web:seed{tag}d{i}c0", "xiaoli", notice=None)
        if i in (0, 5):
            tickets.create(
                TicketCreate(
                    category="repair",
                    description="打印机不出纸",
                    merchant_id="898310048161234",
                    terminal_id="12345678",
                    contact_phone="13800138000",
                )
            )
    return tag


def chart_data(page: Page, canvas_id: str) -> list[list]:
    return page.evaluate("id => Chart.getChart(document.getElementById(id)).data.datasets.map(d => d.data)", canvas_id)


def drawn_pixels(page: Page, canvas_id: str) -> int:
    return page.evaluate(
        """id => {
            const c = document.getElementById(id);
            const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
            return n;
        }""",
        canvas_id,
    )


def test_analytics_draws_the_seeded_week(page, site, staff_account, seeded_week):
    log_in(
        page,
        site,
        {"username": "viewer", "password": staff_account["password"], "display_name": "值班主管"},
        "analytics",
    )
    page.get_by_label("开始日期").fill(WEEK[0])
    page.get_by_label("结束日期").fill(WEEK[-1])
    page.get_by_role("button", name="查询", exact=True).click()
    tiles = page.locator("#a-tiles")
    expect(tiles).to_contain_text("会话数28")  # 1 + 2 + ... + 7
    expect(tiles).to_contain_text("自助解答率57.1%")  # 16 of 28 answered
    expect(tiles).to_contain_text("转人工率14.3%")  # 4 of 28 conversations

    volume = chart_data(page, "a-chart-volume")
    assert volume == [[1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7]]
    rates = chart_data(page, "a-chart-rates")
    assert rates[0] == [100, 50, 66.7, 50, 60, 50, 57.1]  # answered share per day
    assert rates[3] == [0, 0, 0, 25, 20, 16.7, 14.3]  # handoff rate per day
    feedback = chart_data(page, "a-chart-feedback")
    assert feedback[0] == [1, 1, 2, 2, 3, 3, 4]  # 👍, one per answer
    assert feedback[2] == [0, 0, 0, 100, 100, 0, 0]  # CSAT: ratings 1,2,3,4,5,1,2 → 4-5 only on days 3, 4
    reply = chart_data(page, "a-chart-reply")
    assert reply == [[None, None, None, 3.0, 4.0, 5.0, 6.0]]  # minutes
    tickets = chart_data(page, "a-chart-tickets")
    assert sum(sum(d) for d in tickets) == 2
    for canvas in ("a-chart-volume", "a-chart-rates", "a-chart-tickets", "a-chart-feedback", "a-chart-reply"):
        assert drawn_pixels(page, canvas) > 2000, canvas
    expect(page.locator("#a-unanswered li").first).to_contain_text("12 次")  # the speaker questions, one group
    expect(page.locator("#a-entries")).to_contain_text("%")

    IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMG / "analytics.png"), full_page=True)


def test_a_mistyped_range_says_what_is_wrong(page, site, staff_account):
    log_in(page, site, staff_account, "analytics")
    page.get_by_label("开始日期").fill("2026-12-05")
    page.get_by_label("结束日期").fill("2026-12-01")
    page.get_by_role("button", name="查询", exact=True).click()
    expect(page.locator("#a-error")).to_contain_text("开始日期不能晚于结束日期")


def test_csv_export_downloads_the_table(page, site, staff_account, seeded_week):
    log_in(page, site, staff_account, "analytics")
    page.get_by_label("开始日期").fill(WEEK[0])
    page.get_by_label("结束日期").fill(WEEK[-1])
    page.get_by_role("button", name="查询", exact=True).click()
    expect(page.locator("#a-tiles")).to_contain_text("会话数28")
    with page.expect_download() as info:
        page.get_by_role("button", name="导出每日数据 CSV").click()
    download = info.value
    assert download.suggested_filename == "posbot-daily-2025-03-01-2025-03-07.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("日期,会话数,问题数,机器人解答,自助解答率")
    assert "2025-03-07,7,7,4,57.1%" in text


def unanswered_group(page: Page, question: str):
    return page.locator("#u-groups .u-group").filter(
        has=page.locator(".u-question", has_text=re.compile("^" + re.escape(question) + "$"))
    )


def seed_questions(stack_db, texts: list[str], entry_id: str) -> None:
    from bot.analytics.turns import FaqTurnLog

    turns = FaqTurnLog(stack_db)
    for text in texts:
        turns.record(f"web:u{uuid.uuid4().hex[:10]}", text, "none", [(entry_id, 0.3)])


def test_an_editor_works_through_the_unanswered_queue(page, site, editor, stack_db, entry_ids):
    tag = uuid.uuid4().hex[:4]
    # Similar questions (one group, asked most), and an unrelated one.
    seed_questions(stack_db, [f"机器能打发票{tag}吗"] * 3 + [f"能打发票{tag}吗"], entry_ids[0])
    # Its own tag: a tag shared with the group above can make the encoder put both in one group.
    boss_tag = uuid.uuid4().hex[:4]
    seed_questions(stack_db, [f"你们老板{boss_tag}是谁"], entry_ids[1])
    page.add_init_script(
        "window.__kbNew = []; document.addEventListener('kb:new-entry', e => window.__kbNew.push(e.detail));"
    )
    page.on("dialog", lambda d: d.accept())
    log_in(page, site, editor, "unanswered")
    invoice = unanswered_group(page, f"机器能打发票{tag}吗")
    expect(invoice).to_contain_text("4 次")
    expect(invoice).to_contain_text(f"其他问法：能打发票{tag}吗")
    boss = unanswered_group(page, f"你们老板{boss_tag}是谁")
    expect(boss).to_contain_text("1 次")

    # 新建条目: the knowledge-base editor opens with the question filled in; once the entry is saved
    # the group is resolved with the entry it became.
    invoice.get_by_role("button", name="新建条目").click()
    assert page.evaluate("window.__kbNew")[-1]["question"] == f"机器能打发票{tag}吗"
    expect(page.locator("#kb-e-title")).to_have_text("新建条目")
    expect(page.locator("#kb-e-question")).to_have_value(f"机器能打发票{tag}吗")
    page.locator("#kb-e-id").fill(f"general-invoice-{tag}")
    page.locator("#kb-e-paraphrases").fill(
        "\n".join(
            f"{w}{tag}"
            for w in (
                "刷卡机能开发票吗",
                "POS机可以打发票吗",
                "机器打发票怎么弄",
                "能不能用刷卡机开票",
                "收银机开发票",
                "小票能当发票用吗",
            )
        )
    )
    page.locator("#kb-e-answer").fill(
        "刷卡机打的是交易小票，不是发票。需要发票的话：\n1. 联系您的服务商客服；\n2. 说明商户号和要开票的交易。"
    )
    page.locator("#kb-save").click()
    expect(page.locator("#kb-e-status")).to_contain_text("已保存为第")
    page.get_by_role("tab", name="未解答问题").click()
    expect(unanswered_group(page, f"机器能打发票{tag}吗")).to_have_count(0, timeout=15_000)
    with stack_db.session() as s:
        from bot.analytics.models import FaqTurn

        rows = s.query(FaqTurn).filter(FaqTurn.query.like(f"%发票{tag}%")).all()
    assert {(r.resolution, r.resolved_entry_id) for r in rows} == {("new_entry", f"general-invoice-{tag}")}

    # 忽略: out of scope.
    unanswered_group(page, f"你们老板{boss_tag}是谁").get_by_role("button", name="忽略（不在服务范围）").click()
    expect(page.locator("#u-msg")).to_contain_text("已忽略 1 个问题")
    expect(unanswered_group(page, f"你们老板{boss_tag}是谁")).to_have_count(0)

    # A second tab still showing the group: its late click is refused, not applied twice.
    seed_questions(stack_db, [f"打印纸{tag}去哪买"], entry_ids[0])
    page.get_by_role("button", name="刷新", exact=True).click()
    paper = unanswered_group(page, f"打印纸{tag}去哪买")
    expect(paper).to_have_count(1)
    key = paper.get_attribute("data-key")
    from bot.analytics.turns import FaqTurnLog, unanswered_questions

    with stack_db.session() as s:
        ids = [q.id for q in unanswered_questions(s) if q.query == f"打印纸{tag}去哪买"]
    FaqTurnLog(stack_db).resolve(ids, by="someone-else", resolution="ignored")
    paper.get_by_role("button", name="忽略（不在服务范围）").click()
    expect(paper.locator(".u-error")).to_contain_text("已经处理过")
    assert key


def test_a_viewer_sees_the_queue_but_cannot_change_it(page, site, staff_account, stack_db, entry_ids):
    tag = uuid.uuid4().hex[:4]
    seed_questions(stack_db, [f"可以刷{tag}外卡吗"], entry_ids[1])
    log_in(
        page,
        site,
        {"username": "viewer", "password": staff_account["password"], "display_name": "值班主管"},
        "unanswered",
    )
    group = unanswered_group(page, f"可以刷{tag}外卡吗")
    expect(group).to_contain_text("1 次")
    expect(group.get_by_role("button", name="忽略（不在服务范围）")).to_have_count(0)
    expect(group).to_contain_text("知识库编辑可以把这些问题加进知识库")


def test_a_new_handoff_beeps_and_alerts_in_the_title_until_the_agent_looks(open_page, site, staff_account):
    staff = open_page()
    staff.add_init_script(COUNT_BEEPS)
    log_in(staff, site, staff_account)  # on the FAQ tab, like an agent looking something up
    mute = staff.locator(".queue-mute")  # beside the queue (a hidden tab now)
    expect(mute).to_have_text("🔔 提示音：开")
    staff.wait_for_function("document.title.includes('客服工作台')")
    base_beeps = staff.evaluate("window.__oscillators")

    merchant = open_page()
    merchant.goto(site + "/")
    chat = ChatWidget(merchant)
    conv_id = "web:" + chat.sender_id()
    chat.say("转人工")
    expect(chat.banner).to_be_visible()

    expect(staff).to_have_title("(1) 新的人工会话")
    staff.wait_for_function(f"window.__oscillators >= {base_beeps + 2}")  # two tones
    expect(staff.locator("#queue-badge")).to_have_text(re.compile(r"^[1-9]\d*$"))

    # The agent opens the queue: the title goes back to the count, the conversation is in the list.
    staff.get_by_role("tab", name=re.compile("人工会话")).click()
    waiting = int(staff.locator("#queue-badge").inner_text())
    expect(staff).to_have_title(f"({waiting}) 客服工作台 · POS 商户助手")
    row = staff.locator(f'#c-waiting li[data-conv="{conv_id}"]')
    expect(row).to_contain_text("已等待")
    row.locator(".queue-link").click()
    expect(staff.locator("#c-state")).to_have_text("人工处理中")
    IMG.mkdir(parents=True, exist_ok=True)
    staff.screenshot(path=str(IMG / "staff-workspace.png"), full_page=True)

    # Muted: the next handoff still shows in the title, without a sound; the switch survives a reload.
    mute.click()
    expect(mute).to_have_text("🔕 提示音：关")
    staff.reload()
    expect(staff.get_by_text(f"已登录：{staff_account['display_name']}")).to_be_visible()
    expect(mute).to_have_text("🔕 提示音：关")
    staff.get_by_role("tab", name="知识库搜索").click()
    staff.wait_for_function("document.title.includes('客服工作台')")
    muted_beeps = staff.evaluate("window.__oscillators")
    second = open_page()
    second.goto(site + "/")
    chat2 = ChatWidget(second)
    chat2.say("转人工")
    expect(chat2.banner).to_be_visible()
    expect(staff).to_have_title("(1) 新的人工会话")
    assert staff.evaluate("window.__oscillators") == muted_beeps


def test_adding_the_question_as_a_wording_resolves_the_group(open_page, site, editor, stack_db, entry_ids, staff_key):
    tag = uuid.uuid4().hex[:4]
    question = f"小票{tag}打不出字"
    seed_questions(stack_db, [question, question], entry_ids[0])
    page = open_page()
    log_in(page, site, editor, "unanswered")
    group = unanswered_group(page, question)
    expect(group).to_contain_text("2 次")
    group.get_by_role("button", name="加为已有条目的问法").click()
    expect(group.get_by_label("要添加的问法")).to_have_value(question)
    expect(group.get_by_role("radio").first).to_be_checked()
    group.get_by_role("button", name="确认添加").click()
    expect(page.locator("#u-msg")).to_contain_text("已处理 2 个问题")
    expect(unanswered_group(page, question)).to_have_count(0)
    # The bot answers that question now. The knowledge base reloads within seconds (a new wording
    # retrains the entry classifier, the slowest kind of change): ask as new merchants through the
    # chat API until the answer is the entry's, then once more in the widget.
    answer = page.evaluate(
        "async id => (await (await fetch('/api/faq/' + encodeURIComponent(id), {credentials: 'same-origin'})).json()).answer",
        entry_ids[0],
    )
    first_line = answer.strip().splitlines()[0][:10]
    from tests.support import ChatClient

    replies: list[str] = []
    api_chat = ChatClient(site)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            r = api_chat.post(f"w{uuid.uuid4().hex[:12]}", question)
            assert r.status_code == 200, r.text
            replies = [m.get("text") or "" for m in r.json()["messages"]]
            if any(first_line in t for t in replies):
                break
            time.sleep(2)
    finally:
        api_chat.close()
    assert any(first_line in t for t in replies), replies
    merchant = open_page()
    merchant.goto(site + "/")
    chat = ChatWidget(merchant)
    expect(chat.say(question).first).to_contain_text(first_line)

"""The merchant's chat (/ and the embeddable widget) in a real browser against the live stack."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from .helpers import CJK, PHONE, ChatWidget

pytestmark = [pytest.mark.browser, pytest.mark.integration]

MAX_CHARS = 1000


def test_greeting_gets_a_chinese_reply_in_a_bot_bubble(page, site, tmp_path):
    page.goto(site + "/")
    chat = ChatWidget(page)
    replies = chat.say("你好")
    expect(replies.first).to_be_visible()
    expect(replies.first).to_have_text(CJK)

    shot = tmp_path / "chat-greeting.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000

    # The merchant can reload (phones often do): the conversation is still there.
    page.reload()
    expect(chat.merchant_bubble("你好")).to_be_visible()
    expect(chat.replies_to("你好").first).to_have_text(CJK)


def test_activation_answer_keeps_its_line_breaks(page, site):
    page.goto(site + "/")
    chat = ChatWidget(page)
    answer = chat.say("刷卡机怎么激活").filter(has_text="激活").first
    expect(answer).to_be_visible()
    # Rendered line breaks show up in innerText (they would collapse into spaces otherwise).
    lines = [ln for ln in answer.inner_text().split("\n") if ln.strip()]
    assert len(lines) >= 3, lines
    rendered_lines = answer.evaluate(
        "el => Math.round(el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight))"
    )
    assert rendered_lines >= len(lines)


def test_clicking_a_button_sends_its_title_and_gets_a_reply(page, site):
    page.goto(site + "/")
    chat = ChatWidget(page)
    chat.say("刷卡机怎么激活")
    # The first button group the bot sends after the merchant's question (not the welcome shortcuts).
    group = page.locator(".pw-msg.pw-user ~ .pw-msg.pw-bot .pw-buttons").first
    button = group.get_by_role("button").first
    expect(button).to_be_enabled()
    title = button.inner_text().strip()
    assert title

    button.click()
    expect(chat.merchant_bubble(title)).to_be_visible()
    for b in group.get_by_role("button").all():
        expect(b).to_be_disabled()
    expect(chat.replies_to(title).first).to_have_text(CJK)


def test_welcome_shortcut_is_a_real_question(page, site):
    page.goto(site + "/")
    chat = ChatWidget(page)
    page.get_by_role("button", name="打印机不打单").click()
    expect(chat.merchant_bubble("打印机不打单")).to_be_visible()
    expect(chat.replies_to("打印机不打单").first).to_have_text(CJK)


def test_empty_input_cannot_be_sent(page, site):
    page.goto(site + "/")
    chat = ChatWidget(page)
    expect(chat.send_button).to_be_disabled()
    chat.input.fill("   \n  ")
    expect(chat.send_button).to_be_disabled()
    chat.input.press("Enter")
    # The next real message is the first bubble: the blank one was never sent.
    chat.say("你好")
    expect(chat.merchant_bubbles).to_have_count(1)
    expect(chat.input).to_have_value("")


def test_overlong_input_shows_the_limit_and_is_not_sent(page, site):
    page.goto(site + "/")
    chat = ChatWidget(page)
    chat.input.fill("刷" * (MAX_CHARS + 1))
    expect(chat.counter).to_have_text(f"{MAX_CHARS + 1}/{MAX_CHARS}")
    expect(chat.hint).to_contain_text(f"最多 {MAX_CHARS} 字")
    expect(chat.input).to_have_attribute("aria-invalid", "true")
    expect(chat.send_button).to_be_disabled()
    chat.input.press("Enter")

    chat.input.fill("刷" * MAX_CHARS)  # exactly the limit is fine
    expect(chat.counter).to_have_text(f"{MAX_CHARS}/{MAX_CHARS}")
    expect(chat.hint).to_have_text("")
    expect(chat.send_button).to_be_enabled()

    chat.say("你好")
    expect(chat.merchant_bubbles).to_have_count(1)


def test_merchant_text_is_shown_as_text_not_html(page, site):
    page.goto(site + "/")
    chat = ChatWidget(page)
    text = '<img src=x onerror="document.title=1">打印机不打单'
    chat.say(text)
    expect(chat.merchant_bubble(text)).to_have_text(text)
    expect(page.locator(".pw-log img")).to_have_count(0)


def test_phone_width_has_no_horizontal_scroll(open_page, site, tmp_path):
    page = open_page(PHONE)
    page.goto(site + "/")
    chat = ChatWidget(page)
    chat.say("刷卡机怎么激活")
    expect(page.locator(".pw-msg.pw-user ~ .pw-msg.pw-bot .pw-buttons").first).to_be_visible()

    sizes = page.evaluate(
        """() => {
            const host = document.querySelector('#posbot-chat');
            const log = host.shadowRoot.querySelector('.pw-log');
            const right = Math.max(...[...host.shadowRoot.querySelectorAll('.pw-bubble, .pw-btn, .pw-input, .pw-send')]
                .map(e => e.getBoundingClientRect().right));
            return {doc: document.documentElement.scrollWidth, win: window.innerWidth,
                    log: log.scrollWidth, logClient: log.clientWidth, right};
        }"""
    )
    assert sizes["win"] == 375
    assert sizes["doc"] <= sizes["win"], sizes
    assert sizes["log"] <= sizes["logClient"], sizes
    assert sizes["right"] <= sizes["win"], sizes
    page.screenshot(path=str(tmp_path / "chat-phone.png"))


HOST_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>商户后台</title>
<style>body{font-family:serif;color:rgb(255,0,0)} button{background:rgb(0,255,0)!important} div{border:3px dashed purple}</style>
</head><body><h1>某商户管理后台</h1><p>这是嵌入客服窗口的第三方页面。</p>
<script src="/static/widget.js"></script></body></html>"""


def test_embedded_widget_opens_as_a_floating_bubble(page, site):
    # A third-party page that includes widget.js (served on the app's origin so no CORS set-up is needed).
    page.route(site + "/__host-page", lambda route: route.fulfill(body=HOST_PAGE, content_type="text/html"))
    page.goto(site + "/__host-page")
    launcher = page.get_by_role("button", name="打开在线客服")
    chat = ChatWidget(page)
    expect(launcher).to_be_visible()
    expect(chat.input).to_be_hidden()
    # The host page's CSS does not reach into the widget, and the widget's does not leak out.
    assert launcher.evaluate("el => getComputedStyle(el).backgroundColor") != "rgb(0, 255, 0)"
    assert page.locator("h1").evaluate("el => getComputedStyle(el).color") == "rgb(255, 0, 0)"

    launcher.click()
    expect(chat.input).to_be_focused()
    expect(chat.say("你好").first).to_have_text(CJK)

    page.keyboard.press("Escape")
    expect(chat.input).to_be_hidden()
    expect(page.get_by_role("button", name="打开在线客服")).to_be_focused()


@pytest.mark.parametrize(
    "code, shown, retry",
    [
        ("session_message_cap", "这次对话的消息已经很多了，请稍后再来，或点「转人工」让客服直接帮您", False),
        ("rate_limited", "您发得有点快，请稍等几秒再试。", True),
    ],
)
def test_refusals_for_sending_too_much_are_explained(page, site, code, shown, retry):
    """The server's 429s (bot.api.ratelimit): the message cap says what to do instead, no retry button."""
    from bot.api.ratelimit import RATE_LIMITED_MESSAGE, SESSION_CAP_MESSAGE

    message = SESSION_CAP_MESSAGE if code == "session_message_cap" else RATE_LIMITED_MESSAGE
    body = json.dumps({"detail": message, "message": message, "code": code}, ensure_ascii=False)
    page.route(
        site + "/api/chat",
        lambda route: (
            route.fulfill(status=429, body=body, content_type="application/json", headers={"Retry-After": "60"})
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    page.goto(site + "/")
    chat = ChatWidget(page)
    chat.input.fill("还有一个问题")
    chat.input.press("Enter")
    alert = page.locator(".pw-msg.pw-error").last
    expect(alert.locator(".pw-bubble")).to_have_text(shown)
    expect(alert.locator(".pw-retry")).to_have_count(1 if retry else 0)


def test_database_outage_keeps_the_message_for_one_retry(page, site):
    """PostgreSQL down (bot.api.errors, 503 database_unavailable): nothing was stored, so the widget
    says so and offers to send it again; once the database is back, the retry gets the answer."""
    from bot.api.errors import DATABASE_UNAVAILABLE_MESSAGE

    body = json.dumps(
        {
            "detail": DATABASE_UNAVAILABLE_MESSAGE,
            "message": DATABASE_UNAVAILABLE_MESSAGE,
            "code": "database_unavailable",
        },
        ensure_ascii=False,
    )
    outage = {"on": True}
    page.route(
        site + "/api/chat",
        lambda route: (
            route.fulfill(status=503, body=body, content_type="application/json", headers={"Retry-After": "5"})
            if route.request.method == "POST" and outage["on"]
            else route.continue_()
        ),
    )
    page.goto(site + "/")
    chat = ChatWidget(page)
    chat.input.fill("你好")
    chat.input.press("Enter")
    alert = page.locator(".pw-msg.pw-error").last
    expect(alert.locator(".pw-bubble")).to_have_text("抱歉，系统暂时有点忙，刚才的内容没有保存，请稍后再发一次")
    outage["on"] = False  # the database is back
    alert.locator(".pw-retry").click()
    expect(chat.replies_to("你好").first).to_have_text(CJK)
    expect(chat.merchant_bubble("你好")).to_have_count(1)  # sent again, shown once

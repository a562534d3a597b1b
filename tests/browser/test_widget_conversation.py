"""The chat as merchants expect it (issue 10): replies open at their top, a 新消息 pill, quick
topics after a reload, ticket cards with a copy button, photos to the agent, ratings, agent
names, background-tab alerts, a second tab and a host page that signs the merchant's identity.

Real browser (Debian's Chromium), real app service, real Rasa, real database.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import time

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.conftest import LIVE_MERCHANT_SECRET

from .helpers import CJK, DESKTOP, PHONE, ChatWidget

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# Screens with little room for the log: a laptop with a short window, a phone with its keyboard up.
SHORT_DESKTOP = {"viewport": {"width": 1024, "height": 460}}
SHORT_PHONE = {**PHONE, "viewport": {"width": 375, "height": 520}}
SCREENS = {"desktop": SHORT_DESKTOP, "phone": SHORT_PHONE}

TOP_IN_LOG = """el => {
    const log = el.closest('.pw-log');
    const r = el.getBoundingClientRect(), l = log.getBoundingClientRect();
    return r.top >= l.top - 1 && r.top < l.bottom - 16;
}"""
REPLY_TALLER_THAN_LOG = """el => {
    const log = el.closest('.pw-log');
    const row = el.closest('.pw-msg');
    return log.scrollHeight - row.offsetTop > log.clientHeight;
}"""


def wait_true(page: Page, js: str, locator, timeout: float = 10_000) -> None:
    handle = locator.element_handle(timeout=timeout)
    page.wait_for_function(js, arg=handle, timeout=timeout)


def staff_client(site: str, staff_key: str) -> httpx.Client:
    return httpx.Client(base_url=site, headers={"X-API-Key": staff_key}, timeout=30)


@pytest.mark.parametrize("screen", SCREENS, ids=list(SCREENS))
def test_the_top_of_a_long_reply_is_visible(open_page, site, screen, tmp_path):
    page = open_page(SCREENS[screen])
    page.goto(site + "/")
    chat = ChatWidget(page)
    chat.say("你好")
    expect(chat.replies_to("你好").first).to_be_visible()

    first = chat.say("打印机不出纸").first
    expect(first).to_contain_text("1.")
    # The reply (steps, then 试完点下面告诉我结果 with its buttons) is taller than the log here ...
    expect(page.get_by_role("button", name="试了还是不行")).to_be_attached()
    assert first.evaluate(REPLY_TALLER_THAN_LOG), "the reply fits the log: this screen cannot test the scrolling"
    # ... so the log shows where it starts, not its last lines, and the pill leads on.
    wait_true(page, TOP_IN_LOG, first)
    expect(page.get_by_role("button", name="新消息 ↓")).to_be_visible()
    page.screenshot(path=str(tmp_path / f"long-reply-{screen}.png"))

    page.get_by_role("button", name="新消息 ↓").click()
    expect(page.get_by_role("button", name="试了还是不行")).to_be_in_viewport()
    expect(page.get_by_role("button", name="新消息 ↓")).to_be_hidden()


def test_a_staff_reply_while_scrolled_up_shows_the_pill(open_page, site, staff_key):
    page = open_page(SHORT_PHONE)
    page.goto(site + "/")
    chat = ChatWidget(page)
    chat.say("打印机不出纸")
    expect(page.get_by_role("button", name="试了还是不行")).to_be_attached()
    chat.say("转人工")
    expect(chat.banner).to_be_visible()
    conv = "web:" + chat.sender_id()

    log = page.locator(".pw-log")
    log.evaluate("el => { el.scrollTop = 0; }")  # the merchant scrolls back to re-read the steps
    with staff_client(site, staff_key) as staff:
        r = staff.post(
            f"/api/conversations/{conv}/messages",
            json={"text": "您好，我是客服小李，请问机器型号是？", "author": "小李"},
        )
        assert r.status_code == 201
    pill = page.get_by_role("button", name="新消息 ↓")
    expect(pill).to_be_visible()
    staff_bubble = chat.staff_bubbles().filter(has_text="机器型号")
    expect(staff_bubble).to_be_attached()
    expect(staff_bubble).not_to_be_in_viewport()  # the view did not jump away from what they read
    assert log.evaluate("el => el.scrollTop") < 10

    pill.click()
    expect(staff_bubble).to_be_in_viewport()
    expect(pill).to_be_hidden()
    expect(page.locator(".pw-msg.pw-staff .pw-from")).to_have_text("人工客服 · 小李")


def test_quick_topics_survive_a_reload(page, site):
    page.goto(site + "/")
    chat = ChatWidget(page)
    topics = page.get_by_role("group", name="常见问题")
    expect(topics.get_by_role("button", name="钱什么时候到账")).to_be_visible()
    chat.say("你好")
    page.reload()
    expect(chat.merchant_bubble("你好")).to_be_visible()
    topic = page.get_by_role("group", name="常见问题").get_by_role("button", name="钱什么时候到账")
    expect(topic).to_be_visible()
    topic.click()
    expect(chat.merchant_bubble("钱什么时候到账")).to_be_visible()
    expect(chat.replies_to("钱什么时候到账").first).to_have_text(CJK)


def test_messages_have_a_time_and_the_merchants_are_marked_delivered(page, site):
    page.goto(site + "/")
    chat = ChatWidget(page)
    chat.say("你好")
    mine = page.locator(".pw-msg.pw-user").last
    expect(mine.locator(".pw-state")).to_have_text("已送达")
    expect(mine.locator("time")).to_have_text(re.compile(r"^\d{2}:\d{2}$"))
    expect(page.locator(".pw-msg.pw-bot:not(.pw-typing) time").last).to_have_text(re.compile(r"^\d{2}:\d{2}$"))
    page.reload()
    expect(page.locator(".pw-msg.pw-user .pw-state").last).to_have_text("已送达")


def click(page: Page, name: str) -> None:
    button = page.locator(".pw-buttons").get_by_role("button", name=name, exact=True).last
    expect(button).to_be_enabled()
    button.click()


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_the_ticket_number_is_a_card_with_a_copy_button(open_page, site, screen, browser):
    page = open_page(DESKTOP if screen == "desktop" else PHONE)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page.goto(site + "/")
    chat = ChatWidget(page)
    chat.say("打印机不出纸")
    click(page, "试了还是不行")
    click(page, "登记工单")
    expect(page.locator(".pw-msg.pw-bot .pw-bubble").filter(has_text="15位商户号").last).to_be_visible()
    chat.say("898310048161234")
    expect(page.locator(".pw-msg.pw-bot .pw-bubble").filter(has_text="终端号").last).to_be_visible()
    chat.say("21450093")
    expect(page.locator(".pw-msg.pw-bot .pw-bubble").filter(has_text="手机号").last).to_be_visible()
    chat.say("13812345678")
    click(page, "确认提交")

    card = page.locator(".pw-ticket").last
    expect(card).to_be_visible()
    number = card.locator(".pw-ticket-no").inner_text()
    assert re.fullmatch(r"GD\d{8}-[0-9A-Za-z-]+", number), number
    wait_true(page, TOP_IN_LOG, page.locator(".pw-msg.pw-bot .pw-bubble").filter(has_text=number).last)
    # One line, on a phone too: neither the card nor the sentence breaks the number at the hyphen.
    assert card.locator(".pw-ticket-no").evaluate("el => el.getClientRects().length") == 1
    in_text = page.locator(".pw-bubble .pw-nowrap").filter(has_text=number).last
    assert in_text.evaluate("el => el.getClientRects().length") == 1

    card.get_by_role("button", name=f"复制工单号 {number}").click()
    expect(card.get_by_role("button", name=f"复制工单号 {number}")).to_have_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == number

    page.reload()  # the card is part of the transcript
    expect(page.locator(".pw-ticket .pw-ticket-no").filter(has_text=number)).to_be_visible()


def fault_photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1600, 1200), (180, 40, 40)).save(out, "JPEG", quality=90)
    return out.getvalue()


def test_a_photo_reaches_the_agent(open_page, site, staff_account, tmp_path):
    from .test_staff import log_in

    merchant = open_page(PHONE)
    merchant.goto(site + "/")
    chat = ChatWidget(merchant)
    attach = merchant.get_by_role("button", name="发送图片给客服")
    expect(attach).to_be_hidden()  # only a person can look at photos
    chat.say("转人工")
    expect(chat.banner).to_be_visible()
    expect(attach).to_be_visible()

    photo = tmp_path / "打印机故障.jpg"
    photo.write_bytes(fault_photo())
    with merchant.expect_file_chooser() as chooser:
        attach.click()
    chooser.value.set_files(str(photo))
    mine = merchant.locator(".pw-msg.pw-user").last
    expect(mine.locator("img.pw-photo")).to_be_visible()
    expect(mine.locator(".pw-state")).to_have_text("已送达")

    staff = open_page()
    log_in(staff, site, staff_account, "conversations/" + "web:" + chat.sender_id())
    img = staff.locator("#c-transcript img.photo")
    expect(img).to_be_visible()
    staff.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    assert img.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [1600, 1200]

    # After a reload the merchant still sees what they sent.
    merchant.reload()
    expect(merchant.locator(".pw-msg.pw-user img.pw-photo")).to_be_visible()


def test_a_file_that_is_not_a_photo_is_explained(open_page, site, tmp_path):
    page = open_page()
    page.goto(site + "/")
    chat = ChatWidget(page)
    chat.say("转人工")
    expect(chat.banner).to_be_visible()
    fake = tmp_path / "fault.jpg"
    fake.write_bytes(b"%PDF-1.7 this is not a photo\n" * 20)
    page.locator("input[type=file]").set_input_files(str(fake))
    expect(page.get_by_role("alert").filter(has_text="图片没有发出去")).to_contain_text("JPG")
    expect(page.locator(".pw-msg.pw-user .pw-state").last).to_have_text("未发送")


def test_a_staff_reply_in_a_background_tab_flashes_the_title(open_page, site, staff_key):
    page = open_page()
    # Headless Chromium never hides a tab by itself: let the test say when it is in the background.
    page.add_init_script(
        """(() => {
            let hidden = false;
            Object.defineProperty(document, 'hidden', { get: () => hidden });
            Object.defineProperty(document, 'visibilityState', { get: () => hidden ? 'hidden' : 'visible' });
            window.__setHidden = (h) => { hidden = h; document.dispatchEvent(new Event('visibilitychange')); };
        })()"""
    )
    page.goto(site + "/")
    chat = ChatWidget(page)
    chat.say("转人工")
    expect(chat.banner).to_be_visible()
    title = page.title()
    page.evaluate("window.__setHidden(true)")
    with staff_client(site, staff_key) as staff:
        staff.post(f"/api/conversations/web:{chat.sender_id()}/messages", json={"text": "您好，在吗？"})
    expect(chat.staff_bubbles().filter(has_text="您好，在吗？")).to_be_attached()  # polled while hidden
    expect(page).to_have_title(re.compile("客服回复了您"))
    page.evaluate("window.__setHidden(false)")
    expect(page).to_have_title(title)


def test_a_second_tab_sees_the_staff_reply_too(open_page, site, staff_key):
    first = open_page()
    first.goto(site + "/")
    chat = ChatWidget(first)
    chat.say("转人工")
    expect(chat.banner).to_be_visible()
    second = first.context.new_page()
    second.goto(site + "/")
    expect(ChatWidget(second).merchant_bubble("转人工")).to_be_visible()
    with staff_client(site, staff_key) as staff:
        staff.post(f"/api/conversations/web:{chat.sender_id()}/messages", json={"text": "两边都能看到吗？"})
    for p in (first, second):
        expect(ChatWidget(p).staff_bubbles().filter(has_text="两边都能看到吗？")).to_have_count(1)


def test_rating_after_staff_hand_back(open_page, site, staff_key):
    page = open_page()
    page.goto(site + "/")
    chat = ChatWidget(page)
    chat.say("转人工")
    expect(chat.banner).to_be_visible()
    with staff_client(site, staff_key) as staff:
        assert staff.post(f"/api/conversations/web:{chat.sender_id()}/handback", json={}).status_code == 200
        rating = page.get_by_role("group", name="服务评价")
        expect(rating).to_be_visible()
        expect(chat.banner).to_be_hidden()
        rating.get_by_role("button", name="5 分 非常满意").click()
        expect(rating).to_contain_text("感谢您的评价：5 分")
        summary = staff.get("/api/feedback/summary").json()
    assert summary["ratings"]["5"] >= 1
    page.reload()
    expect(page.get_by_role("group", name="服务评价")).to_contain_text("感谢您的评价：5 分")


def signed_script_tag(expires: int) -> str:
    mid = "898310048161234"
    sig = hmac.new(LIVE_MERCHANT_SECRET.encode(), f"{mid}.{expires}".encode(), hashlib.sha256).hexdigest()
    return (
        f'<script src="/static/widget.js" data-open="true" data-merchant-id="{mid}" '
        f'data-merchant-expires="{expires}" data-merchant-signature="{sig}"></script>'
    )


@pytest.mark.parametrize("fresh", [True, False], ids=["valid", "expired"])
def test_a_host_page_passes_the_signed_merchant_identity(page, site, live_stack, fresh):
    expires = int(time.time()) + (600 if fresh else -60)
    host = f"<!doctype html><html><head><meta charset='utf-8'><title>商户后台</title></head><body>{signed_script_tag(expires)}</body></html>"
    page.route(site + "/__portal", lambda route: route.fulfill(body=host, content_type="text/html"))
    page.goto(site + "/__portal")
    page.evaluate(
        "window.__rejected = []; addEventListener('posbot:merchant-identity-rejected', e => __rejected.push(e.detail.code))"
    )
    chat = ChatWidget(page)
    expect(chat.say("你好").first).to_have_text(CJK)  # an expired identity never costs the message
    tracker = httpx.get(
        f"{live_stack.rasa_url}/conversations/web:{chat.sender_id()}/tracker",
        params={"token": live_stack.settings.rasa_token.get_secret_value()},
        timeout=10,
    ).json()
    user = [e for e in tracker["events"] if e["event"] == "user"]
    assert len(user) == 1  # sent once
    metadata = user[-1].get("metadata") or {}
    if fresh:
        assert metadata.get("verified_merchant_id") == "898310048161234"
        assert page.evaluate("window.__rejected") == []
    else:
        assert "verified_merchant_id" not in metadata
        assert page.evaluate("window.__rejected") == ["merchant_identity_expired"]


def test_a_broken_session_token_does_not_lose_the_message(page, site):
    page.goto(site + "/")
    chat = ChatWidget(page)
    chat.say("你好")
    page.evaluate(
        "Object.keys(localStorage).filter(k => k.endsWith(':token')).forEach(k => localStorage.setItem(k, 'garbage'))"
    )
    page.reload()
    expect(chat.say("钱什么时候到账").first).to_have_text(CJK)
    expect(page.locator(".pw-msg.pw-user .pw-state").last).to_have_text("已送达")

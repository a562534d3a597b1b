"""What the browser tests share: screens and a small page object of the chat widget.

Locators describe what a merchant sees (roles, labels, bubbles); Playwright's CSS
engine pierces the widget's open shadow root, so no special handling is needed.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Locator, Page, expect

CJK = re.compile(r"[\u4e00-\u9fff]")

DESKTOP = {"viewport": {"width": 1280, "height": 860}}
PHONE = {
    "viewport": {"width": 375, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def new_sender() -> str:
    return "b" + uuid.uuid4().hex[:16]


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ChatWidget:
    """The chat as the merchant sees it, in full-page or (opened) floating mode."""

    def __init__(self, page: Page):
        self.page = page
        self.input = page.get_by_role("textbox", name="输入您的问题")
        self.send_button = page.get_by_role("button", name="发送", exact=True)
        self.counter = page.locator(".pw-counter")
        self.hint = page.locator(".pw-hint")
        self.banner = page.locator(".pw-banner")  # the server's handoff notice, not widget wording

    @property
    def merchant_bubbles(self) -> Locator:
        return self.page.locator(".pw-msg.pw-user .pw-bubble")

    def merchant_bubble(self, text: str) -> Locator:
        return self.merchant_bubbles.filter(has_text=re.compile("^" + re.escape(text) + "$"))

    def replies_to(self, text: str) -> Locator:
        """Bot bubbles shown after the merchant's bubble that says exactly ``text``."""
        return self.page.locator(
            f".pw-msg.pw-user:has(.pw-bubble:text-is({_css_string(text)})) ~ .pw-msg.pw-bot:not(.pw-typing) .pw-bubble"
        )

    def staff_bubbles(self) -> Locator:
        return self.page.locator(".pw-msg.pw-staff .pw-bubble")

    def say(self, text: str) -> Locator:
        """Type ``text``, press Enter, wait for it to show as the merchant's bubble; returns the bot's replies.

        Like a merchant, it waits for the send button to light up first: while the
        assistant is still answering the previous message the widget keeps the text
        in the box and does not send it.
        """
        self.input.fill(text)
        expect(self.send_button).to_be_enabled()
        self.input.press("Enter")
        expect(self.merchant_bubble(text)).to_be_visible()
        return self.replies_to(text)

    def sender_id(self) -> str:
        return self.page.evaluate("window.PosbotWidget.senderId")

    def last_reply(self) -> Locator:
        """The bot's latest reply bubble (e.g. the handoff reply)."""
        return self.page.locator(".pw-msg.pw-bot:not(.pw-typing) .pw-bubble").last

"""What of the merchant's input Rasa may take as more than words: offered buttons only.

The checks live in the chat core (bot.chat.service), so the web API and WeChat both get them; the
web API tests go through HTTP, the WeChat-side ones call the core as the channel does.
"""

from __future__ import annotations

import pytest

from bot.chat.service import ChatInputError, ChatService, as_plain_text
from bot.rasa.client import BotMessage

PRINTER_ANSWER = [
    BotMessage(text="按下面几步检查：\n1. 打开纸仓……"),
    BotMessage(
        text="问题解决了吗？",
        buttons=[{"title": "解决了", "payload": "/affirm"}, {"title": "没解决", "payload": "/deny"}],
    ),
]
SUGGESTIONS = [
    BotMessage(
        text="您想问的是哪一个？",
        buttons=[
            {"title": "刷卡提示读卡失败怎么办？", "payload": '/choose_faq{"faq_id":"fault-card-read"}'},
            {"title": "打印机不出纸", "payload": '/choose_faq{"faq_id":"fault-printer-out-of-paper"}'},
        ],
    )
]


@pytest.fixture(autouse=True)
def script(rasa):
    rasa.replies["打印机不出纸"] = PRINTER_ANSWER
    rasa.replies["刷卡有问题"] = SUGGESTIONS


def said(services, conv) -> list[str]:
    return [m.text for m in services.conversations.transcript(conv) if m.direction == "in"]


def test_a_clicked_button_reaches_rasa_with_its_title_in_the_transcript(browser, rasa, services):
    m = browser()
    m.say("打印机不出纸")
    r = m.say("/deny", title="没解决")
    assert r.status_code == 200
    assert rasa.texts_for(m.conv)[-1] == "/deny"
    assert said(services, m.conv) == ["打印机不出纸", "没解决"]


@pytest.mark.parametrize(
    "text, title",
    [
        ("你好", "我要投诉你们，退钱！！！"),  # a title the bot never offered
        ("/deny", "解决了"),  # a real payload with another button's title
        ("/affirm", "没解决"),
        ("/request_human", "转人工客服"),  # a payload never offered here
    ],
)
def test_a_forged_title_is_refused_and_never_stored(browser, rasa, services, text, title):
    m = browser()
    m.say("打印机不出纸")
    before = len(rasa.received)
    r = m.say(text, title=title)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "title"]
    assert "按钮" in r.json()["message"]
    assert len(rasa.received) == before
    assert said(services, m.conv) == ["打印机不出纸"]


def test_an_overlong_title_is_refused(browser, services):
    m = browser()
    r = m.say("你好", title="退" * 201)
    assert r.status_code == 422
    assert said(services, m.conv) == []


def test_ten_megabytes_of_title_are_refused_at_the_door(browser, services, rasa):
    m = browser()
    r = m.say("你好", title="x" * (10 * 1024 * 1024))
    assert r.status_code == 413
    assert r.json()["code"] == "too_large" and " / " in r.json()["message"]
    assert said(services, m.conv) == [] and rasa.received == []


def test_a_huge_body_without_content_length_is_refused_too(browser, client, services):
    import json

    m = browser()
    body = json.dumps({"sender_id": m.sender_id, "text": "你好", "title": "x" * 200_000}).encode()

    def chunks():
        for i in range(0, len(body), 8192):
            yield body[i : i + 8192]

    r = client.post("/api/chat", content=chunks(), headers={**m.auth, "content-type": "application/json"})
    assert r.status_code == 413
    assert said(services, m.conv) == []


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("/request_human", "request_human"),
        ('/inform{"merchant_id":"898310048161234"}', 'inform{"merchant_id":"898310048161234"}'),
        ("  / /affirm", "affirm"),
        ("/", "／"),
    ],
)
def test_intent_syntax_typed_by_hand_reaches_rasa_as_plain_words(browser, rasa, services, typed, expected):
    m = browser()
    r = m.say(typed)
    assert r.status_code == 200
    sent = rasa.texts_for(m.conv)[-1]
    assert sent == expected and not sent.startswith("/")
    assert said(services, m.conv) == [typed.strip()]  # the transcript keeps what the merchant typed


def test_a_button_payload_typed_in_another_conversation_is_plain_text(browser, rasa):
    a, b = browser(), browser()
    a.say("打印机不出纸")  # /deny offered to a only
    b.say("/deny")
    assert rasa.texts_for(b.conv)[-1] == "deny"
    a.say("/deny")
    assert rasa.texts_for(a.conv)[-1] == "/deny"


def test_an_old_button_stays_valid_after_later_turns_and_a_reload(browser, rasa, client):
    m = browser()
    m.say("刷卡有问题")  # suggestions
    m.say("打印机不出纸")  # a later turn with other buttons
    m.say("还有别的问题")
    # The merchant scrolls up (or reloads) and clicks the first suggestion: Rasa gets the payload.
    payload = SUGGESTIONS[0].buttons[0]["payload"]
    r = m.say(payload, title="刷卡提示读卡失败怎么办？")
    assert r.status_code == 200
    assert rasa.texts_for(m.conv)[-1] == payload
    # Typed by hand (no title), an offered payload is the same click.
    m.say("/affirm")
    assert rasa.texts_for(m.conv)[-1] == "/affirm"


def test_buttons_are_remembered_once_however_often_they_are_offered(browser, services, db):
    import sqlalchemy as sa

    m = browser()
    for _ in range(3):
        m.say("打印机不出纸")
    with db.engine.connect() as c:
        n = c.execute(
            sa.text("SELECT count(*) FROM conversation_buttons WHERE conversation_id = :c"), {"c": m.conv}
        ).scalar_one()
    assert n == 2


def test_as_plain_text():
    assert as_plain_text("/request_human") == "request_human"
    assert as_plain_text("\u3000/转人工") == "转人工"
    assert as_plain_text("//") == "／"


# --- the same rules for WeChat, which calls the chat core directly ------------------------------


async def test_wechat_gets_the_same_checks(services, rasa):
    chat = ChatService(services, rasa)
    rasa.replies["打印机不出纸"] = PRINTER_ANSWER
    await chat.handle("wechat", "oFans123", "打印机不出纸")
    # A numbered reply the channel mapped to an offered payload and title:
    await chat.handle("wechat", "oFans123", "/deny", display_text="没解决")
    assert rasa.texts_for("wechat:oFans123")[-1] == "/deny"
    # /request_human typed into WeChat:
    await chat.handle("wechat", "oFans123", "/request_human")
    assert rasa.texts_for("wechat:oFans123")[-1] == "request_human"
    # An intent the bot never offered in this WeChat conversation, with whatever display text:
    await chat.handle("wechat", "oFans123", '/inform{"merchant_id":"898310048161234"}', display_text="(语音) 随便")
    assert rasa.texts_for("wechat:oFans123")[-1] == 'inform{"merchant_id":"898310048161234"}'
    with pytest.raises(ChatInputError):
        await chat.check_click("wechat", "oFans123", "/affirm", "随便写的")


async def test_the_channels_own_payloads_are_trusted(services, rasa):
    chat = ChatService(services, rasa)
    await chat.handle("wechat", "oFans456", "/greet", display_text="(关注公众号)", trusted=True)
    assert rasa.texts_for("wechat:oFans456") == ["/greet"]

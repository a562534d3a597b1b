"""Personal data is masked at the door: what the merchant types reaches the transcript, Rasa,
the feedback and the tickets with phones, bank-card and ID numbers masked.

The numbers are made up: the card number passes Luhn, the ID number has a correct ISO 7064
check character, the phone is a mainland mobile number.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text as sql

from bot.masking import (
    CARD,
    PHONE,
    RESIDENT_ID,
    find_pii,
    install_log_masking,
    is_card_number,
    is_resident_id,
    luhn_valid,
    mask_pii,
)

CARD_NUMBER = "6222021234567890128"  # 19 digits, Luhn-valid (UnionPay-style)
CARD_SPACED = "6222 0212 3456 7890 128"
ID_NUMBER = "11010519491231002X"  # the check character is X
PHONE_NUMBER = "13812345678"
MERCHANT = "898310048161234"
TERMINAL = "12345678"


def test_checksums():
    assert luhn_valid(CARD_NUMBER) and not luhn_valid("6222021234567890123")
    assert is_resident_id(ID_NUMBER) and is_resident_id(ID_NUMBER.lower())
    assert not is_resident_id("110105194912310021")  # wrong check character
    assert is_card_number("4111111111111111")
    # 15 digits are a merchant id here, even when they happen to pass Luhn; Amex (34/37) is a card.
    assert luhn_valid(MERCHANT) and not is_card_number(MERCHANT)  # the test merchant id passes Luhn
    assert is_card_number("378282246310005")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"卡号{CARD_NUMBER}", "卡号6222***********0128"),
        (f"卡号 {CARD_SPACED} 扣款了", "卡号 6222***********0128 扣款了"),
        ("卡号6222-0212-3456-7890-128", "卡号6222***********0128"),
        (f"身份证{ID_NUMBER}", "身份证110***********002X"),
        (f"身份证 {ID_NUMBER.lower()}", "身份证 110***********002X"),
        (f"手机{PHONE_NUMBER}", "手机138****5678"),
        ("电话 138 1234 5678", "电话 138****5678"),
        ("+86 138-1234-5678", "+86 138****5678"),
        ("１３８１２３４５６７８", "138****5678"),  # full-width digits
        (f"终端号{TERMINAL} 手机{PHONE_NUMBER}", f"终端号{TERMINAL} 手机138****5678"),
        (f"{TERMINAL} {PHONE_NUMBER}", f"{TERMINAL} 138****5678"),  # side by side, not one card number
    ],
)
def test_personal_data_is_masked(text, masked):
    assert mask_pii(text) == masked
    assert mask_pii(masked) == masked  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        f"商户号{MERCHANT}",  # merchant and terminal ids are not personal data
        f"终端号{TERMINAL}",
        f"{MERCHANT} {TERMINAL}",
        "N910SN00123456",  # a serial number's digits
        "GD20261125-K7M3Q9",
        "GD20261125-0001",
        "6222021234567890123",  # fails Luhn
        "110105194912310021",  # fails the ID check
        "12345678901",  # not a mobile number
        "金额1280.50元，2026-11-20",
    ],
)
def test_what_is_not_personal_data_stays(text):
    assert mask_pii(text) == text


def test_find_reports_kind_and_normalised_value():
    found = find_pii(f"手机 138-1234-5678，卡 {CARD_SPACED}，身份证 {ID_NUMBER.lower()}")
    assert [(f.kind, f.value) for f in found] == [
        (PHONE, PHONE_NUMBER),
        (CARD, CARD_NUMBER),
        (RESIDENT_ID, ID_NUMBER),
    ]


def test_log_records_are_masked(caplog):
    install_log_masking()
    with caplog.at_level(logging.INFO, logger="posbot.test"):
        logging.getLogger("posbot.test").info("merchant wrote %s and %s", PHONE_NUMBER, CARD_NUMBER)
    assert caplog.records[-1].getMessage() == "merchant wrote 138****5678 and 6222***********0128"
    assert caplog.records[-1].args == ("138****5678", "6222***********0128")  # formatters reading args still work
    with caplog.at_level(logging.INFO, logger="posbot.test"):
        logging.getLogger("posbot.test").info("payload %r", {"text": f"身份证{ID_NUMBER}"})
    assert ID_NUMBER not in caplog.records[-1].getMessage()
    assert "110***********002X" in caplog.records[-1].getMessage()


# --- at the door: the web chat through ChatService ------------------------------------------------


def _all_text(db) -> str:
    """Every value of every table of the database, as one string."""
    import sqlalchemy as sa

    out = []
    with db.engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sql(f'SELECT * FROM "{table}"')):
                out.extend(str(v) for v in row)
    return "\n".join(out)


def test_the_chat_masks_before_storing_and_before_rasa(browser, rasa, services, db):
    b = browser()
    r = b.say(f"我的卡{CARD_SPACED}被扣了两次，身份证{ID_NUMBER}，电话{PHONE_NUMBER}")
    assert r.status_code == 200, r.text
    sent = rasa.texts_for(b.conv)[-1]
    assert sent == "我的卡6222***********0128被扣了两次，身份证110***********002X，电话138****5678"
    lines = [m.text for m in services.conversations.transcript(b.conv)]
    assert lines[0] == sent
    stored = _all_text(db)
    for clear in (CARD_NUMBER, "6222 0212", ID_NUMBER, PHONE_NUMBER):
        assert clear not in stored
    # The phone is kept for the ticket form, encrypted: only this conversation resolves it.
    from bot.conversations.vault import PhoneVault

    vault = PhoneVault.from_settings(db, services.settings)
    assert vault.resolve(b.conv, "138****5678") == PHONE_NUMBER
    assert vault.resolve("web:someone-else", "138****5678") is None
    assert vault.reveal(b.conv, "手机138****5678") == f"手机{PHONE_NUMBER}"


def test_a_button_title_shown_in_the_transcript_is_masked_too(browser, rasa, services):
    from bot.rasa.client import BotMessage

    b = browser()
    rasa.replies["hi"] = [BotMessage(text="选一个", buttons=[{"title": f"卡 {CARD_NUMBER}", "payload": "/affirm"}])]
    b.say("hi")
    b.say("/affirm", title=f"卡 {CARD_NUMBER}")
    assert CARD_NUMBER not in " ".join(m.text for m in services.conversations.transcript(b.conv))


def test_feedback_reasons_staff_replies_and_ticket_text_are_stored_masked(services):
    from bot.tickets.schemas import TicketCreate

    conv = "web:someone"
    fb = services.conversations.record_faq_feedback(conv, "faq-1", "down", f"我卡号是{CARD_NUMBER}还是不行")
    assert fb.reason == "我卡号是6222***********0128还是不行"
    m = services.conversations.staff_reply(conv, f"已收到您的身份证 {ID_NUMBER}")
    assert ID_NUMBER not in m.text
    t = services.tickets.create(
        TicketCreate(
            category="repair",
            merchant_id=MERCHANT,
            terminal_id=TERMINAL,
            contact_phone=PHONE_NUMBER,
            description=f"刷卡{CARD_NUMBER}失败，另一个电话13900001111",
            transcript=[{"role": "user", "text": f"身份证{ID_NUMBER}"}],
        )
    )
    assert t.contact_phone == PHONE_NUMBER  # the validated contact field stays in clear
    assert t.description == "刷卡6222***********0128失败，另一个电话139****1111"
    assert t.transcript[0]["text"] == "身份证110***********002X"
    note = services.tickets.add_comment(t.number, "客服小王", f"联系了 {PHONE_NUMBER}")
    assert PHONE_NUMBER not in str(note.data)

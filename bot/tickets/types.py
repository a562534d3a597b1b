"""Constrained string types of the ticket inputs, each with a bilingual error naming its field.

Free text is stored with phones, card and ID numbers masked (``MASKED``, bot/masking.py): the
contact phone has its own validated field, nothing else on a ticket needs them in clear.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from bot.masking import mask_pii
from bot.validation import bounded, matching
from bot.vocabulary import (
    DEVICE_SERIAL_PATTERN,
    MERCHANT_ID_DIGITS,
    MERCHANT_ID_PATTERN,
    MOBILE_PATTERN,
    PHONE_DIGITS,
    TERMINAL_ID_DIGITS,
    TERMINAL_ID_PATTERN,
    TICKET_DESCRIPTION_MAX,
)

DESCRIPTION_MAX = TICKET_DESCRIPTION_MAX
NOTE_MAX = 2000
COMMENT_MAX = 2000
IDEMPOTENCY_KEY_MAX = 128

MerchantId = Annotated[
    str,
    matching(
        "merchant_id",
        MERCHANT_ID_PATTERN,
        f"必须是{MERCHANT_ID_DIGITS}位数字",
        f"must be exactly {MERCHANT_ID_DIGITS} digits",
    ),
]
TerminalId = Annotated[
    str,
    matching(
        "terminal_id",
        TERMINAL_ID_PATTERN,
        f"必须是{TERMINAL_ID_DIGITS}位数字",
        f"must be exactly {TERMINAL_ID_DIGITS} digits",
    ),
]
DeviceSerial = Annotated[
    str,
    matching(
        "device_serial",
        DEVICE_SERIAL_PATTERN,
        "必须是4到64位字母、数字或连字符",
        "must be 4 to 64 letters, digits or hyphens",
    ),
]
MobilePhone = Annotated[
    str,
    matching(
        "contact_phone",
        MOBILE_PATTERN,
        f"必须是{PHONE_DIGITS}位中国大陆手机号",
        f"must be an {PHONE_DIGITS}-digit mainland China mobile number (^{MOBILE_PATTERN}$)",
    ),
]
MASKED = AfterValidator(mask_pii)
Description = Annotated[str, bounded("description", DESCRIPTION_MAX), MASKED]
SenderId = Annotated[str, bounded("sender_id", 128)]
Assignee = Annotated[str, bounded("assignee", 64)]
Note = Annotated[str, bounded("note", NOTE_MAX), MASKED]
Author = Annotated[str, bounded("author", 64)]
CommentBody = Annotated[str, bounded("body", COMMENT_MAX), MASKED]

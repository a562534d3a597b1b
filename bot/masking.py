"""Masking of personal data: merchant identifiers shown to others, and what the merchant types.

One place, so chat replies, staff overviews, stored text and logs mask the same way.

``find_pii`` finds what counts as personal data in free text, ``mask_pii`` replaces it:

* mobile numbers (11 digits, 1[3-9]…, optionally +86): ``138****5678``;
* bank-card numbers (13-19 digits passing the Luhn check): ``6222*********0123``.
  A 15-digit number is a card only with an American Express prefix (34/37): the
  merchant ids this assistant asks for are 15 digits too, and 1 in 10 of them passes Luhn;
* resident ID numbers (17 digits and a digit or X, ISO 7064 MOD 11-2 check): ``110**********1234``.

People type numbers in groups ("6222 0212 3456 7890 123", "138-1234-5678") and with
full-width digits; both are found. Numbers inside a serial or ticket number (letters
around them) are not. Merchant ids (15 digits) and terminal ids (8) are not personal data
and stay. Masking is idempotent: a masked text has nothing left to find.

Runs in both environments (the app's Python 3.11 and Rasa's 3.10, for the log filter of
``bot.rasa.serve``): standard library only.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from bot.vocabulary import MOBILE_PATTERN

PHONE = "phone"
CARD = "card"
RESIDENT_ID = "resident_id"

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")
# A group of digits as people type it: separated by single spaces, dashes or underscores
# (one or two of them), maybe ending in X (an ID number). Not inside a letter+digit token.
_GROUP = re.compile(r"(?<![0-9A-Za-z])\d(?:[ \t\u3000_-]{0,2}\d)*(?:[ \t\u3000_-]{0,2}[Xx])?(?![0-9A-Za-z])")
_SEP = re.compile(r"[ \t\u3000_-]+")
_PHONE = re.compile(MOBILE_PATTERN)
# What mask_phone produces: the form of a phone that reaches Rasa and the stores.
MASKED_PHONE_RE = re.compile(r"(?<![0-9A-Za-z*])1[3-9]\d\*{4}\d{4}(?![0-9A-Za-z*])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def mask_phone(phone: str | None) -> str:
    """138****5678; anything that is not an 11-digit number is returned as is (nothing to hide)."""
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) == 11 else (phone or "")


def mask_id(value: str | None) -> str:
    """8983****1234 for merchant ids and other long numbers; short values stay as they are."""
    value = value or ""
    return f"{value[:4]}****{value[-4:]}" if len(value) > 8 else value


def mask_card(number: str) -> str:
    """6222*********0123: the issuer's first four digits and the last four, as receipts print them."""
    return f"{number[:4]}{'*' * (len(number) - 8)}{number[-4:]}"


def mask_resident_id(number: str) -> str:
    """110***********1234: neither the birth date nor the full region code stays."""
    return f"{number[:3]}{'*' * 11}{number[-4:]}"


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def is_card_number(digits: str) -> bool:
    if not (13 <= len(digits) <= 19 and luhn_valid(digits)):
        return False
    return len(digits) != 15 or digits[:2] in ("34", "37")  # 15 digits: a merchant id unless Amex


def is_resident_id(value: str) -> bool:
    """18 characters, the last a digit or X, with the ISO 7064 MOD 11-2 check character."""
    v = value.upper()
    if len(v) != 18 or not v[:17].isdigit() or not (v[17].isdigit() or v[17] == "X"):
        return False
    return _ID_CHECK[sum(int(c) * w for c, w in zip(v[:17], _ID_WEIGHTS)) % 11] == v[17]


def is_phone(digits: str) -> bool:
    return bool(_PHONE.fullmatch(digits))


@dataclass(frozen=True)
class Found:
    kind: str  # phone | card | resident_id
    start: int
    end: int
    value: str  # normalised: ASCII digits (and X) without separators; a phone without +86

    @property
    def masked(self) -> str:
        if self.kind == PHONE:
            return mask_phone(self.value)
        if self.kind == CARD:
            return mask_card(self.value)
        return mask_resident_id(self.value)


def _classify(joined: str) -> str | None:
    if is_phone(joined):
        return PHONE
    if len(joined) == 13 and joined.startswith("86") and is_phone(joined[2:]):
        return PHONE
    if is_resident_id(joined):
        return RESIDENT_ID
    if joined.isdigit() and is_card_number(joined):
        return CARD
    return None


def _found(kind: str, start: int, end: int, joined: str, plain: str) -> Found:
    value = joined.upper() if kind == RESIDENT_ID else joined
    if kind == PHONE and len(value) == 13:
        # "+86 138 1234 5678": the country code stays visible, the number is what is masked.
        value = value[2:]
        digits = 0
        while digits < 3:
            digits += plain[start].isdigit()
            start += 1
        start -= 1
    return Found(kind, start, end, value)


def find_pii(text: str | None) -> list[Found]:
    """Phones, card numbers and resident ID numbers in ``text``, in order of appearance."""
    if not text:
        return []
    plain = text.translate(_FULLWIDTH_DIGITS)  # one character for one: offsets stay valid
    out: list[Found] = []
    for m in _GROUP.finditer(plain):
        group = m.group(0)
        joined = _SEP.sub("", group)
        kind = _classify(joined)
        segments = [(s.start(), s.group(0)) for s in re.finditer(r"[0-9Xx]+", group)]
        # Grouped the way cards are written (4-4-4-4-3, 4-6-5): a card. A long segment in the
        # group means separate numbers typed side by side ("12345678 13812345678").
        if kind == CARD and len(segments) > 1 and max(len(s) for _, s in segments) > 6:
            kind = None
        if kind is not None:
            out.append(_found(kind, m.start(), m.end(), joined, plain))
            continue
        if len(segments) > 1:
            for offset, seg in segments:
                seg_kind = _classify(seg)
                if seg_kind is not None:
                    start = m.start() + offset
                    out.append(_found(seg_kind, start, start + len(seg), seg, plain))
    return out


def mask_pii(text: str | None) -> str:
    """``text`` with every phone, card number and resident ID number masked."""
    if not text:
        return text or ""
    found = find_pii(text)
    if not found:
        return text
    parts, last = [], 0
    for f in found:
        parts.append(text[last : f.start])
        parts.append(f.masked)
        last = f.end
    parts.append(text[last:])
    return "".join(parts)


def mask_pii_deep(value):
    """``mask_pii`` applied to every string inside lists and dicts (transcripts, JSON payloads)."""
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, list):
        return [mask_pii_deep(v) for v in value]
    if isinstance(value, dict):
        return {k: mask_pii_deep(v) for k, v in value.items()}
    return value


# --- logs ----------------------------------------------------------------------------------

_installed = False


def install_log_masking() -> None:
    """Mask personal data in every log record this process creates (idempotent).

    A record factory rather than a handler filter: it covers handlers added later
    (uvicorn's, Rasa's) and records of every logger alike.
    """
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return record
        if mask_pii(message) == message:
            return record
        # Mask the arguments one by one first: formatters that read record.args (uvicorn's
        # access log) keep working. Anything still found (an object's repr) masks the whole line.
        if isinstance(record.msg, str):
            record.msg = mask_pii(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask_pii(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: mask_pii(v) if isinstance(v, str) else v for k, v in record.args.items()}
        try:
            still = record.getMessage()
        except Exception:
            still = message
        if mask_pii(still) != still:
            record.msg, record.args = mask_pii(still), None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True

"""Parsing and checking what merchants type into the ticket form.

Pure functions, no Rasa: each returns ``(value, problem)`` where exactly one is set.
``problem`` is a short Chinese sentence naming what is wrong, shown before the re-ask.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from bot.vocabulary import (
    AMOUNT_MAX,
    CHAT_DESCRIPTION_MAX,
    CHAT_DESCRIPTION_MIN,
    DEVICE_SERIAL_PATTERN,
    MERCHANT_ID_DIGITS,
    MOBILE_PATTERN,
    PHONE_DIGITS,
    TERMINAL_ID_DIGITS,
)

_FULLWIDTH = str.maketrans("０１２３４５６７８９．，－：", "0123456789.,-:")
# Standalone digit runs: the digits inside a serial such as N910SN00123456 are not an id.
_DIGIT_RUN = re.compile(r"(?<![A-Za-z0-9])\d+(?![A-Za-z0-9])")
_SERIAL = re.compile(DEVICE_SERIAL_PATTERN)
_MOBILE = re.compile(MOBILE_PATTERN)
_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}


def normalize(text: str) -> str:
    return (text or "").translate(_FULLWIDTH).strip()


def _digits_joined(text: str) -> str:
    """Digits with the separators people type inside numbers removed ("8983 1004-8161")."""
    return re.sub(r"(?<=\d)[\s\-_]+(?=\d)", "", normalize(text))


def _digit_runs(text: str) -> list[str]:
    return _DIGIT_RUN.findall(_digits_joined(text))


def _id(text: str, length: int, label: str) -> tuple[str | None, str | None]:
    runs = _digit_runs(text)
    exact = [r for r in runs if len(r) == length]
    if len(exact) == 1:
        return exact[0], None
    if not runs:
        return None, f"没有看到数字哦，{label}是{length}位数字"
    longest = max(runs, key=len)
    return None, f"{label}是{length}位数字，您发的是{len(longest)}位"


def parse_merchant_id(text: str) -> tuple[str | None, str | None]:
    return _id(text, MERCHANT_ID_DIGITS, "商户号")


def parse_terminal_id(text: str) -> tuple[str | None, str | None]:
    return _id(text, TERMINAL_ID_DIGITS, "终端号")


def parse_device_serial(text: str) -> str | None:
    """A serial number such as N910SN00123456: letters and digits, 4-64 characters, not only digits."""
    t = normalize(text)
    t = re.sub(r"(?i)^\s*(sn|s/n|序列号|机身号|设备号)\s*(号|码)?\s*(是|为)?\s*[:：]?\s*", "", t)
    for token in re.findall(r"[A-Za-z0-9-]+", t):
        if _SERIAL.fullmatch(token) and re.search(r"[A-Za-z]", token) and re.search(r"\d", token):
            if token.upper() in ("SN", "S-N"):
                continue
            return token.upper()
    return None


def parse_phone(text: str) -> tuple[str | None, str | None]:
    t = re.sub(r"^\s*(\+?86)[\s-]*(?=1\d)", "", _digits_joined(text))
    runs = _DIGIT_RUN.findall(t)
    eleven = [r for r in runs if len(r) == PHONE_DIGITS]
    for r in eleven:
        if _MOBILE.fullmatch(r):
            return r, None
    if eleven:
        return None, "手机号应该是1开头、第二位是3到9的11位号码"
    if not runs:
        return None, "没有看到号码哦，手机号是11位数字"
    return None, f"手机号是11位数字，您发的是{len(max(runs, key=len))}位"


def _cn_number(text: str) -> Decimal | None:
    """Chinese numerals as people write amounts: 两万, 一千二百三十, 四千八, 三十五, 1.5万."""
    t = text.strip()
    if not t:
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([万千])", t)
    if m:
        return Decimal(m.group(1)) * (10000 if m.group(2) == "万" else 1000)
    if not all(c in _CN_DIGITS or c in _CN_UNITS or c == "万" for c in t):
        return None
    total, section, digit, last_unit = 0, 0, None, 1
    for c in t:
        if c in _CN_DIGITS:
            digit = _CN_DIGITS[c]
        elif c in _CN_UNITS:
            unit = _CN_UNITS[c]
            section += (1 if digit is None else digit) * unit
            digit, last_unit = None, unit
        else:  # 万
            section += digit or 0
            total += section * 10000
            section, digit, last_unit = 0, None, 10000
    if digit is not None:
        # "四千八" means 4800: a trailing digit counts in the unit below the last one.
        section += digit * (last_unit // 10 if last_unit >= 100 else 1)
    return Decimal(total + section)


def parse_amount(text: str) -> tuple[str | None, str | None]:
    """Amount in yuan as a string with two decimals ("1280.50")."""
    t = normalize(text).replace(",", "").replace("，", "")
    t = re.sub(r"(人民币|rmb|RMB|￥|¥|大约|大概|左右|差不多|一共|总共|金额|是|为|:|：)", "", t)
    t = re.sub(r"(块钱|块|元整|元)", "", t).strip()
    value: Decimal | None = None
    m = re.search(r"-?\d+(?:\.\d+)?\s*[万千]?", t)
    if m:
        raw = m.group(0).replace(" ", "")
        try:
            value = _cn_number(raw) if raw[-1] in "万千" else Decimal(raw)
        except InvalidOperation:
            value = None
    else:
        cn = re.search(r"[零〇一二两三四五六七八九十百千万]+", t)
        value = _cn_number(cn.group(0)) if cn else None
    if value is None:
        return None, "没有看到金额，请直接发数字，比如 1280 或 1280.50"
    if value <= 0:
        return None, "金额要大于0"
    if value > AMOUNT_MAX:
        return None, "金额太大了，请核对一下（单位是元）"
    if value != value.quantize(Decimal("0.01")):
        return None, "金额最多保留两位小数（精确到分）"
    return str(value.quantize(Decimal("0.01"))), None


_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_RELATIVE = {
    "今天": 0,
    "今日": 0,
    "今早": 0,
    "今晚": 0,
    "昨天": 1,
    "昨日": 1,
    "昨晚": 1,
    "前天": 2,
    "前晚": 2,
    "大前天": 3,
}


def _cn_small(text: str) -> int | None:
    """1-31 written as 一 .. 三十一 or digits."""
    if text.isdigit():
        return int(text)
    v = _cn_number(text)
    return int(v) if v is not None else None


def parse_date(text: str, today: date) -> tuple[str | None, str | None]:
    """Transaction date as ISO "YYYY-MM-DD"; relative words count from ``today`` (local)."""
    t = normalize(text).replace(" ", "")
    found: date | None = None
    try:
        for word in sorted(_RELATIVE, key=len, reverse=True):
            if word in t:
                found = today - timedelta(days=_RELATIVE[word])
                break
        if found is None:
            m = re.search(r"上(?:周|星期|礼拜)([一二三四五六日天])", t)
            if m:
                this_monday = today - timedelta(days=today.weekday())
                found = this_monday - timedelta(days=7) + timedelta(days=_WEEKDAYS[m.group(1)])
        if found is None:
            m = re.search(r"(20\d{2})[-/.年](\d{1,2})[-/.月](\d{1,2})", t)
            if m:
                found = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if found is None:
            m = re.search(
                r"([0-9]{1,2}|[一二三四五六七八九十]{1,3})月([0-9]{1,2}|[一二三四五六七八九十]{1,3})[日号]?", t
            ) or re.search(r"(?<![\d/])(\d{1,2})[/.-](\d{1,2})(?![\d/])", t)
            if m:
                month, day = _cn_small(m.group(1)), _cn_small(m.group(2))
                if month and day:
                    found = date(today.year, month, day)
                    if found > today:  # "12月30日" said in January means last year
                        found = date(today.year - 1, month, day)
        if found is None:
            m = re.fullmatch(r"(?:本月|这个月)?([0-9]{1,2}|[一二三十]{1,3})[日号]", t)
            if m:
                day = _cn_small(m.group(1))
                if day:
                    found = today.replace(day=day) if day <= 31 else None
                    if found and found > today:
                        prev = today.replace(day=1) - timedelta(days=1)
                        found = prev.replace(day=day)
    except ValueError:
        return None, "这个日期不存在，请核对一下"
    if found is None:
        if re.search(r"明天|明日|后天", t):
            return None, "交易日期不能晚于今天"
        if re.search(r"上周末|上周|这周|本周|上个月|上月|本月", t):
            return None, "需要具体到哪一天，比如“11月20日”"
        return None, "没看懂是哪天，可以说“昨天”“前天”或“11月20日”"
    if found > today:
        return None, "交易日期不能晚于今天"
    if found < today - timedelta(days=366):
        return None, "这个日期超过一年了，请核对一下"
    return found.isoformat(), None


def bare_number(text: str) -> bool:
    """A message that is only a number ("1381234567", "8983 1004 8161 234", "+86 138…")."""
    t = _digits_joined(text)
    return bool(re.fullmatch(r"\+?[\d\s]+", t)) and any(c.isdigit() for c in t)


ID_PARSERS = {"merchant_id": parse_merchant_id, "terminal_id": parse_terminal_id, "phone": parse_phone}


def other_id_field(text: str, asked: str) -> str | None:
    """The id field a bare number is a valid value of, when it is not one of ``asked``.

    Merchant ids (15 digits), terminal ids (8) and mobile numbers (11, 1[3-9]…) have
    different lengths, so at most one field matches.
    """
    if not bare_number(text):
        return None
    parse = ID_PARSERS.get(asked)
    if parse is not None and parse(text)[0]:
        return None
    return next((field for field, p in ID_PARSERS.items() if field != asked and p(text)[0]), None)


def parse_description(text: str) -> tuple[str | None, str | None]:
    t = re.sub(r"\s+", " ", (text or "").strip())
    if t.startswith("/") or bare_number(t):
        return None, "请用文字简单描述一下问题"
    if len(t) < CHAT_DESCRIPTION_MIN:
        return None, "描述有点太短了，请多说几个字"
    return t[:CHAT_DESCRIPTION_MAX], None


def parse_rating(text: str) -> int | None:
    """1-5 from "5", "5分", "五星", "满分"."""
    t = normalize(text)
    if "满分" in t:
        return 5
    m = re.search(r"[1-5]", t) or re.search(r"[一二两三四五]", t)
    if not m:
        return None
    c = m.group(0)
    return int(c) if c.isdigit() else _CN_DIGITS[c]

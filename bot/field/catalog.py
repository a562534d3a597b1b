"""What a merchant can ask to be delivered: a fixed set, each with its label, unit and synonyms.

Written once here: the chat form, the ticket API's validation, the staff queue's labels
(``GET /api/staff/labels``) and the webhook payload all use these codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PAPER, RIBBON, PART = "paper", "ribbon", "part"


@dataclass(frozen=True)
class Item:
    code: str
    label: str
    unit: str
    kind: str  # paper | ribbon | part
    synonyms: tuple[str, ...]  # normalised (lower case, no spaces, × written as x)


ITEMS: tuple[Item, ...] = (
    Item("paper_57x50", "57×50mm 热敏打印纸", "卷", PAPER, ("57x50", "57*50", "5750", "57乘50", "58x50")),
    Item("paper_57x40", "57×40mm 热敏打印纸", "卷", PAPER, ("57x40", "57*40", "5740", "57乘40", "58x40")),
    Item("paper_80x80", "80×80mm 热敏打印纸", "卷", PAPER, ("80x80", "80*80", "8080", "80乘80")),
    Item("paper_80x60", "80×60mm 热敏打印纸", "卷", PAPER, ("80x60", "80*60", "8060", "80乘60")),
    Item(
        "ribbon_needle", "针式打印机色带（色带架）", "个", RIBBON, ("色带", "色带架", "色带盒", "碳带", "墨带", "色代")
    ),
    Item("part_print_head", "打印头", "个", PART, ("打印头", "打印机头", "热敏头", "打印针头")),
    Item("part_card_reader", "读卡器模块", "个", PART, ("读卡器", "读卡头", "刷卡头", "磁头", "读卡模块", "芯片卡座")),
    Item("part_battery", "电池", "块", PART, ("电池",)),
    Item("part_charger", "充电器（电源适配器）", "个", PART, ("充电器", "电源适配器", "适配器", "充电线", "电源线")),
)
BY_CODE: dict[str, Item] = {i.code: i for i in ITEMS}
LABELS: dict[str, str] = {i.code: i.label for i in ITEMS}
PAPER_SIZES = "、".join(i.label.split(" ")[0] for i in ITEMS if i.kind == PAPER)
PAPER_WORDS = ("打印纸", "热敏纸", "小票纸", "收银纸", "纸卷", "卷纸", "签购单纸", "票据纸", "纸")

_NORMALISE = str.maketrans({"×": "x", "X": "x", "＊": "*", "✕": "x", "ｘ": "x"})


def normalise(text: str) -> str:
    t = (text or "").translate(_NORMALISE).lower()
    t = t.replace("毫米", "mm")
    return re.sub(r"\s+", "", t)


def find_item(text: str) -> tuple[Item | None, str | None]:
    """The catalogue item named in ``text``, or ``(None, what is wrong)`` in Chinese.

    A paper size needs both numbers (57×50); "打印纸" alone asks which size."""
    t = normalise(text)
    if t in BY_CODE:
        return BY_CODE[t], None
    # Sizes first: "80x80的纸" names the paper even though it also says 纸.
    for item in ITEMS:
        if item.kind == PAPER and any(s in t for s in item.synonyms):
            return item, None
    m = re.search(r"(\d{2,3})(?:mm)?[x*乘](\d{2,3})", t)
    if m:
        return None, f"没有 {m.group(1)}×{m.group(2)} 这种规格的纸，我们能送的打印纸有：{PAPER_SIZES}"
    for item in ITEMS:
        if item.kind != PAPER and any(s in t for s in item.synonyms):
            return item, None
    if any(w in t for w in PAPER_WORDS):
        return None, f"打印纸有{PAPER_SIZES}几种规格（写在纸卷包装上，宽×直径），请告诉我要哪一种"
    return None, "没看懂要哪种耗材，可以点下面的选项，或者说“80×80的打印纸”“色带”"


def max_quantity(item: Item, paper_max: int, part_max: int) -> int:
    return paper_max if item.kind in (PAPER, RIBBON) else part_max


_CN = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "俩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
_VAGUE = ("很多", "好多", "一些", "一点", "几卷", "几个", "若干", "多点", "多一点", "一堆", "无数", "越多越好", "随便")


def cn_int(text: str) -> int | None:
    """0-99 written as digits or Chinese numerals (五, 十二, 二十, 两)."""
    if text.isdigit():
        return int(text)
    if not text or any(c not in _CN for c in text):
        return None
    if "十" not in text:
        return _CN[text] if len(text) == 1 else None
    head, _, tail = text.partition("十")
    tens = _CN.get(head, 0) if head else 1
    ones = _CN.get(tail, 0) if tail else 0
    return tens * 10 + ones


def parse_quantity(text: str, item: Item | None, limit: int) -> tuple[int | None, str | None]:
    """How many of ``item`` (1..limit), or ``(None, what is wrong)``."""
    t = normalise(text).translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    unit = item.unit if item else "个"
    m = re.search(r"-?\d+(?:\.\d+)?", t)
    value: int | None = None
    if m:
        raw = m.group(0)
        if "." in raw or raw.startswith("-"):
            return None, f"数量要是1到{limit}之间的整数（单位：{unit}）"
        value = int(raw)
    else:
        cn = re.search(r"[零一二两俩三四五六七八九十]+", t)
        value = cn_int(cn.group(0)) if cn else None
    if value is None:
        if any(w in t for w in _VAGUE):
            return None, f"需要一个具体的数字，比如“5{unit}”，一次最多{limit}{unit}"
        return None, f"没看到数量，请直接说要几{unit}，比如“5{unit}”"
    if value <= 0:
        return None, f"数量至少是1{unit}"
    if value > limit:
        return None, f"一次最多能申请{limit}{unit}，需要更多可以分次申请，或说“转人工”联系客服"
    return value, None

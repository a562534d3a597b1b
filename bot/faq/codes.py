"""Response codes of POS terminals: the table in ``data/codes/response_codes.yml``, its
validation, lookup, and finding a code in a merchant's message.

A terminal that declines a card shows a two-character code (ISO 8583 field 39 as UnionPay
uses it: ``05``, ``51``, ``96``; letter codes such as ``A0`` or ``A7`` that some acquirers
add; the EMV offline codes ``Y1``/``Z1``). Merchants quote it in many forms: "返回码05",
"显示61", "提示12无效交易", "错误代码A7", "交易失败 33", "报错 96", "05是什么意思".

``CODE_MENTION`` below is the one definition of those forms: ``find_code`` uses it, and the
Rasa regex of the ``response_code`` entity (``data/nlu/response_codes.yml``) is generated
from it by ``posbot faq lexicon --write`` (a test checks the file is current).

A mention that is not in the table (``错误码9999``, ``提示B5``) is still returned, as an
unknown code, so the bot can say honestly that it does not know that code and what to do.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

CODES_FILE = Path(__file__).resolve().parents[2] / "data" / "codes" / "response_codes.yml"
SIDES = ("cardholder", "merchant", "acquirer", "none")
SIDE_LABELS = {
    "cardholder": "持卡人和发卡银行这边",
    "merchant": "商户和刷卡机这边",
    "acquirer": "收单机构和银联网络这边",
    "none": "不是故障",
}
# A well-formed code: two digits, or a letter and a digit/letter (A0, A7, Y1, Z3).
CODE_RE = re.compile(r"^(?:\d{2}|[A-Z][0-9A-Z])$")

# Words after which a merchant quotes a code, longest first; and words that may follow a code.
CONTEXT_BEFORE = (
    "错误返回码",
    "交易返回码",
    "返回代码",
    "错误代码",
    "故障代码",
    "提示代码",
    "显示代码",
    "应答码",
    "返回码",
    "错误码",
    "故障码",
    "提示码",
    "响应码",
    "状态码",
    "结果码",
    "代码",
    "提示",
    "显示",
    "报错",
    "失败",
    "出现",
    "弹出",
    "错误",
    "报",
    "码",
)
CONTEXT_AFTER = ("是什么意思", "什么意思", "啥意思", "怎么回事", "怎么办", "错误", "报错", "代码", "提示", "错")
# Separators merchants put between the word and the code ("返回码：05", "提示【A7】").
SEPARATORS = ("", " ", ":", "：", "“", '"', "「", "【", "[", "(", "（", "'", "-")
# Units and words after which a number is not a code ("失败10次", "显示3000元"): never a code.
_NOT_AFTER = r"(?!\s?(?:次|元|块|天|分|号|点|秒|个|笔|张|万|千|百|小时|%|月|年|日|多|几|位|岁|g|G|w|W))"
# The code itself: 1-4 digits, or a letter with one or two digits/letters. Wider than CODE_RE
# so that malformed or unknown codes ("错误码9999") are caught and answered honestly.
_CODE_BODY = r"(?:\d{1,4}|[A-Za-z]\d{1,2})"


def _mention_pattern() -> str:
    # Python's look-behind needs a fixed width: one look-behind per (word, separator).
    behind = "|".join(f"(?<={re.escape(w + s)})" for w in CONTEXT_BEFORE for s in SEPARATORS)
    after = "|".join(re.escape(w) for w in CONTEXT_AFTER)
    before_form = f"(?:{behind}){_CODE_BODY}(?![0-9A-Za-z]){_NOT_AFTER}"
    after_form = f"(?<![0-9A-Za-z.]){_CODE_BODY}(?![0-9A-Za-z])(?=\\s?[\"”」】\\])）']?\\s?(?:{after}))"
    return f"{before_form}|{after_form}"


CODE_MENTION = re.compile(_mention_pattern(), re.IGNORECASE)


class CodeTableError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("response code table invalid:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class ResponseCode:
    code: str
    meaning: str
    side: str
    steps: tuple[str, ...]
    varies: bool = False
    display: str | None = None

    @property
    def side_label(self) -> str:
        return SIDE_LABELS[self.side]

    @property
    def success(self) -> bool:
        return self.side == "none"


@dataclass(frozen=True)
class CodeTable:
    codes: dict[str, ResponseCode]
    source: str = ""
    aliases: dict[str, str] = field(default_factory=dict)

    def get(self, code: str) -> ResponseCode | None:
        key = canonical_code(code)
        return self.codes.get(key) if key else None

    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self):
        return iter(self.codes.values())


def canonical_code(raw: str | None) -> str | None:
    """'５' -> None; ' a7 ' -> 'A7'; '5' -> '05' (a single digit is how some terminals print 05);
    None when the text cannot be a code at all."""
    if raw is None:
        return None
    t = unicodedata.normalize("NFKC", str(raw)).strip().upper()
    if re.fullmatch(r"\d", t):
        t = "0" + t
    return t if re.fullmatch(r"[0-9A-Z]{1,4}", t) else None


def load_codes(path: Path | str = CODES_FILE) -> CodeTable:
    """Load and validate the table; every problem is listed at once (``CodeTableError``)."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CodeTableError([f"{path}: cannot read: {exc}"]) from exc
    problems: list[str] = []
    if not isinstance(doc, dict) or not isinstance(doc.get("codes"), list):
        raise CodeTableError([f"{path}: expected 'advice:' and a 'codes:' list"])
    advice = doc.get("advice") or {}
    if not isinstance(advice, dict):
        problems.append("'advice:' must map names to lists of steps")
        advice = {}
    for name, steps in advice.items():
        if not isinstance(steps, list) or not steps or not all(isinstance(s, str) and s.strip() for s in steps):
            problems.append(f"advice '{name}': needs a non-empty list of steps")
    codes: dict[str, ResponseCode] = {}
    for pos, item in enumerate(doc["codes"], start=1):
        if not isinstance(item, dict):
            problems.append(f"code #{pos}: not a mapping")
            continue
        code = str(item.get("code") or "").strip()
        where = f"code '{code or '#' + str(pos)}'"
        if not CODE_RE.fullmatch(code):
            problems.append(f'{where}: must be two digits or a capital letter and a digit/letter (quote it: "05")')
            continue
        if code in codes:
            problems.append(f"{where}: defined twice")
            continue
        meaning = str(item.get("meaning") or "").strip()
        if not meaning:
            problems.append(f"{where}: empty 'meaning'")
        side = item.get("side")
        if side not in SIDES:
            problems.append(f"{where}: side {side!r}; expected one of {', '.join(SIDES)}")
        own, ref = item.get("steps"), item.get("advice")
        if own is not None and ref is not None:
            problems.append(f"{where}: give 'steps' or 'advice', not both")
        if own is not None:
            if not isinstance(own, list) or not own or not all(isinstance(s, str) and s.strip() for s in own):
                problems.append(f"{where}: 'steps' must be a non-empty list of texts")
                own = []
            steps = tuple(s.strip() for s in own)
        elif ref is not None:
            if ref not in advice:
                problems.append(f"{where}: unknown advice '{ref}'")
            steps = tuple(s.strip() for s in advice.get(ref) or ())
        else:
            problems.append(f"{where}: needs 'steps' or 'advice'")
            steps = ()
        varies = item.get("varies", False)
        if not isinstance(varies, bool):
            problems.append(f"{where}: 'varies' must be true or false")
        if problems and problems[-1].startswith(where):
            continue
        codes[code] = ResponseCode(
            code=code,
            meaning=meaning,
            side=str(side),
            steps=steps,
            varies=bool(varies),
            display=(str(item["display"]).strip() if item.get("display") else None),
        )
    if problems:
        raise CodeTableError(problems)
    return CodeTable(codes=codes, source=str(path))


@lru_cache(maxsize=1)
def default_codes() -> CodeTable:
    """The project's table, loaded once per process."""
    return load_codes(CODES_FILE)


@dataclass(frozen=True)
class CodeMention:
    raw: str  # as the merchant typed it
    code: str | None  # canonical form, None when it cannot be a code
    entry: ResponseCode | None  # None: not in the table (unknown or malformed)

    @property
    def known(self) -> bool:
        return self.entry is not None

    @property
    def well_formed(self) -> bool:
        return self.code is not None and bool(CODE_RE.fullmatch(self.code))


def find_codes(text: str, table: CodeTable | None = None) -> list[CodeMention]:
    """Every code the message quotes, in order, each once."""
    table = table or default_codes()
    t = unicodedata.normalize("NFKC", text or "")
    out: list[CodeMention] = []
    seen: set[str] = set()
    for m in CODE_MENTION.finditer(t):
        raw = m.group(0)
        code = canonical_code(raw)
        key = code or raw
        if key in seen:
            continue
        seen.add(key)
        out.append(CodeMention(raw=raw, code=code, entry=table.get(code) if code else None))
    return out


def find_code(text: str, table: CodeTable | None = None) -> CodeMention | None:
    """The first code the message quotes (known codes first), or None."""
    found = find_codes(text, table)
    return next((m for m in found if m.known), found[0] if found else None)


def lookup(raw: str, table: CodeTable | None = None) -> CodeMention:
    """A code given on its own (an entity value, an API path parameter)."""
    table = table or default_codes()
    code = canonical_code(raw)
    return CodeMention(raw=str(raw), code=code, entry=table.get(code) if code else None)


def rasa_regex() -> str:
    """The ``response_code`` entity regex for Rasa: the same mention pattern."""
    return CODE_MENTION.pattern

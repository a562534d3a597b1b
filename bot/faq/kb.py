"""The knowledge base: its entries, the values their fields may take, problems, and its hashes.

A KB holds entries (questions the bot answers) and negatives (known out-of-scope questions,
e.g. ``data/faq/negatives.yml``: never answered, only evidence for 'none'). Reading and
validating the YAML files (``data/faq/*.yml``) into one is ``bot.faq.loader``; the held-out
eval set and the check that it stays held out is ``bot.faq.evalset``.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from bot.faq.lexicon import fingerprint as lexicon_fingerprint

CATEGORIES = ("settlement", "fees", "activation", "fault", "account", "general")
CATEGORY_LABELS = {
    "settlement": "结算到账",
    "fees": "费率手续费",
    "activation": "开通激活",
    "fault": "故障",
    "account": "账户",
    "general": "常见问题",
}
# Subcategories used in data/faq (shown to staff); one missing here is simply not shown.
SUBCATEGORY_LABELS = {
    "app": "手机应用",
    "apply": "申请办理",
    "binding": "绑定",
    "card": "银行卡",
    "card_reader": "读卡",
    "change": "变更",
    "close": "注销",
    "complaint": "投诉",
    "compliance": "合规",
    "contact": "联系方式",
    "contract": "合同",
    "damage": "损坏",
    "deduction": "扣款",
    "deposit": "押金",
    "device": "设备",
    "dispute": "交易争议",
    "first_use": "首次使用",
    "info": "资料信息",
    "invoice": "发票",
    "keyboard": "按键",
    "maintenance": "维护保养",
    "mode": "模式设置",
    "network": "网络通讯",
    "notice": "通知",
    "pairing": "配对连接",
    "password": "密码",
    "payout": "出款到账",
    "peripheral": "外接设备",
    "pin": "密码键盘",
    "power": "电源开机",
    "printer": "打印",
    "provider": "服务商",
    "rate": "费率",
    "receipt": "小票",
    "records": "交易记录",
    "recurring": "周期扣费",
    "repair": "维修",
    "review": "审核",
    "risk": "风控",
    "scam": "防骗",
    "scan": "扫码",
    "screen": "屏幕",
    "security": "安全",
    "software": "软件升级",
    "status": "状态查询",
    "support": "售后支持",
    "timing": "到账时间",
    "transaction": "交易",
    "verification": "身份核验",
    "withdrawal": "提现",
}
ESCALATIONS = ("repair", "settlement", "activation", "handoff", "other")
ESCALATION_LABELS = {
    "repair": "报修工单",
    "settlement": "结算工单",
    "activation": "开通工单",
    "handoff": "转人工",
    "other": "其他工单",
}
MIN_PARAPHRASES = 6


@dataclass(frozen=True)
class Problem:
    file: str
    entry_id: str | None
    message: str
    # The same problem for the staff page, in Chinese (empty for file-level problems only YAML has).
    zh: str = ""
    field: str | None = None  # the entry's field it is about: id, question, paraphrases, answer ...

    def __str__(self) -> str:
        where = f"{self.file}: entry '{self.entry_id}'" if self.entry_id else self.file
        return f"{where}: {self.message}"


class KbError(ValueError):
    """The knowledge base (or eval set) is invalid. ``file``/``entry_id`` name the first problem."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        first = self.problems[0]
        self.file = first.file
        self.entry_id = first.entry_id
        head = f"{len(self.problems)} problem(s) in the FAQ knowledge base:\n" if len(self.problems) > 1 else ""
        super().__init__(head + "\n".join(f"  {p}" if head else str(p) for p in self.problems))


@dataclass(frozen=True)
class Entry:
    id: str
    category: str
    subcategory: str | None
    question: str
    paraphrases: tuple[str, ...]
    answer: str
    escalate: str | None
    source_file: str
    # The answer depends on the provider (rates, times, deposits, menu names): the bot adds a
    # line saying where to look, naming the merchant's brand when it is known.
    provider_specific: bool = False

    @property
    def texts(self) -> tuple[str, ...]:
        """Every wording that is indexed for this entry: the question first, then the paraphrases."""
        return (self.question, *self.paraphrases)


@dataclass(frozen=True)
class KnowledgeBase:
    entries: tuple[Entry, ...]
    content_hash: str  # changes on any edit of any KB file (answers included)
    index_hash: str  # changes only when indexed text changes (ids, questions, paraphrases)
    files: tuple[Path, ...]
    warnings: tuple[Problem, ...] = ()
    # Known out-of-scope questions (``negatives:`` lists): never answers, only evidence for 'none'.
    negatives: tuple[str, ...] = ()
    by_id: dict[str, Entry] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.by_id:
            self.by_id.update({e.id: e for e in self.entries})

    def get(self, entry_id: str) -> Entry | None:
        return self.by_id.get(entry_id)

    @property
    def negatives_hash(self) -> str:
        """Hash of the negatives' texts: their vectors are rebuilt only when this changes."""
        return negatives_hash(self.negatives)

    def __len__(self) -> int:
        return len(self.entries)


def dedup_key(text: str) -> str:
    """Normalised form used to detect the same wording twice: NFKC, casefold, no punctuation/space."""
    t = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in t if not (ch.isspace() or unicodedata.category(ch)[0] in "PZ"))


def negatives_hash(negatives) -> str:
    """Hash of the negatives and of the lexicon that normalises them (``bot.faq.lexicon``)."""
    payload = [list(negatives), lexicon_fingerprint()]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


def index_hash(entries) -> str:
    """Hash of exactly what the search index is built from, so an answer-only edit needs no
    re-encoding: ids and wordings, and the lexicon that normalises them (a new brand or typo
    changes what a wording is encoded as)."""
    payload = [[e.id, list(e.texts)] for e in entries] + [lexicon_fingerprint()]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


def semantic_hash(kb: KnowledgeBase) -> str:
    """Hash of what a KB says (entries in order, negatives), not of its files' bytes."""
    payload = [
        [
            [
                e.id,
                e.category,
                e.subcategory,
                e.question,
                list(e.paraphrases),
                e.answer,
                e.escalate,
                bool(e.provider_specific),
            ]
            for e in kb.entries
        ],
        list(kb.negatives),
    ]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()

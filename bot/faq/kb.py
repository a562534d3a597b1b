"""Knowledge base: load and validate the FAQ YAML files (``data/faq/*.yml``) and the eval set.

A KB file holds ``entries:`` (questions the bot answers) and/or ``negatives:`` (known
out-of-scope questions, e.g. ``data/faq/negatives.yml``: never answered, only evidence for
'none'). ``eval_leaks`` finds eval questions copied into either, so evaluation can leave
them out and ``posbot faq validate`` can report them: the eval set must stay held out.

Every problem is reported with the file and the entry id, so a content writer can
fix it without reading code. All problems of one load are collected and raised
together as one ``KbError`` (its ``problems`` list), so one ``posbot faq validate``
run shows everything that is wrong, not just the first thing.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

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
KB_GLOBS = ("*.yml", "*.yaml")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


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


def kb_files(faq_dir: Path) -> list[Path]:
    """The KB files of ``faq_dir`` (top level only: ``eval/`` holds the eval set)."""
    faq_dir = Path(faq_dir)
    found: set[Path] = set()
    for pattern in KB_GLOBS:
        found.update(p for p in faq_dir.glob(pattern) if p.is_file())
    return sorted(found)


def _display(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base.parent))
    except ValueError:
        return str(path)


def _read_yaml(path: Path, shown: str, problems: list[Problem]):
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(Problem(shown, None, f"cannot parse YAML: {exc}"))
        return None


def _text(value) -> str | None:
    """A YAML scalar as stripped text; numbers written without quotes are accepted as text."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    return str(value).strip()


def load_kb(faq_dir: Path | str) -> KnowledgeBase:
    """Load and validate every KB file of ``faq_dir``; raise ``KbError`` listing all problems."""
    faq_dir = Path(faq_dir)
    problems: list[Problem] = []
    if not faq_dir.is_dir():
        raise KbError([Problem(str(faq_dir), None, "FAQ directory does not exist")])
    files = kb_files(faq_dir)
    if not files:
        raise KbError([Problem(str(faq_dir), None, "no *.yml knowledge-base files found")])
    docs: list[tuple[str, object]] = []
    digest = hashlib.sha256()
    for path in files:
        shown = _display(path, faq_dir)
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + raw + b"\0")
        doc = _read_yaml(path, shown, problems)
        if doc is None:
            if not problems or problems[-1].file != shown:
                problems.append(
                    Problem(shown, None, "file is empty: expected a top-level 'entries:' (or 'negatives:') list")
                )
            continue
        docs.append((shown, doc))
    return build_kb(docs, files=tuple(files), content_hash=digest.hexdigest(), problems=problems)


def build_kb(
    docs, *, files: tuple[Path, ...], content_hash: str, problems: list[Problem] | None = None
) -> KnowledgeBase:
    """Validate parsed KB documents (``(shown file name, {'entries': [...], 'negatives': [...]})``,
    in order) into a ``KnowledgeBase``; raise ``KbError`` listing all problems.

    The YAML loader and the database store (``bot.faq.store``) both build through here, so an
    edit in the staff page is checked by exactly the rules a YAML file is.
    """
    problems = problems if problems is not None else []
    warnings: list[Problem] = []
    entries: list[Entry] = []
    seen_ids: dict[str, str] = {}
    # dedup key -> (file, entry id, original wording): catches the same wording in two entries
    seen_texts: dict[str, tuple[str, str, str]] = {}
    neg_raw: list[tuple[str, int, object]] = []  # (file, position, item) of every 'negatives:' item

    for shown, doc in docs:
        if not isinstance(doc, dict) or not ("entries" in doc or "negatives" in doc):
            problems.append(Problem(shown, None, "expected a top-level 'entries:' (or 'negatives:') list"))
            continue
        for key in ("entries", "negatives"):
            if key in doc and not isinstance(doc[key], list):
                problems.append(Problem(shown, None, f"'{key}:' must be a list"))
        if isinstance(doc.get("negatives"), list):
            neg_raw.extend((shown, pos, item) for pos, item in enumerate(doc["negatives"], start=1))
        raw_entries = doc.get("entries")
        for pos, item in enumerate(raw_entries if isinstance(raw_entries, list) else [], start=1):
            entry = _parse_entry(item, pos, shown, problems, warnings)
            if entry is None:
                continue
            if entry.id in seen_ids:
                problems.append(
                    Problem(
                        shown,
                        entry.id,
                        f"duplicate id (first defined in {seen_ids[entry.id]})",
                        f"编号“{entry.id}”已被另一个条目使用",
                        "id",
                    )
                )
                continue
            seen_ids[entry.id] = shown
            for wording in entry.texts:
                key = dedup_key(wording)
                other = seen_texts.get(key)
                if other is not None and other[1] != entry.id:
                    problems.append(
                        Problem(
                            shown,
                            entry.id,
                            f"wording '{wording}' duplicates '{other[2]}' of entry '{other[1]}' ({other[0]}); "
                            "one wording must lead to one answer",
                            f"问法“{wording}”与条目“{other[1]}”的问法“{other[2]}”重复：同一个问法只能对应一个答案",
                            "paraphrases",
                        )
                    )
                elif other is None:
                    seen_texts[key] = (shown, entry.id, wording)
            entries.append(entry)

    negatives = _parse_negatives(neg_raw, seen_texts, problems)
    if problems:
        raise KbError(problems)
    return KnowledgeBase(
        entries=tuple(entries),
        content_hash=content_hash,
        index_hash=index_hash(entries),
        files=tuple(files),
        warnings=tuple(warnings),
        negatives=tuple(negatives),
    )


def _parse_negatives(raw, seen_texts: dict[str, tuple[str, str, str]], problems: list[Problem]) -> list[str]:
    """Validate the ``negatives:`` items: non-empty text, no duplicates, none equal to a KB wording.

    Compared with ``dedup_key`` like KB wordings: a negative that is also a wording of an
    entry would tell the engine both 'answer this' and 'this is out of scope'.
    """
    out: list[str] = []
    seen: dict[str, tuple[str, str]] = {}
    for shown, pos, item in raw:
        where = f"negative #{pos}"
        text = _text(item)
        if not text or not has_text(text):
            problems.append(Problem(shown, where, "empty or non-text negative", "排除问法不能为空"))
            continue
        key = dedup_key(text)
        if key in seen:
            first_file, first = seen[key]
            problems.append(
                Problem(shown, where, f"negative '{text}' duplicates '{first}' ({first_file})", f"排除问法“{text}”重复")
            )
            continue
        owner = seen_texts.get(key)
        if owner is not None:
            problems.append(
                Problem(
                    shown,
                    where,
                    f"negative '{text}' is a wording of entry '{owner[1]}' ({owner[0]}); "
                    "a question cannot be both answered and out of scope",
                    f"“{text}”既是条目“{owner[1]}”的问法又被列为不回答的问题",
                )
            )
            continue
        seen[key] = (shown, text)
        out.append(text)
    return out


def has_text(text: str) -> bool:
    """At least one letter or digit (a negative of emoji or punctuation only says nothing)."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


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


def _parse_entry(item, pos: int, shown: str, problems: list[Problem], warnings: list[Problem]) -> Entry | None:
    if not isinstance(item, dict):
        problems.append(Problem(shown, f"#{pos}", "entry is not a mapping", "条目格式不对"))
        return None
    eid = _text(item.get("id"))
    if not eid:
        problems.append(Problem(shown, f"#{pos}", "missing 'id'", "请填写条目编号", "id"))
        return None
    start = len(problems)
    if not _ID_RE.fullmatch(eid):
        problems.append(
            Problem(
                shown,
                eid,
                "id must be lowercase letters, digits, '-' or '_'",
                "编号只能用小写英文字母、数字、“-”和“_”，并以字母或数字开头",
                "id",
            )
        )
    category = _text(item.get("category"))
    if category not in CATEGORIES:
        problems.append(
            Problem(
                shown,
                eid,
                f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}",
                "请选择分类：" + "、".join(CATEGORY_LABELS[c] for c in CATEGORIES),
                "category",
            )
        )
    question = _text(item.get("question"))
    if not question:
        problems.append(Problem(shown, eid, "empty 'question'", "标准问题不能为空", "question"))
    answer = _text(item.get("answer"))
    if not answer:
        problems.append(Problem(shown, eid, "empty 'answer'", "答案不能为空", "answer"))
    escalate = _text(item.get("escalate")) or None
    if escalate is not None and escalate not in ESCALATIONS:
        problems.append(
            Problem(
                shown,
                eid,
                f"unknown escalate {escalate!r}; expected one of {', '.join(ESCALATIONS)}",
                "转交团队只能是：" + "、".join(ESCALATION_LABELS[x] for x in ESCALATIONS),
                "escalate",
            )
        )
    raw_pars = item.get("paraphrases")
    if raw_pars is None:
        raw_pars = []
    if not isinstance(raw_pars, list):
        problems.append(Problem(shown, eid, "'paraphrases' must be a list", "其他问法应是一个列表", "paraphrases"))
        raw_pars = []
    paraphrases: list[str] = []
    keys = {dedup_key(question)} if question else set()
    for p in raw_pars:
        text = _text(p)
        if not text:
            problems.append(Problem(shown, eid, "empty or non-text paraphrase", "有一条问法是空的", "paraphrases"))
            continue
        key = dedup_key(text)
        if key in keys:
            # Same entry twice is harmless for search; it just does not count towards the minimum.
            warnings.append(Problem(shown, eid, f"paraphrase '{text}' repeats a wording of the same entry"))
            continue
        keys.add(key)
        paraphrases.append(text)
    if len(paraphrases) < MIN_PARAPHRASES:
        problems.append(
            Problem(
                shown,
                eid,
                f"has {len(paraphrases)} distinct paraphrase(s); at least {MIN_PARAPHRASES} required",
                f"除标准问题外至少要有 {MIN_PARAPHRASES} 条不同的问法，现在只有 {len(paraphrases)} 条",
                "paraphrases",
            )
        )
    sub = _text(item.get("subcategory")) or None
    provider_specific = item.get("provider_specific", False)
    if not isinstance(provider_specific, bool):
        problems.append(
            Problem(
                shown,
                eid,
                "'provider_specific' must be true or false",
                "“因服务商而异”只能是是或否",
                "provider_specific",
            )
        )
    if len(problems) > start:
        return None
    return Entry(
        id=eid,
        category=category or "",
        subcategory=sub,
        question=question or "",
        paraphrases=tuple(paraphrases),
        answer=answer or "",
        escalate=escalate,
        source_file=shown,
        provider_specific=provider_specific,
    )


# --- eval set -------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalQuestion:
    text: str
    expected: str | None  # None: out of scope (the bot must not answer)
    source_file: str


@dataclass(frozen=True)
class EvalSet:
    questions: tuple[EvalQuestion, ...]

    @property
    def in_scope(self) -> list[EvalQuestion]:
        return [q for q in self.questions if q.expected is not None]

    @property
    def out_of_scope(self) -> list[EvalQuestion]:
        return [q for q in self.questions if q.expected is None]

    def __len__(self) -> int:
        return len(self.questions)


def eval_dir_of(faq_dir: Path | str) -> Path:
    return Path(faq_dir) / "eval"


def load_eval(eval_dir: Path | str, kb: KnowledgeBase | None = None) -> EvalSet:
    """Load ``eval/*.yml``: ``questions:`` (text + expected id) and ``out_of_scope:`` (texts).

    With ``kb`` given, an expected id that is not in the KB is an error (a typo would
    otherwise silently count as a miss).
    """
    eval_dir = Path(eval_dir)
    problems: list[Problem] = []
    out: list[EvalQuestion] = []
    files = kb_files(eval_dir) if eval_dir.is_dir() else []
    for path in files:
        shown = _display(path, eval_dir.parent)
        doc = _read_yaml(path, shown, problems)
        if doc is None:
            continue
        if not isinstance(doc, dict):
            problems.append(Problem(shown, None, "expected 'questions:' and/or 'out_of_scope:' lists"))
            continue
        for pos, item in enumerate(doc.get("questions") or [], start=1):
            if not isinstance(item, dict):
                problems.append(Problem(shown, f"question #{pos}", "expected a mapping with 'text' and 'expected'"))
                continue
            text, expected = _text(item.get("text")), _text(item.get("expected"))
            if not text or not expected:
                problems.append(Problem(shown, expected or f"question #{pos}", "needs both 'text' and 'expected'"))
                continue
            if kb is not None and kb.get(expected) is None:
                problems.append(Problem(shown, expected, f"eval question '{text}' expects an id that is not in the KB"))
                continue
            out.append(EvalQuestion(text, expected, shown))
        for pos, item in enumerate(doc.get("out_of_scope") or [], start=1):
            text = _text(item)
            if not text:
                problems.append(Problem(shown, f"out_of_scope #{pos}", "empty out-of-scope question"))
                continue
            out.append(EvalQuestion(text, None, shown))
    if problems:
        raise KbError(problems)
    return EvalSet(tuple(out))


# --- eval leakage ---------------------------------------------------------------------

# Two texts this alike (Jaccard of their character bigrams, after ``dedup_key``) count as
# one question written twice: '个人所得税怎么退' / '个人所得税怎么退税' is 0.88,
# '红烧肉怎么做' / '怎么做红烧肉' 0.67; unrelated questions on one topic stay far below.
NEAR_DUPLICATE_JACCARD = 0.6


@dataclass(frozen=True)
class Leak:
    """An eval question that also stands (exactly or nearly) in the KB or the negatives."""

    eval_text: str
    eval_file: str
    kb_text: str
    owner: str  # entry id, or 'negatives'
    similarity: float  # 1.0 for the same wording after dedup_key

    @property
    def exact(self) -> bool:
        return self.similarity >= 1.0

    def __str__(self) -> str:
        kind = "is" if self.exact else f"nearly is ({self.similarity:.2f})"
        where = "a negative" if self.owner == "negatives" else f"a wording of entry '{self.owner}'"
        return f"{self.eval_file}: eval question '{self.eval_text}' {kind} {where}: '{self.kb_text}'"


def _bigrams(key: str) -> frozenset[str]:
    return frozenset(key[i : i + 2] for i in range(len(key) - 1)) if len(key) > 1 else frozenset({key})


def eval_leaks(kb: KnowledgeBase, evalset: EvalSet, near: float = NEAR_DUPLICATE_JACCARD) -> list[Leak]:
    """Eval questions that the KB (wordings) or the negatives contain exactly or nearly.

    The eval set must stay held out: a copied question measures memory, not retrieval.
    ``evaluate`` leaves such wordings out of the index it scores (``without_leaks``), and
    ``posbot faq validate`` reports them.
    """
    pool: list[tuple[str, str, str, frozenset[str]]] = []  # (key, text, owner, bigrams)
    for e in kb.entries:
        for t in e.texts:
            k = dedup_key(t)
            pool.append((k, t, e.id, _bigrams(k)))
    for t in kb.negatives:
        k = dedup_key(t)
        pool.append((k, t, "negatives", _bigrams(k)))
    by_gram: dict[str, list[int]] = {}
    for i, (_, _, _, grams) in enumerate(pool):
        for g in grams:
            by_gram.setdefault(g, []).append(i)
    out: list[Leak] = []
    for q in evalset.questions:
        k = dedup_key(q.text)
        grams = _bigrams(k)
        cands = {i for g in grams for i in by_gram.get(g, ())}
        for i in sorted(cands):
            pk, text, owner, pgrams = pool[i]
            if pk == k:
                sim = 1.0
            else:
                sim = len(grams & pgrams) / len(grams | pgrams)
                if pk in k or k in pk:  # '微信零钱怎么提现' inside '微信零钱怎么提现到银行卡'
                    sim = max(sim, min(len(pk), len(k)) / max(len(pk), len(k)))
                if sim < near:
                    continue
                sim = min(sim, 0.99)
            out.append(Leak(q.text, q.source_file, text, owner, round(sim, 2)))
    return out


def without_leaks(kb: KnowledgeBase, leaks: list[Leak]) -> KnowledgeBase:
    """The KB minus the wordings and negatives that ``leaks`` name (for honest evaluation).

    An entry keeps its other wordings (a leaked question is replaced by its first
    remaining paraphrase); an entry with every wording leaked keeps its question.
    """
    if not leaks:
        return kb
    gone: dict[str, set[str]] = {}
    for leak in leaks:
        gone.setdefault(leak.owner, set()).add(dedup_key(leak.kb_text))
    entries = []
    for e in kb.entries:
        drop = gone.get(e.id)
        if not drop:
            entries.append(e)
            continue
        texts = [t for t in e.texts if dedup_key(t) not in drop] or [e.question]  # nothing left: keep it findable
        entries.append(
            Entry(e.id, e.category, e.subcategory, texts[0], tuple(texts[1:]), e.answer, e.escalate, e.source_file)
        )
    drop_neg = gone.get("negatives", set())
    negatives = tuple(t for t in kb.negatives if dedup_key(t) not in drop_neg)
    return KnowledgeBase(
        entries=tuple(entries),
        content_hash=kb.content_hash + "-holdout",
        index_hash=index_hash(entries),
        files=kb.files,
        warnings=kb.warnings,
        negatives=negatives,
    )

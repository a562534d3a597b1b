"""The eval set (``data/faq/eval/*.yml``) and the check that it stays held out.

``eval_leaks`` finds eval questions copied (exactly or nearly) into the KB's wordings or its
negatives, so evaluation can leave them out (``without_leaks``) and ``posbot faq validate``
can report them: a copied question measures memory, not retrieval.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.faq.kb import Entry, KbError, KnowledgeBase, Problem, dedup_key, index_hash
from bot.faq.loader import display_path, kb_files, read_yaml, scalar_text


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
        shown = display_path(path, eval_dir.parent)
        doc = read_yaml(path, shown, problems)
        if doc is None:
            continue
        if not isinstance(doc, dict):
            problems.append(Problem(shown, None, "expected 'questions:' and/or 'out_of_scope:' lists"))
            continue
        for pos, item in enumerate(doc.get("questions") or [], start=1):
            if not isinstance(item, dict):
                problems.append(Problem(shown, f"question #{pos}", "expected a mapping with 'text' and 'expected'"))
                continue
            text, expected = scalar_text(item.get("text")), scalar_text(item.get("expected"))
            if not text or not expected:
                problems.append(Problem(shown, expected or f"question #{pos}", "needs both 'text' and 'expected'"))
                continue
            if kb is not None and kb.get(expected) is None:
                problems.append(Problem(shown, expected, f"eval question '{text}' expects an id that is not in the KB"))
                continue
            out.append(EvalQuestion(text, expected, shown))
        for pos, item in enumerate(doc.get("out_of_scope") or [], start=1):
            text = scalar_text(item)
            if not text:
                problems.append(Problem(shown, f"out_of_scope #{pos}", "empty out-of-scope question"))
                continue
            out.append(EvalQuestion(text, None, shown))
    if problems:
        raise KbError(problems)
    return EvalSet(tuple(out))


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

"""Knowledge base: load and validate the FAQ YAML files (``data/faq/*.yml``) and the eval set.

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

CATEGORIES = ("settlement", "fees", "activation", "fault", "account", "general")
ESCALATIONS = ("repair", "settlement", "activation", "handoff", "other")
MIN_PARAPHRASES = 6
KB_GLOBS = ("*.yml", "*.yaml")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class Problem:
    file: str
    entry_id: str | None
    message: str

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
    by_id: dict[str, Entry] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.by_id:
            self.by_id.update({e.id: e for e in self.entries})

    def get(self, entry_id: str) -> Entry | None:
        return self.by_id.get(entry_id)

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
    warnings: list[Problem] = []
    if not faq_dir.is_dir():
        raise KbError([Problem(str(faq_dir), None, "FAQ directory does not exist")])
    files = kb_files(faq_dir)
    if not files:
        raise KbError([Problem(str(faq_dir), None, "no *.yml knowledge-base files found")])

    entries: list[Entry] = []
    seen_ids: dict[str, str] = {}
    # dedup key -> (file, entry id, original wording): catches the same wording in two entries
    seen_texts: dict[str, tuple[str, str, str]] = {}
    digest = hashlib.sha256()

    for path in files:
        shown = _display(path, faq_dir)
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + raw + b"\0")
        doc = _read_yaml(path, shown, problems)
        if doc is None:
            if not problems or problems[-1].file != shown:
                problems.append(Problem(shown, None, "file is empty: expected a top-level 'entries:' list"))
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("entries"), list):
            problems.append(Problem(shown, None, "expected a top-level 'entries:' list"))
            continue
        for pos, item in enumerate(doc["entries"], start=1):
            entry = _parse_entry(item, pos, shown, problems, warnings)
            if entry is None:
                continue
            if entry.id in seen_ids:
                problems.append(Problem(shown, entry.id, f"duplicate id (first defined in {seen_ids[entry.id]})"))
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
                        )
                    )
                elif other is None:
                    seen_texts[key] = (shown, entry.id, wording)
            entries.append(entry)

    if problems:
        raise KbError(problems)
    return KnowledgeBase(
        entries=tuple(entries),
        content_hash=digest.hexdigest(),
        index_hash=index_hash(entries),
        files=tuple(files),
        warnings=tuple(warnings),
    )


def index_hash(entries) -> str:
    """Hash of exactly what the search index is built from, so an answer-only edit needs no re-encoding."""
    payload = [[e.id, list(e.texts)] for e in entries]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


def _parse_entry(item, pos: int, shown: str, problems: list[Problem], warnings: list[Problem]) -> Entry | None:
    if not isinstance(item, dict):
        problems.append(Problem(shown, f"#{pos}", "entry is not a mapping"))
        return None
    eid = _text(item.get("id"))
    if not eid:
        problems.append(Problem(shown, f"#{pos}", "missing 'id'"))
        return None
    start = len(problems)
    if not _ID_RE.match(eid):
        problems.append(Problem(shown, eid, "id must be lowercase letters, digits, '-' or '_'"))
    category = _text(item.get("category"))
    if category not in CATEGORIES:
        problems.append(Problem(shown, eid, f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}"))
    question = _text(item.get("question"))
    if not question:
        problems.append(Problem(shown, eid, "empty 'question'"))
    answer = _text(item.get("answer"))
    if not answer:
        problems.append(Problem(shown, eid, "empty 'answer'"))
    escalate = _text(item.get("escalate")) or None
    if escalate is not None and escalate not in ESCALATIONS:
        problems.append(Problem(shown, eid, f"unknown escalate {escalate!r}; expected one of {', '.join(ESCALATIONS)}"))
    raw_pars = item.get("paraphrases")
    if raw_pars is None:
        raw_pars = []
    if not isinstance(raw_pars, list):
        problems.append(Problem(shown, eid, "'paraphrases' must be a list"))
        raw_pars = []
    paraphrases: list[str] = []
    keys = {dedup_key(question)} if question else set()
    for p in raw_pars:
        text = _text(p)
        if not text:
            problems.append(Problem(shown, eid, "empty or non-text paraphrase"))
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
            Problem(shown, eid, f"has {len(paraphrases)} distinct paraphrase(s); at least {MIN_PARAPHRASES} required")
        )
    sub = _text(item.get("subcategory")) or None
    if len(problems) > start:
        return None
    return Entry(
        id=eid,
        category=category,
        subcategory=sub,
        question=question,
        paraphrases=tuple(paraphrases),
        answer=answer,
        escalate=escalate,
        source_file=shown,
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

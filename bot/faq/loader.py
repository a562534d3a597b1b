"""Load and validate the FAQ YAML files (``data/faq/*.yml``) into a ``KnowledgeBase``.

A KB file holds ``entries:`` and/or ``negatives:``. Every problem is reported with the file
and the entry id, so a content writer can fix it without reading code. All problems of one
load are collected and raised together as one ``KbError`` (its ``problems`` list), so one
``posbot faq validate`` run shows everything that is wrong, not just the first thing.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

import yaml

from bot.faq.kb import (
    CATEGORIES,
    CATEGORY_LABELS,
    ESCALATION_LABELS,
    ESCALATIONS,
    MIN_PARAPHRASES,
    Entry,
    KbError,
    KnowledgeBase,
    Problem,
    dedup_key,
    index_hash,
)

KB_GLOBS = ("*.yml", "*.yaml")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def kb_files(faq_dir: Path) -> list[Path]:
    """The KB files of ``faq_dir`` (top level only: ``eval/`` holds the eval set)."""
    faq_dir = Path(faq_dir)
    found: set[Path] = set()
    for pattern in KB_GLOBS:
        found.update(p for p in faq_dir.glob(pattern) if p.is_file())
    return sorted(found)


def display_path(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base.parent))
    except ValueError:
        return str(path)


def read_yaml(path: Path, shown: str, problems: list[Problem]):
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(Problem(shown, None, f"cannot parse YAML: {exc}"))
        return None


def scalar_text(value) -> str | None:
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
        shown = display_path(path, faq_dir)
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + raw + b"\0")
        doc = read_yaml(path, shown, problems)
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
        text = scalar_text(item)
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


def _parse_entry(item, pos: int, shown: str, problems: list[Problem], warnings: list[Problem]) -> Entry | None:
    if not isinstance(item, dict):
        problems.append(Problem(shown, f"#{pos}", "entry is not a mapping", "条目格式不对"))
        return None
    eid = scalar_text(item.get("id"))
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
    category = scalar_text(item.get("category"))
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
    question = scalar_text(item.get("question"))
    if not question:
        problems.append(Problem(shown, eid, "empty 'question'", "标准问题不能为空", "question"))
    answer = scalar_text(item.get("answer"))
    if not answer:
        problems.append(Problem(shown, eid, "empty 'answer'", "答案不能为空", "answer"))
    escalate = scalar_text(item.get("escalate")) or None
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
        text = scalar_text(p)
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
    sub = scalar_text(item.get("subcategory")) or None
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

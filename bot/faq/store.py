"""The live knowledge base in the database: seed, edit, version, revert, import and export.

The database is the FAQ's source while the app runs (``POSBOT_FAQ_SOURCE=db``, the default);
``data/faq/*.yml`` is the seed of a new database and the export/import format
(``posbot faq export|import DIR``). Every write:

1. takes the KB write lock (an UPDATE of the single ``faq_revision`` row: a row lock on
   PostgreSQL, the write lock on SQLite), so two staff saving at once are serialised;
2. builds the whole KB as it would be after the change through ``bot.faq.loader.build_kb``, the
   YAML loader's own validation (duplicate wordings across entries, empty answers, bad ids,
   too few paraphrases ...), and refuses the change with every problem when it is invalid;
3. writes the entry, one ``faq_versions`` row (who, when, before, after) and bumps the
   revision, in one transaction.

Each app instance's ``FaqEngine`` polls the revision (``DbSource.fingerprint``) and swaps in
a new index when it moved, reusing the vectors of every unchanged wording.

A retired entry is never answered but stays, with its history, and can be restored by a
revert. An export writes the live entries only.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import Database, rowcount
from bot.faq.kb import CATEGORY_LABELS, ESCALATION_LABELS, KbError, KnowledgeBase, Problem, dedup_key
from bot.faq.loader import build_kb, kb_files, load_kb, scalar_text
from bot.faq.models import ENTRY_ID_MAX, FaqEntryRow, FaqNegativeRow, FaqRevisionRow, FaqSourceRow, FaqVersionRow
from bot.tickets.models import utcnow

log = logging.getLogger(__name__)

# The fields of an entry as the YAML writes them, in that order.
FIELDS = ("id", "category", "subcategory", "question", "paraphrases", "answer", "escalate", "provider_specific")
EDITABLE = FIELDS[1:]
FIELD_LABELS = {
    "id": "编号",
    "category": "分类",
    "subcategory": "子分类",
    "question": "标准问题",
    "paraphrases": "其他问法",
    "answer": "答案",
    "escalate": "转交团队",
    "provider_specific": "因服务商而异",
    "retired": "状态",
}
ACTION_LABELS = {
    "seed": "初始导入",
    "import": "导入",
    "create": "新建",
    "edit": "修改",
    "add_wording": "添加问法",
    "remove_wording": "删除问法",
    "retire": "停用",
    "revert": "恢复到旧版本",
}
SEED_ACTOR = "seed"


class StoreError(Exception):
    """A refused KB edit: ``status`` 404 / 409 / 422, a Chinese ``message`` and the ``problems``."""

    def __init__(self, status: int, code: str, message: str, problems: Iterable[Problem] = ()):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.problems = list(problems)


def not_found(entry_id: str) -> StoreError:
    return StoreError(404, "faq_entry_not_found", f"没有编号为“{entry_id}”的知识库条目")


def entry_doc(row: FaqEntryRow) -> dict[str, Any]:
    """The entry as a YAML ``entries:`` item (optional fields only when set)."""
    doc: dict[str, Any] = {"id": row.id, "category": row.category}
    if row.subcategory:
        doc["subcategory"] = row.subcategory
    doc["question"] = row.question
    doc["paraphrases"] = list(row.paraphrases or [])
    doc["answer"] = row.answer
    if row.escalate:
        doc["escalate"] = row.escalate
    if row.provider_specific:
        doc["provider_specific"] = True
    return doc


def snapshot(row: FaqEntryRow) -> dict[str, Any]:
    """What a version stores of an entry: its YAML item and whether it is retired."""
    return {**entry_doc(row), "retired": row.retired_at is not None}


def _normalised(data: dict[str, Any]) -> dict[str, Any]:
    """An edit's fields the way the loader reads them: stripped text, empty optional fields None."""
    out: dict[str, Any] = {}
    for f in EDITABLE:
        v = data.get(f)
        if f == "paraphrases":
            out[f] = (
                [(scalar_text(p) if scalar_text(p) is not None else p) for p in (v or [])] if isinstance(v, list) else v
            )
        elif f == "provider_specific":
            out[f] = bool(v) if isinstance(v, bool) or v is None else v
        else:
            t = scalar_text(v)
            out[f] = t if t else ("" if f in ("question", "answer") else None)
    return out


@dataclass(frozen=True)
class EntryView:
    """An entry for the staff page: its fields, state and version."""

    id: str
    category: str
    subcategory: str | None
    question: str
    paraphrases: list[str]
    answer: str
    escalate: str | None
    provider_specific: bool
    source: str
    retired: bool
    version: int
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, row: FaqEntryRow) -> EntryView:
        return cls(
            id=row.id,
            category=row.category,
            subcategory=row.subcategory,
            question=row.question,
            paraphrases=list(row.paraphrases or []),
            answer=row.answer,
            escalate=row.escalate,
            provider_specific=bool(row.provider_specific),
            source=row.source,
            retired=row.retired_at is not None,
            version=row.version,
            updated_at=row.updated_at,
            updated_by=row.updated_by,
        )


@dataclass(frozen=True)
class VersionView:
    entry_id: str
    version: int
    action: str
    actor: str
    created_at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None


def _version_view(v: FaqVersionRow) -> VersionView:
    return VersionView(v.entry_id, v.version, v.action, v.actor, v.created_at, v.before, v.after, v.note)


def diff_states(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Field-by-field comparison of two entry states, for the page.

    Text fields get a line diff (``lines``: ``[{"op": "same"|"add"|"del", "text": ...}]``),
    the wordings what was added and removed; unchanged fields are listed with ``changed`` false.
    """
    before, after = before or {}, after or {}
    out = []
    for f in (*FIELDS, "retired"):
        a, b = before.get(f), after.get(f)
        if f == "provider_specific" or f == "retired":
            a, b = bool(a), bool(b)
        item: dict[str, Any] = {"field": f, "label": FIELD_LABELS[f], "before": a, "after": b, "changed": a != b}
        if f == "paraphrases":
            a_list, b_list = list(a or []), list(b or [])
            item["added"] = [t for t in b_list if t not in a_list]
            item["removed"] = [t for t in a_list if t not in b_list]
        elif f in ("question", "answer") and a != b:
            lines = []
            for op in difflib.ndiff(str(a or "").splitlines(), str(b or "").splitlines()):
                tag, text = op[:2], op[2:]
                if tag == "? ":
                    continue
                lines.append({"op": {"  ": "same", "+ ": "add", "- ": "del"}[tag], "text": text})
            item["lines"] = lines
        out.append(item)
    return out


class KbStore:
    """The knowledge base in ``db``; ``faq_dir`` is where the seed (and the calibration) lives."""

    def __init__(self, db: Database, faq_dir: Path | str):
        self.db = db
        self.faq_dir = Path(faq_dir)

    # --- revision and lock -------------------------------------------------------------

    def revision(self) -> int | None:
        """The KB revision: grows with every change (None: never seeded)."""
        with self.db.session() as s:
            row = s.get(FaqRevisionRow, 1)
            return None if row is None or row.seeded_at is None else row.revision

    def _lock(self, s: Session) -> FaqRevisionRow:
        """Take the KB write lock for this transaction and return the revision row."""
        now = utcnow()
        for _ in range(3):
            done = s.execute(update(FaqRevisionRow).where(FaqRevisionRow.id == 1).values(updated_at=now))
            if rowcount(done):
                row = s.get(FaqRevisionRow, 1, populate_existing=True)
                assert row is not None  # just updated, in this transaction
                return row
            try:
                with s.begin_nested():
                    s.add(FaqRevisionRow(id=1, revision=0, updated_at=now))
            except IntegrityError:  # another instance created it first: lock that one
                continue
        raise RuntimeError("faq_revision row could not be locked")

    @staticmethod
    def _bump(s: Session, rev: FaqRevisionRow) -> None:
        rev.revision = (rev.revision or 0) + 1
        rev.updated_at = utcnow()

    # --- reading -----------------------------------------------------------------------

    def _rows(self, s: Session, *, live_only: bool = False) -> list[FaqEntryRow]:
        q = select(FaqEntryRow).order_by(FaqEntryRow.source, FaqEntryRow.position, FaqEntryRow.id)
        if live_only:
            q = q.where(FaqEntryRow.retired_at.is_(None))
        return list(s.scalars(q))

    def _source_order(self, s: Session) -> dict[str, int]:
        return {r.name: r.position for r in s.scalars(select(FaqSourceRow))}

    def _docs(self, s: Session, rows: list[FaqEntryRow], comments: dict | None = None) -> list[tuple[str, dict]]:
        """The live KB as YAML documents, one per source file, in file order (``comments``, when
        given, is filled with the comment lines above entries and negatives)."""
        # Files in name order, as bot.faq.loader.kb_files reads a directory: the served KB has the
        # same entry order as the YAML an export writes (ties and the classifier depend on it).
        by_source: dict[str, dict[str, list]] = {}
        for r in sorted(rows, key=lambda r: (r.source, r.position, r.id)):
            if r.retired_at is None:
                by_source.setdefault(r.source, {"entries": [], "negatives": []})["entries"].append(entry_doc(r))
                if comments is not None and r.comment:
                    comments[("entry", r.id)] = r.comment
        for n in s.scalars(select(FaqNegativeRow).order_by(FaqNegativeRow.source, FaqNegativeRow.position)):
            negs = by_source.setdefault(n.source, {"entries": [], "negatives": []})["negatives"]
            negs.append(n.text)
            if comments is not None and n.comment:
                comments[("negative", n.source, len(negs))] = n.comment
        names = sorted(by_source)
        docs = []
        for name in names:
            d = by_source[name]
            docs.append((name, {k: v for k, v in d.items() if v}))
        return docs

    def _build(self, s: Session, rows: list[FaqEntryRow]) -> KnowledgeBase:
        docs = self._docs(s, rows)
        digest = hashlib.sha256(json.dumps(docs, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
        files = tuple(self.faq_dir / name for name, _ in docs)
        return build_kb(docs, files=files, content_hash=digest)

    def load(self) -> KnowledgeBase:
        """The live KB (what the engine serves); raises KbError when the database holds none."""
        with self.db.session() as s:
            rows = self._rows(s, live_only=True)
            if not rows:
                raise KbError(
                    [Problem("database", None, "the database holds no FAQ entries", "数据库里还没有知识库条目")]
                )
            return self._build(s, rows)

    def find(
        self, *, q: str | None = None, category: str | None = None, retired: bool | None = None
    ) -> list[EntryView]:
        key = dedup_key(q) if q and q.strip() else None
        with self.db.session() as s:
            out = []
            for r in self._rows(s):
                if category and r.category != category:
                    continue
                if retired is not None and (r.retired_at is not None) != retired:
                    continue
                if key and not any(key in dedup_key(t) for t in (r.id, r.question, r.answer, *(r.paraphrases or []))):
                    continue
                out.append(EntryView.of(r))
            return out

    def get(self, entry_id: str) -> EntryView:
        with self.db.session() as s:
            row = s.get(FaqEntryRow, entry_id)
            if row is None:
                raise not_found(entry_id)
            return EntryView.of(row)

    def versions(self, entry_id: str) -> list[VersionView]:
        with self.db.session() as s:
            if s.get(FaqEntryRow, entry_id) is None:
                raise not_found(entry_id)
            rows = s.scalars(
                select(FaqVersionRow).where(FaqVersionRow.entry_id == entry_id).order_by(FaqVersionRow.version.desc())
            )
            return [_version_view(v) for v in rows]

    def version(self, entry_id: str, version: int) -> VersionView:
        with self.db.session() as s:
            v = s.scalar(
                select(FaqVersionRow).where(FaqVersionRow.entry_id == entry_id, FaqVersionRow.version == version)
            )
            if v is None:
                if s.get(FaqEntryRow, entry_id) is None:
                    raise not_found(entry_id)
                raise StoreError(404, "faq_version_not_found", f"条目“{entry_id}”没有第 {version} 版")
            return _version_view(v)

    def compare(self, entry_id: str, a: int, b: int) -> list[dict[str, Any]]:
        """Diff of the entry as it was after version ``a`` and after version ``b``."""
        return diff_states(self.version(entry_id, a).after, self.version(entry_id, b).after)

    # --- writing -----------------------------------------------------------------------

    def _validated(self, s: Session, rows: list[FaqEntryRow], focus: FaqEntryRow) -> None:
        """Check the KB as it would be with ``focus`` changed; ``focus`` is checked last, so a
        wording it shares with another entry is reported on it, naming the other entry."""
        rest = [r for r in rows if r is not focus]
        docs = self._docs(s, rest)
        if focus.retired_at is None:
            docs.append((focus.source, {"entries": [entry_doc(focus)]}))
        try:
            build_kb(docs, files=(), content_hash="")
        except KbError as exc:
            raise StoreError(
                422, "faq_invalid", "；".join(p.zh or p.message for p in exc.problems), exc.problems
            ) from None

    def _record(self, s: Session, row: FaqEntryRow, action: str, actor: str, before, note: str | None = None) -> None:
        s.add(
            FaqVersionRow(
                entry_id=row.id,
                version=row.version,
                action=action,
                actor=actor,
                created_at=row.updated_at,
                before=before,
                after=snapshot(row),
                note=note,
            )
        )

    @staticmethod
    def _apply(row: FaqEntryRow, fields: dict[str, Any]) -> None:
        for f, v in fields.items():
            if f == "paraphrases":
                v = list(v) if isinstance(v, list) else v
            setattr(row, f, v)

    def _check_version(self, row: FaqEntryRow, expected: int | None) -> None:
        if expected is not None and expected != row.version:
            raise StoreError(
                409,
                "faq_version_conflict",
                f"这个条目已被 {row.updated_by} 改过（现在是第 {row.version} 版），请刷新后在最新内容上修改",
            )

    def _change(
        self,
        entry_id: str,
        actor: str,
        action: str,
        mutate,
        *,
        expected_version: int | None = None,
        note: str | None = None,
    ) -> EntryView:
        """Lock, apply ``mutate(row)``, validate the whole KB, record a version."""
        with self.db.session() as s:
            rev = self._lock(s)
            rows = self._rows(s)
            row = next((r for r in rows if r.id == entry_id), None)
            if row is None:
                raise not_found(entry_id)
            self._check_version(row, expected_version)
            before = snapshot(row)
            mutate(row)
            if snapshot(row) == before:
                raise StoreError(409, "faq_unchanged", "内容没有变化，无需保存")
            self._validated(s, rows, row)
            row.version += 1
            row.updated_at = utcnow()
            row.updated_by = actor
            self._record(s, row, action, actor, before, note)
            self._bump(s, rev)
            return EntryView.of(row)

    def create(self, data: dict[str, Any], actor: str) -> EntryView:
        entry_id = scalar_text(data.get("id")) or ""
        fields = _normalised(data)
        with self.db.session() as s:
            rev = self._lock(s)
            rows = self._rows(s)
            if any(r.id == entry_id for r in rows):
                existing = next(r for r in rows if r.id == entry_id)
                state = "已停用的" if existing.retired_at is not None else ""
                raise StoreError(
                    409,
                    "faq_entry_exists",
                    f"编号“{entry_id}”已被{state}条目“{existing.question}”使用，请换一个编号",
                    [Problem("database", entry_id, "duplicate id", f"编号“{entry_id}”已被使用", "id")],
                )
            if len(entry_id) > ENTRY_ID_MAX:
                raise StoreError(
                    422,
                    "faq_invalid",
                    f"编号最长 {ENTRY_ID_MAX} 个字符",
                    [Problem("database", entry_id[:40], "id too long", f"编号最长 {ENTRY_ID_MAX} 个字符", "id")],
                )
            source = self._source_for(s, rows, fields.get("category"))
            now = utcnow()
            row = FaqEntryRow(
                id=entry_id,
                source=source,
                position=max((r.position for r in rows if r.source == source), default=0) + 1,
                version=1,
                created_at=now,
                updated_at=now,
                updated_by=actor,
                retired_at=None,
            )
            self._apply(row, fields)
            self._validated(s, rows, row)
            s.add(row)
            s.flush()
            self._record(s, row, "create", actor, None, data.get("note"))
            self._bump(s, rev)
            return EntryView.of(row)

    def _source_for(self, s: Session, rows: list[FaqEntryRow], category: str | None) -> str:
        """The YAML file a new entry is exported to: ``<category>.yml`` (created when missing)."""
        name = f"{category or 'general'}.yml"
        if s.get(FaqSourceRow, name) is None:
            s.add(FaqSourceRow(name=name, position=max(self._source_order(s).values(), default=0) + 1, header=""))
            s.flush()
        return name

    def update(
        self, entry_id: str, data: dict[str, Any], actor: str, *, expected_version: int | None = None
    ) -> EntryView:
        fields = _normalised(data)
        return self._change(
            entry_id, actor, "edit", lambda row: self._apply(row, fields), expected_version=expected_version
        )

    def add_wording(self, entry_id: str, text: str, actor: str, *, note: str | None = None) -> EntryView:
        clean = scalar_text(text) or ""
        if not clean:
            raise StoreError(
                422,
                "faq_invalid",
                "问法不能为空",
                [Problem("database", entry_id, "empty wording", "问法不能为空", "paraphrases")],
            )

        def mutate(row: FaqEntryRow) -> None:
            key = dedup_key(clean)
            if any(dedup_key(t) == key for t in (row.question, *(row.paraphrases or []))):
                raise StoreError(409, "faq_wording_exists", f"条目里已经有“{clean}”这个问法")
            row.paraphrases = [*(row.paraphrases or []), clean]

        return self._change(entry_id, actor, "add_wording", mutate, note=note)

    def remove_wording(self, entry_id: str, n: int, actor: str, *, expected_text: str | None = None) -> EntryView:
        """Remove the ``n``-th paraphrase (1-based; the question itself is edited, not removed).

        ``expected_text`` guards against a stale page: when the n-th wording is no longer that
        text, nothing is removed (409)."""

        def mutate(row: FaqEntryRow) -> None:
            pars = list(row.paraphrases or [])
            if not 1 <= n <= len(pars):
                raise StoreError(404, "faq_wording_not_found", f"条目“{entry_id}”没有第 {n} 条问法")
            if expected_text is not None and pars[n - 1] != expected_text:
                raise StoreError(409, "faq_version_conflict", "问法列表已经变了，请刷新后再删除")
            del pars[n - 1]
            row.paraphrases = pars

        return self._change(entry_id, actor, "remove_wording", mutate)

    def retire(self, entry_id: str, actor: str, *, expected_version: int | None = None) -> EntryView:
        def mutate(row: FaqEntryRow) -> None:
            if row.retired_at is not None:
                raise StoreError(409, "faq_already_retired", "这个条目已经停用了")
            row.retired_at = utcnow()

        return self._change(entry_id, actor, "retire", mutate, expected_version=expected_version)

    def revert(self, entry_id: str, version: int, actor: str, *, expected_version: int | None = None) -> EntryView:
        """Make the entry what it was after ``version`` (retired or not); itself a new version."""
        target = self.version(entry_id, version).after
        if target is None:
            raise StoreError(409, "faq_version_empty", f"第 {version} 版没有内容可恢复")

        def mutate(row: FaqEntryRow) -> None:
            self._apply(row, _normalised(target))
            if target.get("retired"):
                row.retired_at = row.retired_at or utcnow()
            else:
                row.retired_at = None

        return self._change(
            entry_id, actor, "revert", mutate, expected_version=expected_version, note=f"恢复到第 {version} 版"
        )

    # --- seed, import, export ---------------------------------------------------------

    def ensure_seeded(self) -> bool:
        """Seed an empty database from ``faq_dir`` (first start). True when this call seeded it.

        Several instances starting together are serialised by the KB lock: one seeds, the
        others find it seeded. A database seeded before from YAML that has changed since is
        left alone (staff edits win); the log says to run ``posbot faq import``.
        """
        with self.db.session() as s:
            rev = self._lock(s)
            if rev.seeded_at is not None:
                if rev.seed_hash and kb_files(self.faq_dir):
                    try:
                        current = semantic_hash(load_kb(self.faq_dir))
                    except KbError:
                        current = None
                    if current and current != rev.seed_hash:
                        log.warning(
                            "data/faq differs from the YAML the database was seeded or imported from; the database "
                            "stays the live knowledge base (posbot faq import %s to take the files)",
                            self.faq_dir,
                        )
                return False
        self.import_dir(self.faq_dir, SEED_ACTOR, action="seed")
        return True

    def import_dir(self, directory: Path | str, actor: str, *, action: str = "import") -> dict[str, int]:
        """Make the database's live KB exactly the YAML in ``directory``: all or nothing.

        Entries new or different become a version (``action``, by ``actor``), entries missing
        from the files are retired, negatives and file headers replaced. Returns counts.
        """
        directory = Path(directory)
        kb = load_kb(directory)  # KbError: nothing is written
        sources = _read_sources(directory)
        headers = sources.headers
        wanted = {e.id: e for e in kb.entries}
        counts = {"created": 0, "updated": 0, "retired": 0, "unchanged": 0}
        with self.db.session() as s:
            rev = self._lock(s)
            existing = {r.id: r for r in self._rows(s)}
            now = utcnow()
            old_neg = [
                (n.source, n.position, n.text, n.comment)
                for n in s.scalars(select(FaqNegativeRow).order_by(FaqNegativeRow.source, FaqNegativeRow.position))
            ]
            new_neg = [
                (src, pos, text, comment)
                for src, items in sources.negatives.items()
                for pos, (text, comment) in enumerate(items, 1)
            ]
            old_src = {(r.name, r.position, r.header) for r in s.scalars(select(FaqSourceRow))}
            new_src = {(name, pos, headers[name]) for pos, name in enumerate(headers, 1)}
            changed = old_neg != sorted(new_neg) or old_src != new_src
            if old_src != new_src:
                s.execute(delete(FaqSourceRow))
                s.add_all(FaqSourceRow(name=n, position=p, header=h) for n, p, h in new_src)
            if old_neg != sorted(new_neg):
                s.execute(delete(FaqNegativeRow))
                s.add_all(FaqNegativeRow(source=src, position=pos, text=t, comment=c) for src, pos, t, c in new_neg)
            positions: dict[str, int] = {}
            for e in kb.entries:
                src = Path(e.source_file).name
                positions[src] = positions.get(src, 0) + 1
                fields = {
                    "category": e.category,
                    "subcategory": e.subcategory,
                    "question": e.question,
                    "paraphrases": list(e.paraphrases),
                    "answer": e.answer,
                    "escalate": e.escalate,
                    "provider_specific": bool(e.provider_specific),
                }
                row = existing.get(e.id)
                comment = sources.comments.get(e.id)
                if row is not None and row.comment != comment:
                    row.comment = comment
                    changed = True
                if row is None:
                    row = FaqEntryRow(
                        id=e.id,
                        source=src,
                        position=positions[src],
                        version=1,
                        created_at=now,
                        updated_at=now,
                        updated_by=actor,
                        retired_at=None,
                        comment=comment,
                    )
                    self._apply(row, fields)
                    s.add(row)
                    s.flush()
                    self._record(s, row, action, actor, None)
                    counts["created"] += 1
                    changed = True
                    continue
                if (row.source, row.position) != (src, positions[src]):
                    row.source, row.position = src, positions[src]
                    changed = True
                before = snapshot(row)
                self._apply(row, fields)
                row.retired_at = None
                if snapshot(row) == before:
                    counts["unchanged"] += 1
                    continue
                row.version += 1
                row.updated_at, row.updated_by = now, actor
                self._record(s, row, action, actor, before)
                counts["updated"] += 1
                changed = True
            for row in existing.values():
                if row.id not in wanted and row.retired_at is None:
                    before = snapshot(row)
                    row.retired_at = now
                    row.version += 1
                    row.updated_at, row.updated_by = now, actor
                    self._record(s, row, action, actor, before, "导入的文件里没有这个条目")
                    counts["retired"] += 1
                    changed = True
            if changed or rev.seeded_at is None:
                self._bump(s, rev)
            rev.seeded_at = rev.seeded_at or now
            rev.seed_hash = semantic_hash(kb)
        log.info("FAQ import from %s by %s: %s", directory, actor, counts)
        return counts

    def export_dir(self, directory: Path | str) -> list[Path]:
        """Write the live KB as YAML files (one per source, with its header) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with self.db.session() as s:
            comments: dict = {}
            docs = self._docs(s, self._rows(s, live_only=True), comments)
            headers = {r.name: r.header for r in s.scalars(select(FaqSourceRow))}
        written = []
        for name, doc in docs:
            path = directory / name
            above = {k[1]: v for k, v in comments.items() if k[0] == "entry"}
            neg_above = {k[2]: v for k, v in comments.items() if k[0] == "negative" and k[1] == name}
            path.write_text(dump_kb_file(doc, headers.get(name, ""), above, neg_above), encoding="utf-8")
            written.append(path)
        return written

    def counts(self) -> dict[str, int]:
        with self.db.session() as s:
            live = s.scalar(select(func.count()).select_from(FaqEntryRow).where(FaqEntryRow.retired_at.is_(None)))
            total = s.scalar(select(func.count()).select_from(FaqEntryRow))
            return {"entries": int(live or 0), "retired": int((total or 0) - (live or 0))}


_ENTRY_LINE = re.compile(r"^\s*-\s+id:\s*(.+?)\s*$")
_ITEM_LINE = re.compile(r"^(\s*)-\s")


@dataclass
class _Sources:
    """What of a KB directory the parsed KB does not carry: file headers, negatives per file, comments."""

    headers: dict[str, str]
    negatives: dict[str, list[tuple[str, str | None]]]  # file -> [(text, comment above it)]
    comments: dict[str, str]  # entry id -> the '#' lines above it


def _read_sources(directory: Path) -> _Sources:
    """Each KB file's leading comment block, its negatives, and the comment lines above its items."""
    out = _Sources({}, {}, {})
    for path in kb_files(directory):
        raw = path.read_text(encoding="utf-8")
        lines = raw.splitlines()
        lead = []
        for line in lines:
            if not line.startswith("#"):
                break
            lead.append(line)
        out.headers[path.name] = "\n".join(lead)
        # comments above items: an entry's '- id:' line, or a negative's '- ' line at the list's indent
        above: dict[int, str] = {}  # position of the negative -> comment
        pending: list[str] = []
        section, neg_indent, neg_pos = None, None, 0
        for line in lines[len(lead) :]:
            stripped = line.strip()
            if stripped.startswith("#"):
                pending.append(line)
                continue
            if not line.startswith((" ", "-")) and stripped.endswith(":"):
                section = stripped[:-1]
                pending = []
                continue
            if section == "entries" and (m := _ENTRY_LINE.match(line)):
                if pending:
                    out.comments[str(yaml.safe_load(m.group(1)))] = "\n".join(pending)
                pending = []
            elif section == "negatives" and (m := _ITEM_LINE.match(line)):
                neg_indent = len(m.group(1)) if neg_indent is None else neg_indent
                if len(m.group(1)) == neg_indent:
                    neg_pos += 1
                    if pending:
                        above[neg_pos] = "\n".join(pending)
                pending = []
            elif stripped:
                pending = []
        doc = yaml.safe_load(raw) or {}
        items = [(scalar_text(x), above.get(pos)) for pos, x in enumerate(doc.get("negatives") or [], start=1)]
        if items:
            out.negatives[path.name] = [(t, c) for t, c in items if t]
    return out


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


# --- YAML writing in the seed's style --------------------------------------------------


def _scalar(value: str) -> str | None:
    """``value`` as a one-line YAML scalar (quoted when YAML needs it), or None when it needs a block."""
    out = yaml.safe_dump(value, allow_unicode=True, width=1 << 30, default_flow_style=False)
    if out.endswith("\n...\n"):
        out = out[: -len("\n...\n")]
    out = out.rstrip("\n")
    return None if "\n" in out else out


def _literal(value: str, indent: str) -> str:
    return "|\n" + "\n".join((indent + line) if line else "" for line in value.split("\n")) + "\n"


def _field(key: str, value, indent: str) -> str:
    if isinstance(value, bool):
        return f"{indent}{key}: {'true' if value else 'false'}\n"
    if isinstance(value, list):
        if not value:
            return f"{indent}{key}: []\n"
        items = "".join(f"{indent}  - {_scalar(v) or json.dumps(v, ensure_ascii=False)}\n" for v in value)
        return f"{indent}{key}:\n{items}"
    one = _scalar(value) if "\n" not in value else None
    if one is not None:
        return f"{indent}{key}: {one}\n"
    return f"{indent}{key}: {_literal(value, indent + '  ')}"


def dump_kb_file(doc: dict, header: str = "", comments: dict | None = None, neg_comments: dict | None = None) -> str:
    """One KB file: header comment, ``entries:`` (blank line between entries), ``negatives:``.

    Checked by parsing it back: whatever this hand-made layout cannot carry exactly is written
    by yaml.safe_dump instead, so an export never changes a character of the KB.
    """
    parts = [header + "\n"] if header else []
    if doc.get("entries"):
        blocks = []
        for e in doc["entries"]:
            lines = "".join(_field(k, e[k], "    ") for k in FIELDS if k in e)
            above = (comments or {}).get(e["id"])
            blocks.append((above + "\n" if above else "") + "  - " + lines[4:])
        parts.append("entries:\n" + "\n".join(blocks))
    if doc.get("negatives"):
        if doc.get("entries"):
            parts.append("\n")
        items = []
        for pos, t in enumerate(doc["negatives"], start=1):
            above = (neg_comments or {}).get(pos)
            items.append((above + "\n" if above else "") + f"  - {_scalar(t) or json.dumps(t, ensure_ascii=False)}\n")
        parts.append("negatives:\n" + "".join(items))
    text = "".join(parts)
    if _reparsed(text) != _expected(doc):
        body = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=1 << 30)
        text = (header + "\n" if header else "") + body
    return text


def _expected(doc: dict) -> dict:
    out: dict = {}
    if doc.get("entries"):
        out["entries"] = [{k: (v.strip() if isinstance(v, str) else v) for k, v in e.items()} for e in doc["entries"]]
    if doc.get("negatives"):
        out["negatives"] = list(doc["negatives"])
    return out


def _reparsed(text: str) -> dict:
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return {"unparsable": True}
    return _expected(doc)


class DbSource:
    """The engine's KB source when the database is live: the revision is the fingerprint."""

    kind = "db"

    def __init__(self, store: KbStore):
        self.store = store

    def fingerprint(self):
        return self.store.revision()

    def load(self) -> KnowledgeBase:
        return self.store.load()


__all__ = [
    "ACTION_LABELS",
    "CATEGORY_LABELS",
    "DbSource",
    "ESCALATION_LABELS",
    "EntryView",
    "FIELD_LABELS",
    "KbStore",
    "StoreError",
    "VersionView",
    "diff_states",
    "dump_kb_file",
]

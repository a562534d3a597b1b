"""The live knowledge base in the database: read, edit, version, revert.

The database is the FAQ's source while the app runs (``POSBOT_FAQ_SOURCE=db``, the default);
``data/faq/*.yml`` is the seed of a new database and the export/import format
(``posbot faq export|import DIR``, ``bot.faq.sync``). Every write:

1. takes the KB write lock (``bot.faq.tables.lock``), so two staff saving at once are serialised;
2. builds the whole KB as it would be after the change through ``bot.faq.loader.build_kb``, the
   YAML loader's own validation (duplicate wordings across entries, empty answers, bad ids,
   too few paraphrases ...), and refuses the change with every problem when it is invalid;
3. writes the entry, one ``faq_versions`` row (who, when, before, after; ``bot.faq.versions``)
   and bumps the revision, in one transaction.

Each app instance's ``FaqEngine`` polls the revision (``DbSource.fingerprint``) and swaps in
a new index when it moved, reusing the vectors of every unchanged wording.

A retired entry is never answered but stays, with its history, and can be restored by a
revert. An export writes the live entries only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.core.db import Database, utcnow
from bot.faq import sync
from bot.faq.kb import KbError, KnowledgeBase, Problem, dedup_key
from bot.faq.loader import build_kb, scalar_text
from bot.faq.models import ENTRY_ID_MAX, FaqEntryRow, FaqRevisionRow, FaqSourceRow, FaqVersionRow
from bot.faq.tables import apply_fields, bump, entry_rows, lock, source_docs
from bot.faq.versions import EntryView, VersionView, diff_states, record_version, snapshot, version_view
from bot.faq.yaml_format import FIELDS, entry_doc

EDITABLE = FIELDS[1:]


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


class KbStore:
    """The knowledge base in ``db``; ``faq_dir`` is where the seed (and the calibration) lives."""

    def __init__(self, db: Database, faq_dir: Path | str):
        self.db = db
        self.faq_dir = Path(faq_dir)

    # --- reading -----------------------------------------------------------------------

    def revision(self) -> int | None:
        """The KB revision: grows with every change (None: never seeded)."""
        with self.db.session() as s:
            row = s.get(FaqRevisionRow, 1)
            return None if row is None or row.seeded_at is None else row.revision

    def _build(self, s: Session, rows: list[FaqEntryRow]) -> KnowledgeBase:
        docs = source_docs(s, rows)
        digest = hashlib.sha256(json.dumps(docs, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
        files = tuple(self.faq_dir / name for name, _ in docs)
        return build_kb(docs, files=files, content_hash=digest)

    def load(self) -> KnowledgeBase:
        """The live KB (what the engine serves); raises KbError when the database holds none."""
        with self.db.session() as s:
            rows = entry_rows(s, live_only=True)
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
            for r in entry_rows(s):
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
            return [version_view(v) for v in rows]

    def version(self, entry_id: str, version: int) -> VersionView:
        with self.db.session() as s:
            v = s.scalar(
                select(FaqVersionRow).where(FaqVersionRow.entry_id == entry_id, FaqVersionRow.version == version)
            )
            if v is None:
                if s.get(FaqEntryRow, entry_id) is None:
                    raise not_found(entry_id)
                raise StoreError(404, "faq_version_not_found", f"条目“{entry_id}”没有第 {version} 版")
            return version_view(v)

    def compare(self, entry_id: str, a: int, b: int) -> list[dict[str, Any]]:
        """Diff of the entry as it was after version ``a`` and after version ``b``."""
        return diff_states(self.version(entry_id, a).after, self.version(entry_id, b).after)

    # --- writing -----------------------------------------------------------------------

    def _validated(self, s: Session, rows: list[FaqEntryRow], focus: FaqEntryRow) -> None:
        """Check the KB as it would be with ``focus`` changed; ``focus`` is checked last, so a
        wording it shares with another entry is reported on it, naming the other entry."""
        rest = [r for r in rows if r is not focus]
        docs = source_docs(s, rest)
        if focus.retired_at is None:
            docs.append((focus.source, {"entries": [entry_doc(focus)]}))
        try:
            build_kb(docs, files=(), content_hash="")
        except KbError as exc:
            raise StoreError(
                422, "faq_invalid", "；".join(p.zh or p.message for p in exc.problems), exc.problems
            ) from None

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
            rev = lock(s)
            rows = entry_rows(s)
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
            record_version(s, row, action, actor, before, note)
            bump(rev)
            return EntryView.of(row)

    def create(self, data: dict[str, Any], actor: str) -> EntryView:
        entry_id = scalar_text(data.get("id")) or ""
        fields = _normalised(data)
        with self.db.session() as s:
            rev = lock(s)
            rows = entry_rows(s)
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
            apply_fields(row, fields)
            self._validated(s, rows, row)
            s.add(row)
            s.flush()
            record_version(s, row, "create", actor, None, data.get("note"))
            bump(rev)
            return EntryView.of(row)

    def _source_order(self, s: Session) -> dict[str, int]:
        return {r.name: r.position for r in s.scalars(select(FaqSourceRow))}

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
            entry_id, actor, "edit", lambda row: apply_fields(row, fields), expected_version=expected_version
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
            apply_fields(row, _normalised(target))
            if target.get("retired"):
                row.retired_at = row.retired_at or utcnow()
            else:
                row.retired_at = None

        return self._change(
            entry_id, actor, "revert", mutate, expected_version=expected_version, note=f"恢复到第 {version} 版"
        )

    # --- seed, import, export ---------------------------------------------------------

    def ensure_seeded(self) -> bool:
        """Seed an empty database from ``faq_dir`` (first start); True when this call seeded it."""
        return sync.ensure_seeded(self.db, self.faq_dir)

    def import_dir(self, directory: Path | str, actor: str, *, action: str = "import") -> dict[str, int]:
        """Make the live KB exactly the YAML in ``directory``, all or nothing (``bot.faq.sync``)."""
        return sync.import_dir(self.db, directory, actor, action=action)

    def export_dir(self, directory: Path | str) -> list[Path]:
        """Write the live KB as YAML files into ``directory`` (``bot.faq.sync``)."""
        return sync.export_dir(self.db, directory)

    def counts(self) -> dict[str, int]:
        with self.db.session() as s:
            live = s.scalar(select(func.count()).select_from(FaqEntryRow).where(FaqEntryRow.retired_at.is_(None)))
            total = s.scalar(select(func.count()).select_from(FaqEntryRow))
            return {"entries": int(live or 0), "retired": int((total or 0) - (live or 0))}


class DbSource:
    """The engine's KB source when the database is live: the revision is the fingerprint."""

    kind = "db"

    def __init__(self, store: KbStore):
        self.store = store

    def fingerprint(self):
        return self.store.revision()

    def load(self) -> KnowledgeBase:
        return self.store.load()

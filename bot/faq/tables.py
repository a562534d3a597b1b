"""The live KB's tables (``bot/faq/models.py``) inside one transaction: the write lock, the rows.

Every write to the KB first takes the write lock (``lock``: an UPDATE of the single
``faq_revision`` row, a row lock on PostgreSQL and the write lock on SQLite), so two staff
saving at once, or an import during an edit, are serialised; it ends with ``bump``, which
moves the revision every app instance polls. ``source_docs`` gives the live entries and the
negatives as the YAML documents of their files, in the order the YAML loader reads them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.core.db import rowcount, utcnow
from bot.faq.models import FaqEntryRow, FaqNegativeRow, FaqRevisionRow
from bot.faq.yaml_format import entry_doc


def lock(s: Session) -> FaqRevisionRow:
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


def bump(rev: FaqRevisionRow) -> None:
    """Move the KB revision: every app instance reloads."""
    rev.revision = (rev.revision or 0) + 1
    rev.updated_at = utcnow()


def entry_rows(s: Session, *, live_only: bool = False) -> list[FaqEntryRow]:
    """The entries (``live_only``: not retired) in file and position order."""
    q = select(FaqEntryRow).order_by(FaqEntryRow.source, FaqEntryRow.position, FaqEntryRow.id)
    if live_only:
        q = q.where(FaqEntryRow.retired_at.is_(None))
    return list(s.scalars(q))


def source_docs(s: Session, rows: list[FaqEntryRow], comments: dict | None = None) -> list[tuple[str, dict]]:
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


def apply_fields(row: FaqEntryRow, fields: dict[str, Any]) -> None:
    """Set an entry's fields (a copy of the paraphrase list, not the caller's)."""
    for f, v in fields.items():
        if f == "paraphrases":
            v = list(v) if isinstance(v, list) else v
        setattr(row, f, v)

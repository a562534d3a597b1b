"""Seeding, import and export: the database's KB and a directory of KB YAML files.

``data/faq/*.yml`` is the seed of a new database (``ensure_seeded``, at the app's start) and
the export/import format (``posbot faq export|import DIR``). An import makes the database's
live KB exactly the directory's, all or nothing, each changed entry a new version; an export
writes the live entries only, so that exporting an imported directory gives its files back
byte for byte (``bot.faq.yaml_format``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import delete, select

from bot.core.db import Database, utcnow
from bot.faq.kb import KbError, semantic_hash
from bot.faq.loader import kb_files, load_kb
from bot.faq.models import FaqEntryRow, FaqNegativeRow, FaqSourceRow
from bot.faq.tables import apply_fields, bump, entry_rows, lock, source_docs
from bot.faq.versions import record_version, snapshot
from bot.faq.yaml_format import dump_kb_file, read_sources

log = logging.getLogger(__name__)

SEED_ACTOR = "seed"


def ensure_seeded(db: Database, faq_dir: Path) -> bool:
    """Seed an empty database from ``faq_dir`` (first start). True when this call seeded it.

    Several instances starting together are serialised by the KB lock: one seeds, the
    others find it seeded. A database seeded before from YAML that has changed since is
    left alone (staff edits win); the log says to run ``posbot faq import``.
    """
    with db.session() as s:
        rev = lock(s)
        if rev.seeded_at is not None:
            if rev.seed_hash and kb_files(faq_dir):
                try:
                    current = semantic_hash(load_kb(faq_dir))
                except KbError:
                    current = None
                if current and current != rev.seed_hash:
                    log.warning(
                        "data/faq differs from the YAML the database was seeded or imported from; the database "
                        "stays the live knowledge base (posbot faq import %s to take the files)",
                        faq_dir,
                    )
            return False
    import_dir(db, faq_dir, SEED_ACTOR, action="seed")
    return True


def import_dir(db: Database, directory: Path | str, actor: str, *, action: str = "import") -> dict[str, int]:
    """Make the database's live KB exactly the YAML in ``directory``: all or nothing.

    Entries new or different become a version (``action``, by ``actor``), entries missing
    from the files are retired, negatives and file headers replaced. Returns counts.
    """
    directory = Path(directory)
    kb = load_kb(directory)  # KbError: nothing is written
    sources = read_sources(directory)
    headers = sources.headers
    wanted = {e.id: e for e in kb.entries}
    counts = {"created": 0, "updated": 0, "retired": 0, "unchanged": 0}
    with db.session() as s:
        rev = lock(s)
        existing = {r.id: r for r in entry_rows(s)}
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
                apply_fields(row, fields)
                s.add(row)
                s.flush()
                record_version(s, row, action, actor, None)
                counts["created"] += 1
                changed = True
                continue
            if (row.source, row.position) != (src, positions[src]):
                row.source, row.position = src, positions[src]
                changed = True
            before = snapshot(row)
            apply_fields(row, fields)
            row.retired_at = None
            if snapshot(row) == before:
                counts["unchanged"] += 1
                continue
            row.version += 1
            row.updated_at, row.updated_by = now, actor
            record_version(s, row, action, actor, before)
            counts["updated"] += 1
            changed = True
        for row in existing.values():
            if row.id not in wanted and row.retired_at is None:
                before = snapshot(row)
                row.retired_at = now
                row.version += 1
                row.updated_at, row.updated_by = now, actor
                record_version(s, row, action, actor, before, "导入的文件里没有这个条目")
                counts["retired"] += 1
                changed = True
        if changed or rev.seeded_at is None:
            bump(rev)
        rev.seeded_at = rev.seeded_at or now
        rev.seed_hash = semantic_hash(kb)
    log.info("FAQ import from %s by %s: %s", directory, actor, counts)
    return counts


def export_dir(db: Database, directory: Path | str) -> list[Path]:
    """Write the live KB as YAML files (one per source, with its header) into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with db.session() as s:
        comments: dict = {}
        docs = source_docs(s, entry_rows(s, live_only=True), comments)
        headers = {r.name: r.header for r in s.scalars(select(FaqSourceRow))}
    written = []
    for name, doc in docs:
        path = directory / name
        above = {k[1]: v for k, v in comments.items() if k[0] == "entry"}
        neg_above = {k[2]: v for k, v in comments.items() if k[0] == "negative" and k[1] == name}
        path.write_text(dump_kb_file(doc, headers.get(name, ""), above, neg_above), encoding="utf-8")
        written.append(path)
    return written

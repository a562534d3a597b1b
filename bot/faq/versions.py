"""An entry's history: what a version records, the staff page's views of entries and versions, diffs.

Every change of an entry is one ``faq_versions`` row: who, when, the action, and the entry's
state before and after (``snapshot``: its YAML item and whether it is retired).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from bot.faq.models import FaqEntryRow, FaqVersionRow
from bot.faq.yaml_format import FIELDS, entry_doc

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


def snapshot(row: FaqEntryRow) -> dict[str, Any]:
    """What a version stores of an entry: its YAML item and whether it is retired."""
    return {**entry_doc(row), "retired": row.retired_at is not None}


class EntryView(BaseModel):
    """An entry for the staff page: its fields, state and version.

    A pydantic model so that the HTTP API returns these very fields (``bot.api.kb.EntryOut``)."""

    model_config = ConfigDict(frozen=True)

    id: str
    category: str
    subcategory: str | None
    question: str
    paraphrases: list[str]
    answer: str
    escalate: str | None
    provider_specific: bool
    source: str = Field(description="The YAML file an export writes it to.")
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


def version_view(v: FaqVersionRow) -> VersionView:
    return VersionView(v.entry_id, v.version, v.action, v.actor, v.created_at, v.before, v.after, v.note)


def record_version(s: Session, row: FaqEntryRow, action: str, actor: str, before, note: str | None = None) -> None:
    """Add the version ``row`` is now at: ``before`` (None for a new entry) and its state now."""
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

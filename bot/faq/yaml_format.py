"""The ``data/faq`` YAML file format, written and read back losslessly.

``posbot faq export`` must reproduce the seed files byte for byte, so what the parsed KB does
not carry is kept too: each file's leading comment block, the comment lines above an entry or
a negative, and the negatives per file (``read_sources``). ``dump_kb_file`` writes a file in
the seed's hand-made layout and checks it by parsing it back.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.faq.loader import kb_files, scalar_text
from bot.faq.models import FaqEntryRow

# The fields of an entry as the YAML writes them, in that order.
FIELDS = ("id", "category", "subcategory", "question", "paraphrases", "answer", "escalate", "provider_specific")


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


_ENTRY_LINE = re.compile(r"^\s*-\s+id:\s*(.+?)\s*$")
_ITEM_LINE = re.compile(r"^(\s*)-\s")


@dataclass
class Sources:
    """What of a KB directory the parsed KB does not carry: file headers, negatives per file, comments."""

    headers: dict[str, str]
    negatives: dict[str, list[tuple[str, str | None]]]  # file -> [(text, comment above it)]
    comments: dict[str, str]  # entry id -> the '#' lines above it


def read_sources(directory: Path) -> Sources:
    """Each KB file's leading comment block, its negatives, and the comment lines above its items."""
    out = Sources({}, {}, {})
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

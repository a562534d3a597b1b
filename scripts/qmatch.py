"""Public Chinese question-matching data (BQ, LCQMC) as an FAQ benchmark (``scripts/bench_faq.py``).

Pairs labelled 1 are joined into clusters of one question; each cluster becomes an entry
(its first sentence indexed), the other sentences are its queries, and sentences only ever
labelled 0 are hard negatives that are never the right answer.
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

from bot.faq.engine import FaqEngine
from bot.faq.kb import Entry, KnowledgeBase, index_hash
from bot.faq.metrics import Metrics, compute_metrics, spearman


def qmatch_dir(repo_root: Path | None = None) -> Path:
    """``<repo>/../shared/data/qmatch``, or $POSBOT_QMATCH_DIR."""
    env = os.environ.get("POSBOT_QMATCH_DIR")
    if env:
        return Path(env)
    root = repo_root or Path(__file__).resolve().parents[1]
    return root.parent / "shared" / "data" / "qmatch"


def read_pairs(path: Path) -> list[tuple[str, str, int]]:
    """BQ (CSV with header) or LCQMC (TSV without header) pairs."""
    pairs = []
    with open(path, encoding="utf-8-sig", newline="") as f:  # BQ starts with a BOM
        if path.suffix == ".csv":
            for row in csv.DictReader(f):
                pairs.append((row["sentence1"].strip(), row["sentence2"].strip(), int(row["label"])))
        else:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 3 and parts[2].strip() in ("0", "1"):
                    pairs.append((parts[0].strip(), parts[1].strip(), int(parts[2])))
    return pairs


def faq_clusters(pairs: list[tuple[str, str, int]]) -> tuple[list[list[str]], list[str]]:
    """Connected components of the label-1 graph (sorted members), plus label-0-only sentences."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, y in pairs:
        if y == 1 and a and b and a != b:
            parent[find(a)] = find(b)
    comps: dict[str, list[str]] = {}
    for x in list(parent):
        comps.setdefault(find(x), []).append(x)
    clusters = [sorted(c) for c in comps.values() if len(c) >= 2]
    clusters.sort(key=lambda c: c[0])
    in_cluster = set(parent)
    negatives = sorted({s for a, b, y in pairs if y == 0 for s in (a, b) if s and s not in in_cluster})
    return clusters, negatives


def qmatch_retrieval(encoder, pairs, name: str, max_clusters: int | None = None) -> list[Metrics]:
    """FAQ-style retrieval: one question per cluster indexed, the others are queries."""
    clusters, negatives = faq_clusters(pairs)
    if max_clusters:
        clusters = clusters[:max_clusters]
    entries = []
    for i, c in enumerate(clusters):
        entries.append(_bare_entry(f"c{i}", c[0]))
    for j, s in enumerate(negatives):  # hard negatives: never the right answer, but close
        entries.append(_bare_entry(f"n{j}", s))
    kb = KnowledgeBase(tuple(entries), "qmatch", index_hash(entries), ())
    engine = FaqEngine.from_kb(kb, encoder, progress=True)
    queries = [(q, i) for i, c in enumerate(clusters) for q in c[1:]]
    out = []
    for mode, label in (("fused", "ours (fused)"), ("dense", "dense only"), ("lexical", "BM25 only")):
        ranked, lat = [], []
        for q, _ in queries:
            t = time.perf_counter()
            r = engine.rank(q, 10, mode=mode)
            lat.append((time.perf_counter() - t) * 1000.0)
            ranked.append([int(x) for x in r.entry_idx])
        m = compute_metrics(
            f"{name}: {label}",
            ranked,
            ["suggest"] * len(queries),
            [i for _, i in queries],
            lat,
            note=f"{len(clusters)} clusters + {len(negatives)} negatives, {len(queries)} queries",
        )
        out.append(m)
    return out


def qmatch_sts(encoder, pairs) -> float:
    """Spearman x100 of embedding cosine vs the 0/1 label."""
    a = encoder.encode([p[0] for p in pairs])
    b = encoder.encode([p[1] for p in pairs])
    cos = (a * b).sum(axis=1)
    return 100.0 * spearman(cos, [p[2] for p in pairs])


def _bare_entry(eid: str, text: str) -> Entry:
    return Entry(eid, "general", None, text, (), "", None, "qmatch")

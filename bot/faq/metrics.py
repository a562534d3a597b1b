"""Metrics of FAQ retrieval and decisions, the rank statistics they use, and their tables.

Over in-scope questions unless stated:
``top1``/``top3``  expected entry ranked first / in the first three (ignoring thresholds);
``top1@thr``      ranked first *and* not rejected as out of scope (what a user gets);
``mrr``           mean reciprocal rank within the first 10;
``ans_prec``      of the ``answer`` decisions (in- and out-of-scope questions), the share
                  that answered the expected entry;
``oos_p``/``oos_r`` precision/recall of ``none`` as a detector of out-of-scope questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from bot.faq.scoring import Thresholds

# An expected answer is an entry index, a set of entry indices (real questions: any of them is
# right; empty: in scope but no entry answers it) or None (out of scope).
Expected = int | frozenset | None


def is_right(best: int, expected: Expected) -> bool:
    if expected is None:
        return False
    if isinstance(expected, (frozenset, set, tuple)):
        return int(best) in expected
    return int(best) == expected


def first_rank(ranked: list[int], expected: Expected) -> int | None:
    if expected is None:
        return None
    wanted = expected if isinstance(expected, (frozenset, set, tuple)) else (expected,)
    ranks = [ranked.index(e) + 1 for e in wanted if e in ranked]
    return min(ranks) if ranks else None


@dataclass
class Metrics:
    system: str
    n_in: int
    n_oos: int
    top1: float
    top3: float
    mrr: float
    top1_thr: float
    ans_prec: float
    ans_rate: float
    oos_p: float
    oos_r: float
    p50_ms: float | None = None
    p95_ms: float | None = None
    note: str = ""

    def row(self) -> dict:
        return asdict(self)


def decisions_from_scores(scores: np.ndarray, th: Thresholds, gaps: Sequence[float | None] | None = None) -> list[str]:
    """Decision per query from a (n_queries, n_entries) score matrix (and each query's ``neg_gap``)."""
    out = []
    for i, row in enumerate(scores):
        if row.size == 0:
            out.append("none")
            continue
        top2 = np.partition(-row, min(1, row.size - 1))[:2] * -1
        top = float(top2.max())
        second = float(top2.min()) if row.size > 1 else 0.0
        out.append(th.decide(top, second, None if gaps is None else gaps[i]))
    return out


def compute_metrics(
    system: str,
    ranked: list[list[int]],
    decisions: list[str],
    expected: Sequence[Expected],
    latencies_ms: list[float] | None = None,
    note: str = "",
) -> Metrics:
    """Metrics from ranked entry indices (best first), decisions and expected indices (None = OOS)."""
    ins = [i for i, e in enumerate(expected) if e is not None]
    oos = [i for i, e in enumerate(expected) if e is None]

    rank_of = {i: first_rank(ranked[i], expected[i]) for i in ins}
    top1 = sum(1 for i in ins if rank_of[i] == 1)
    top3 = sum(1 for i in ins if (rank_of[i] or 99) <= 3)
    mrr = sum(1.0 / r for i in ins if (r := rank_of[i]) and r <= 10)
    top1_thr = sum(1 for i in ins if rank_of[i] == 1 and decisions[i] != "none")
    answered = [i for i in range(len(expected)) if decisions[i] == "answer"]
    ans_ok = sum(1 for i in answered if ranked[i] and is_right(ranked[i][0], expected[i]))
    pred_none = [i for i in range(len(expected)) if decisions[i] == "none"]
    tp = sum(1 for i in pred_none if expected[i] is None)
    p50 = p95 = None
    if latencies_ms:
        p50 = float(np.percentile(latencies_ms, 50))
        p95 = float(np.percentile(latencies_ms, 95))
    n_in = max(1, len(ins))
    return Metrics(
        system=system,
        n_in=len(ins),
        n_oos=len(oos),
        top1=top1 / n_in,
        top3=top3 / n_in,
        mrr=mrr / n_in,
        top1_thr=top1_thr / n_in,
        ans_prec=ans_ok / len(answered) if answered else 0.0,
        ans_rate=len(answered) / max(1, len(expected)),
        oos_p=tp / len(pred_none) if pred_none else 0.0,
        oos_r=tp / len(oos) if oos else 0.0,
        p50_ms=p50,
        p95_ms=p95,
        note=note,
    )


# --- rank statistics -------------------------------------------------------------------


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Probability a random in-scope top score beats a random out-of-scope one."""
    if not len(pos) or not len(neg):
        return 0.5
    allv = np.concatenate([pos, neg])
    ranks = rankdata(allv)
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def rankdata(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties averaged (as scipy.stats.rankdata)."""
    x = np.asarray(x)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=np.float64)
    xs = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    ra, rb = rankdata(np.asarray(a, float)), rankdata(np.asarray(b, float))
    ra -= ra.mean()
    rb -= rb.mean()
    den = np.sqrt((ra**2).sum() * (rb**2).sum())
    return float((ra * rb).sum() / den) if den else 0.0


# --- rendering --------------------------------------------------------------------------

METRIC_COLUMNS = [
    ("system", "system"),
    ("top1", "top-1"),
    ("top3", "top-3"),
    ("mrr", "MRR"),
    ("top1_thr", "top-1@thr"),
    ("ans_prec", "answer prec."),
    ("oos_p", "OOS P"),
    ("oos_r", "OOS R"),
    ("p50_ms", "p50 ms"),
    ("p95_ms", "p95 ms"),
    ("note", "note"),
]


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) <= 1.0 else f"{value:.1f}"
    return str(value)


def metrics_markdown(rows: Sequence[Metrics], columns=METRIC_COLUMNS) -> str:
    head = "| " + " | ".join(label for _, label in columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(fmt(getattr(m, key)) for key, _ in columns) + " |" for m in rows]
    return "\n".join([head, sep, *body])


def sweep_markdown(rows: Sequence[dict]) -> str:
    lines = ["| suggest threshold | top-1@thr | OOS precision | OOS recall |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['threshold']:.3f} | {r['top1@thr']:.3f} | {r['oos_p']:.3f} | {r['oos_r']:.3f} |")
    return "\n".join(lines)

"""Evaluation and calibration of the FAQ engine.

Honesty rules this module follows:

* Reported numbers on our eval set come from **k-fold cross-validation**: for each
  fold, fusion weights and thresholds are chosen on the other folds only and applied
  to the held-out fold; the table aggregates the held-out predictions. Rank metrics
  (top-1/top-3/MRR) depend on the weights only, decision metrics on both.
* ``calibrate`` (what production uses) fits on the *whole* eval set; its numbers are
  in-sample and are labelled so.

Metrics, over in-scope questions unless stated:
``top1``/``top3``  expected entry ranked first / in the first three (ignoring thresholds);
``top1@thr``      ranked first *and* not rejected as out of scope (what a user gets);
``mrr``           mean reciprocal rank within the first 10;
``ans_prec``      of the ``answer`` decisions (in- and out-of-scope questions), the share
                  that answered the expected entry;
``oos_p``/``oos_r`` precision/recall of ``none`` as a detector of out-of-scope questions.
"""

from __future__ import annotations

import csv
import itertools
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from bot.faq.engine import MODES, FaqEngine, Fusion, Thresholds, neg_gap
from bot.faq.kb import Entry, EvalSet, KnowledgeBase, Leak, eval_leaks, index_hash, without_leaks

# Fusion weights tried by calibration (w_max, w_mean, w_lex, w_clf), steps of 0.1 summing to 1.
FUSION_GRID = [
    Fusion(*(float(round(x / 10, 1)) for x in (a, b, c, 10 - a - b - c)))
    for a, b, c in itertools.product(range(11), repeat=3)
    if a + b + c <= 10
]
ANSWER_PRECISION_TARGET = 0.95
# Margins over the runner-up tried for `answer`. No 0: two entries within 0.02 of each other
# are a close call, offered as choices (`suggest`) even when the top one is usually right.
MARGINS = (0.02, 0.04, 0.06, 0.08)
# Candidate values of Thresholds.neg_margin (best negative minus best entry above which: none).
NEG_MARGINS = tuple(float(x) for x in np.round(np.arange(-0.15, 0.3001, 0.01), 2))


# --- metrics ----------------------------------------------------------------------------

# An expected answer is an entry index, a set of entry indices (real questions: any of them is
# right; empty: in scope but no entry answers it) or None (out of scope).
Expected = int | frozenset | None


def is_right(best: int, expected: Expected) -> bool:
    if expected is None:
        return False
    if isinstance(expected, (frozenset, set, tuple)):
        return int(best) in expected
    return int(best) == expected


def _first_rank(ranked: list[int], expected: Expected) -> int | None:
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
    expected: Sequence[int | None],
    latencies_ms: list[float] | None = None,
    note: str = "",
) -> Metrics:
    """Metrics from ranked entry indices (best first), decisions and expected indices (None = OOS)."""
    ins = [i for i, e in enumerate(expected) if e is not None]
    oos = [i for i, e in enumerate(expected) if e is None]

    def rank_of(i: int) -> int | None:
        return _first_rank(ranked[i], expected[i])

    top1 = sum(1 for i in ins if rank_of(i) == 1)
    top3 = sum(1 for i in ins if (rank_of(i) or 99) <= 3)
    mrr = sum(1.0 / rank_of(i) for i in ins if rank_of(i) and rank_of(i) <= 10)
    top1_thr = sum(1 for i in ins if rank_of(i) == 1 and decisions[i] != "none")
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


# --- calibration ----------------------------------------------------------------------


@dataclass
class Features:
    """Per-query signals of an eval set: per entry (dense max, dense centroid, lexical,
    classifier) and per negative (cosine, lexical)."""

    dmax: np.ndarray
    dmean: np.ndarray
    lex: np.ndarray
    clf: np.ndarray
    neg_cos: np.ndarray
    neg_lex: np.ndarray
    expected: list[Expected]
    has_clf: bool = True
    # Per-question weight in calibration (None: all 1) and group (folds are stratified by it:
    # "written" / "real"), so a small real set can count as much as the written one.
    weight: np.ndarray | None = None
    group: list[str] | None = None
    # For the closest-entries floor: each question's domain level (2 core, 1 domain, 0 none:
    # ``bot.faq.lexicon``) and which entries' categories count as right routing for it.
    level: np.ndarray | None = None
    cat_ok: np.ndarray | None = None

    def weights(self, fusion: Fusion, mode: str = "fused") -> tuple[float, float, float, float]:
        return fusion.weights(mode, classifier=self.has_clf)

    def scores(self, fusion: Fusion, mode: str = "fused") -> np.ndarray:
        a, b, c, d = self.weights(fusion, mode)
        return a * self.dmax + b * self.dmean + c * self.lex + d * self.clf

    def gaps(self, fusion: Fusion, mode: str = "fused", scores: np.ndarray | None = None) -> list[float | None]:
        """``neg_gap`` of each query's top-ranked entry (as the engine computes it)."""
        w = self.weights(fusion, mode)
        s = self.scores(fusion, mode) if scores is None else scores
        best = np.argmax(s, axis=1) if s.shape[1] else np.zeros(len(s), dtype=np.int64)
        out: list[float | None] = []
        for i, j in enumerate(best):
            if s.shape[1] == 0:
                out.append(None)
                continue
            ncos = self.neg_cos[i] if mode != "lexical" else np.zeros_like(self.neg_cos[i])
            nlex = self.neg_lex[i] if mode != "dense" else np.zeros_like(self.neg_lex[i])
            out.append(neg_gap(w, float(self.dmax[i, j]), float(self.dmean[i, j]), float(self.lex[i, j]), ncos, nlex))
        return out

    def subset(self, rows: Sequence[int]) -> "Features":
        rows = list(rows)
        return Features(
            self.dmax[rows], self.dmean[rows], self.lex[rows], self.clf[rows], self.neg_cos[rows],
            self.neg_lex[rows], [self.expected[i] for i in rows], self.has_clf,
            None if self.weight is None else self.weight[rows],
            None if self.group is None else [self.group[i] for i in rows],
            None if self.level is None else self.level[rows],
            None if self.cat_ok is None else self.cat_ok[rows],
        )

    def weights_or_ones(self) -> np.ndarray:
        return self.weight if self.weight is not None else np.ones(len(self.expected), dtype=np.float64)

    @staticmethod
    def concat(parts: "Sequence[Features]") -> "Features":
        """One feature set from several (same KB): e.g. the written eval set and the real one."""
        cat = lambda name: np.concatenate([getattr(p, name) for p in parts], axis=0)  # noqa: E731
        return Features(
            cat("dmax"), cat("dmean"), cat("lex"), cat("clf"), cat("neg_cos"), cat("neg_lex"),
            [e for p in parts for e in p.expected], parts[0].has_clf,
            np.concatenate([p.weights_or_ones() for p in parts]),
            [g for i, p in enumerate(parts) for g in (p.group or [f"part{i}"] * len(p.expected))],
            cat("level") if all(p.level is not None for p in parts) else None,
            cat("cat_ok") if all(p.cat_ok is not None for p in parts) else None,
        )


def features_for(engine: FaqEngine, evalset: EvalSet, group: str = "written") -> Features:
    ids = {e.id: i for i, e in enumerate(engine.entries)}
    qs = list(evalset.questions)
    cats = [e.category for e in engine.entries]
    accept = [frozenset({cats[ids[q.expected]]}) if q.expected else frozenset() for q in qs]
    return question_features(
        engine, [q.text for q in qs], [ids[q.expected] if q.expected else None for q in qs], accept, group
    )


def question_features(
    engine: FaqEngine, texts: Sequence[str], expected: Sequence[Expected], accept: Sequence[frozenset], group: str
) -> Features:
    """Features of any questions: their texts, expected entries and the categories that count
    as right routing for each."""
    from bot.faq.lexicon import default_lexicon

    lx = default_lexicon()
    m = engine.feature_matrix(list(texts))
    cats = np.array([e.category for e in engine.entries], dtype=object)
    cat_ok = np.array([[c in acc for c in cats] for acc in accept], dtype=bool).reshape(len(texts), len(cats))
    level = np.array([LEVELS[lx.domain_signal(t).level] for t in texts], dtype=np.int8)
    return Features(
        m.dmax, m.dmean, m.lex, m.clf, m.neg_cos, m.neg_lex, list(expected),
        has_clf=engine._snap.classifier is not None, group=[group] * len(texts), level=level, cat_ok=cat_ok,
    )


LEVELS = {"none": 0, "domain": 1, "core": 2}
# Offer an in-domain question its closest entries when at least this share of such offers (on
# the fitting data, weighted) route it to an accepted category; else ask which area it is about.
CLOSEST_PRECISION = 0.5


def fit_closest(features: Features, fusion: Fusion, th: Thresholds, mode: str = "fused") -> float | None:
    """The lowest best-entry score from which an in-domain question the decision rejects is
    offered its closest entries (``Thresholds.closest``); None when no floor is good enough."""
    if features.level is None or features.cat_ok is None:
        return None
    s = features.scores(fusion, mode)
    best, top, margin = _top_and_margin(s)
    gaps = features.gaps(fusion, mode, scores=s)
    second = top - margin
    w = features.weights_or_ones()
    cand, good = [], []
    for i in range(len(top)):
        if th.decide(float(top[i]), float(second[i]), gaps[i]) != "none":
            continue
        vetoed = th.neg_margin is not None and gaps[i] is not None and gaps[i] > th.neg_margin
        if not (features.level[i] == 2 or (features.level[i] == 1 and not vetoed)):
            continue
        cand.append(i)
        good.append(features.expected[i] is not None and bool(features.cat_ok[i, best[i]]))
    if not cand:
        return None
    order = sorted(range(len(cand)), key=lambda j: -top[cand[j]])
    acc_w = acc_good = 0.0
    floor = None
    for j in order:
        i = cand[j]
        acc_w += w[i]
        acc_good += w[i] * good[j]
        if acc_good / acc_w >= CLOSEST_PRECISION:
            floor = float(top[i])
    return _floor4(floor) if floor is not None else None


def _top_and_margin(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(-scores, axis=1)
    rows = np.arange(scores.shape[0])
    top = scores[rows, order[:, 0]]
    second = scores[rows, order[:, 1]] if scores.shape[1] > 1 else np.zeros_like(top)
    return order[:, 0], top, top - second


def fit_thresholds(
    scores: np.ndarray,
    expected: Sequence[Expected],
    gaps: Sequence[float | None] | None = None,
    weights: np.ndarray | None = None,
) -> Thresholds:
    """Choose thresholds on one (training) score matrix (and the queries' ``neg_gap``).

    ``suggest`` (the out-of-scope boundary) and ``neg_margin`` (the negatives' veto, when
    there are negatives) jointly maximise Youden's J: share of in-scope questions kept +
    share of out-of-scope questions rejected. ``answer``/``margin`` are the most
    permissive pair whose answers are >= 95% correct (counting out-of-scope questions
    that would be answered as wrong), so ``answer`` stays a promise and the doubtful
    cases become ``suggest``. ``weights`` weigh questions in every share (default: all 1).
    """
    best_idx, top, margin = _top_and_margin(scores)
    is_in = np.array([e is not None for e in expected])
    correct = np.array([is_right(best_idx[i], e) for i, e in enumerate(expected)])
    w = np.ones(len(expected), dtype=np.float64) if weights is None else np.asarray(weights, dtype=np.float64)
    # rounded *down*: a threshold must never end up above the score it was taken from
    cands = np.unique(np.floor(top * 1e4) / 1e4)
    use_neg = gaps is not None and any(g is not None for g in gaps)
    gap = np.array([g if g is not None else -np.inf for g in gaps], dtype=np.float64) if use_neg else None
    n_in, n_out = max(1e-12, w[is_in].sum()), max(1e-12, w[~is_in].sum())
    best_j, t_s, nm = -2.0, float(cands[0]) if len(cands) else 0.5, None
    # most lenient veto first: of equally good margins, keep the one that rejects fewest
    for m_neg in sorted(NEG_MARGINS, reverse=True) if use_neg else (None,):
        vetoed = gap > m_neg if m_neg is not None else np.zeros(len(top), dtype=bool)
        # kept(t) for every candidate t at once: in-scope tops >= t and not vetoed
        kept_in = _weight_at_or_above(top[is_in & ~vetoed], w[is_in & ~vetoed], cands)
        kept_out = _weight_at_or_above(top[~is_in & ~vetoed], w[~is_in & ~vetoed], cands)
        j = kept_in / n_in + 1.0 - kept_out / n_out
        k = int(np.argmax(j))  # the first (lowest) threshold reaching the maximum
        if j[k] > best_j + 1e-12:
            best_j, t_s, nm = float(j[k]), float(cands[k]), m_neg
    # midpoint to the next lower score: less sensitive to exactly where the sample fell
    lower = top[top < t_s]
    if lower.size:
        t_s = float((t_s + lower.max()) / 2)
    vetoed = gap > nm if nm is not None else np.zeros(len(top), dtype=bool)
    best = (t_s, 0.0, -1)
    for m in MARGINS:
        for t in cands[cands >= t_s]:
            sel = (top >= t) & (margin >= m) & ~vetoed
            n = float(w[sel].sum())
            if n <= 0:
                continue
            good = float(w[sel & correct].sum())
            if good / n >= ANSWER_PRECISION_TARGET and good > best[2]:
                best = (float(t), float(m), good)
                break  # lowest qualifying t for this margin answers the most
    t_a, m, _ = best
    if best[2] < 0:  # nothing reaches the target: never answer directly, always suggest
        t_a = float(top.max()) + 1.0 if top.size else 1.0
    return Thresholds(answer=_floor4(t_a), suggest=_floor4(t_s), margin=m, neg_margin=nm)


def _weight_at_or_above(values: np.ndarray, weights: np.ndarray, cands: np.ndarray) -> np.ndarray:
    """For each candidate threshold, the total weight of the values >= it."""
    order = np.argsort(values)
    v, cw = values[order], np.concatenate([[0.0], np.cumsum(weights[order])])
    pos = np.searchsorted(v, cands, side="left")
    return cw[-1] - cw[pos]


def _floor4(x: float) -> float:
    return float(np.floor(x * 1e4) / 1e4)


def fit(features: Features, mode: str = "fused") -> tuple[Fusion, Thresholds]:
    """Fusion weights (fused mode: best top-1, then best OOS separation) + thresholds."""
    if mode != "fused":
        fusion = Fusion()
        return fusion, fit_thresholds(
            features.scores(fusion, mode), features.expected, features.gaps(fusion, mode), features.weight
        )
    is_in = np.array([e is not None for e in features.expected])
    qw = features.weights_or_ones()
    best_key, best_f = None, Fusion()
    seen: set[tuple] = set()
    for f in FUSION_GRID:
        w = features.weights(f)
        if w in seen:  # without a classifier several grid points are the same weights
            continue
        seen.add(w)
        s = features.scores(f)
        idx, top, _ = _top_and_margin(s)
        right = np.array([is_right(idx[i], e) for i, e in enumerate(features.expected)])
        acc = float(qw[is_in & right].sum() / qw[is_in].sum()) if is_in.any() else 0.0
        auc = _auc(top[is_in], top[~is_in])
        key = (round(acc + auc, 4), acc)
        if best_key is None or key > best_key:
            best_key, best_f = key, f
    s = features.scores(best_f)
    th = fit_thresholds(s, features.expected, features.gaps(best_f, scores=s), features.weight)
    return best_f, replace(th, closest=fit_closest(features, best_f, th))


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Probability a random in-scope top score beats a random out-of-scope one."""
    if not len(pos) or not len(neg):
        return 0.5
    allv = np.concatenate([pos, neg])
    ranks = _rankdata(allv)
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _rankdata(x: np.ndarray) -> np.ndarray:
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
    ra, rb = _rankdata(np.asarray(a, float)), _rankdata(np.asarray(b, float))
    ra -= ra.mean()
    rb -= rb.mean()
    den = np.sqrt((ra**2).sum() * (rb**2).sum())
    return float((ra * rb).sum() / den) if den else 0.0


def _folds(
    expected: Sequence[Expected], k: int, seed: int, groups: Sequence[str] | None = None
) -> list[list[int]]:
    """Stratified folds: in-scope and out-of-scope questions (of each group) spread evenly."""
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    strata: dict[tuple, list[int]] = {}
    for i, e in enumerate(expected):
        strata.setdefault((groups[i] if groups else "", e is not None), []).append(i)
    for key in sorted(strata, key=lambda t: (t[0], not t[1])):
        group = list(rng.permutation(strata[key]))
        for j, i in enumerate(group):
            folds[j % k].append(int(i))
    return folds


def cross_validate(features: Features, mode: str, k: int = 5, seed: int = 0) -> tuple[list[list[int]], list[str]]:
    """Held-out rankings and decisions: each fold scored with weights/thresholds fit on the others."""
    n = len(features.expected)
    ranked: list[list[int]] = [[] for _ in range(n)]
    decisions: list[str] = ["none"] * n
    for fold in _folds(features.expected, k, seed, features.group):
        train = sorted(set(range(n)) - set(fold))
        fusion, th = fit(features.subset(train), mode)
        held = features.subset(fold)
        s = held.scores(fusion, mode)
        for row, i in zip(s, fold):
            ranked[i] = [int(x) for x in np.argsort(-row, kind="stable")[:10]]
        for dec, i in zip(decisions_from_scores(s, th, held.gaps(fusion, mode, scores=s)), fold):
            decisions[i] = dec
    return ranked, decisions


def cross_validate_scores(
    scores: np.ndarray, expected: Sequence[int | None], k: int = 5, seed: int = 0
) -> tuple[list[list[int]], list[str]]:
    """Like ``cross_validate`` for a system that only gives a score matrix (e.g. Rasa's
    confidences): thresholds fit on the other folds, rankings as given."""
    n = len(expected)
    ranked = [[int(x) for x in np.argsort(-row, kind="stable")[:10]] for row in scores]
    decisions: list[str] = ["none"] * n
    for fold in _folds(expected, k, seed):
        train = sorted(set(range(n)) - set(fold))
        th = fit_thresholds(scores[train], [expected[i] for i in train])
        for dec, i in zip(decisions_from_scores(scores[fold], th), fold):
            decisions[i] = dec
    return ranked, decisions


def threshold_sweep(
    features: Features,
    fusion: Fusion,
    mode: str = "fused",
    steps: Sequence[float] | None = None,
    neg_margin: float | None = None,
):
    """Trade-off table over the suggest (out-of-scope) threshold, on the whole eval set
    (with the negatives' veto at ``neg_margin`` applied throughout)."""
    s = features.scores(fusion, mode)
    idx, top, _ = _top_and_margin(s)
    is_in = np.array([e is not None for e in features.expected])
    gaps = features.gaps(fusion, mode, scores=s)
    vetoed = np.array([neg_margin is not None and g is not None and g > neg_margin for g in gaps], dtype=bool)
    correct = np.array([is_right(idx[i], e) for i, e in enumerate(features.expected)])
    if steps is None:
        lo, hi = np.percentile(top, 5), np.percentile(top, 95)
        steps = np.round(np.linspace(lo, hi, 9), 3)
    rows = []
    for t in steps:
        keep = (top >= t) & ~vetoed
        rej = ~keep
        rows.append(
            {
                "threshold": float(t),
                "top1@thr": float((correct & keep)[is_in].mean()) if is_in.any() else 0.0,
                "oos_p": float((rej & ~is_in).sum() / rej.sum()) if rej.any() else 0.0,
                "oos_r": float((rej & ~is_in).sum() / max(1, (~is_in).sum())),
            }
        )
    return rows


# --- latency --------------------------------------------------------------------------


def latencies(engine: FaqEngine, queries: Sequence[str], mode: str = "fused", warmup: int = 5) -> list[float]:
    for q in list(queries)[:warmup]:
        engine.search(q, mode=mode)
    out = []
    for q in queries:
        t = time.perf_counter()
        engine.search(q, mode=mode)
        out.append((time.perf_counter() - t) * 1000.0)
    return out


# --- our eval set ---------------------------------------------------------------------


@dataclass
class EvalReport:
    metrics: list[Metrics]
    sweep: list[dict]
    fitted: dict[str, tuple[Fusion, Thresholds]]  # on the whole eval set (what calibrate stores)
    in_sample: list[Metrics]
    folds: int
    leaks: list[Leak] = field(default_factory=list)  # left out of the index that was scored


def holdout_engine(engine: FaqEngine, evalset: EvalSet) -> tuple[FaqEngine, list[Leak]]:
    """The engine to score the eval set with: ``engine`` itself, or, when KB wordings or
    negatives copy eval questions (exactly or nearly, ``kb.eval_leaks``), an in-memory
    engine over the KB without them. A copied question would measure memory, not
    retrieval, and would teach calibration that the negatives' veto is infallible."""
    leaks = eval_leaks(engine.kb, evalset)
    if not leaks:
        return engine, []
    return engine.derived(without_leaks(engine.kb, leaks)), leaks


def evaluate_engine(engine: FaqEngine, evalset: EvalSet, *, folds: int = 5, timing: bool = True) -> EvalReport:
    """Cross-validated metrics per mode (latency measured on ``engine`` as it serves)."""
    held, leaks = holdout_engine(engine, evalset)
    feats = features_for(held, evalset)
    queries = [q.text for q in evalset.questions]
    names = {"fused": "ours (fused)", "dense": "dense only", "lexical": "BM25 only"}
    metrics, in_sample, fitted = [], [], {}
    for mode in MODES:
        ranked, decisions = cross_validate(feats, mode, k=folds)
        lat = latencies(engine, queries, mode) if timing else None
        metrics.append(compute_metrics(names[mode], ranked, decisions, feats.expected, lat, note=f"{folds}-fold CV"))
        fusion, th = fit(feats, mode)
        fitted[mode] = (fusion, th)
        s = feats.scores(fusion, mode)
        r_all = [[int(x) for x in np.argsort(-row, kind="stable")[:10]] for row in s]
        decisions_all = decisions_from_scores(s, th, feats.gaps(fusion, mode, scores=s))
        in_sample.append(
            compute_metrics(names[mode], r_all, decisions_all, feats.expected, note="fit on all (in-sample)")
        )
    fusion, th = fitted["fused"]
    sweep = threshold_sweep(feats, fusion, "fused", neg_margin=th.neg_margin)
    return EvalReport(metrics, sweep, fitted, in_sample, folds, leaks)


def calibrate_engine(engine: FaqEngine, evalset: EvalSet) -> dict[str, tuple[Fusion, Thresholds]]:
    """Fit fusion + thresholds on the whole eval set and store them in the index manifest
    (fit on the KB without leaked wordings, like ``evaluate_engine``)."""
    held, leaks = holdout_engine(engine, evalset)
    feats = features_for(held, evalset)
    fitted = {mode: fit(feats, mode) for mode in MODES}
    info = {
        "eval_questions": len(evalset.in_scope),
        "eval_out_of_scope": len(evalset.out_of_scope),
        "leaks_left_out": len(leaks),
        "calibrated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "encoder_id": engine.encoder.id,
    }
    engine.store_calibration({m: th for m, (_, th) in fitted.items()}, fitted["fused"][0], info)
    return fitted


# --- qmatch (public Chinese question matching data) ---------------------------------------


def qmatch_dir(repo_root: Path | None = None) -> Path:
    """``<repo>/../shared/data/qmatch``, or $POSBOT_QMATCH_DIR."""
    env = os.environ.get("POSBOT_QMATCH_DIR")
    if env:
        return Path(env)
    root = repo_root or Path(__file__).resolve().parents[2]
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
            f"{name}: {label}", ranked, ["suggest"] * len(queries), [i for _, i in queries], lat,
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


def fmt(value) -> str:
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

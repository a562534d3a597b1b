"""Calibration of the FAQ engine: fusion weights and thresholds fitted on the eval set.

``calibrate_engine`` (what production uses, ``posbot faq calibrate``) fits on the *whole*
eval set and stores the result in the index manifest; numbers measured on that same fit are
in-sample and labelled so (``bot.faq.evaluate`` reports cross-validated ones).

* Fusion weights: the grid point with the best top-1 plus out-of-scope separation (AUC).
* ``suggest`` and ``neg_margin``: jointly maximise Youden's J (in-scope kept + out-of-scope
  rejected).
* ``answer``/``margin``: the most permissive pair whose answers are >= 95% correct.
* ``closest``: the lowest score from which an in-domain question that is not answered is
  offered its closest entries.

Questions are scored against a KB without the wordings that copy eval questions
(``holdout_engine``): a copied question would measure memory, not retrieval.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from bot.faq.engine import FaqEngine
from bot.faq.evalset import EvalSet, Leak, eval_leaks, without_leaks
from bot.faq.lexicon import default_lexicon
from bot.faq.metrics import Expected, auc, is_right
from bot.faq.scoring import MODES, Fusion, Signals, Thresholds, Weights

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


@dataclass
class Features:
    """An eval set's questions as calibration sees them: their signals against every entry and
    negative, their expected entries, and how much each question counts."""

    signals: Signals  # (n_questions, n_entries) and (n_questions, n_negatives) matrices
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

    def weights(self, fusion: Fusion, mode: str = "fused") -> Weights:
        return fusion.weights(mode, classifier=self.has_clf)

    def scores(self, fusion: Fusion, mode: str = "fused") -> np.ndarray:
        return self.signals.fused(self.weights(fusion, mode))

    def gaps(self, fusion: Fusion, mode: str = "fused", scores: np.ndarray | None = None) -> list[float | None]:
        """``neg_gap`` of each query's top-ranked entry (as the engine computes it)."""
        s = self.scores(fusion, mode) if scores is None else scores
        return self.signals.gaps(self.weights(fusion, mode), s, mode)

    def subset(self, rows: Sequence[int]) -> Features:
        rows = list(rows)
        return Features(
            self.signals.rows(rows),
            [self.expected[i] for i in rows],
            self.has_clf,
            None if self.weight is None else self.weight[rows],
            None if self.group is None else [self.group[i] for i in rows],
            None if self.level is None else self.level[rows],
            None if self.cat_ok is None else self.cat_ok[rows],
        )

    def weights_or_ones(self) -> np.ndarray:
        return self.weight if self.weight is not None else np.ones(len(self.expected), dtype=np.float64)

    @staticmethod
    def concat(parts: Sequence[Features]) -> Features:
        """One feature set from several (same KB): e.g. the written eval set and the real one."""
        cat = lambda name: np.concatenate([getattr(p, name) for p in parts], axis=0)  # noqa: E731
        return Features(
            Signals.concat([p.signals for p in parts]),
            [e for p in parts for e in p.expected],
            parts[0].has_clf,
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
    lx = default_lexicon()
    m = engine.signals(list(texts))
    cats = np.array([e.category for e in engine.entries], dtype=object)
    cat_ok = np.array([[c in acc for c in cats] for acc in accept], dtype=bool).reshape(len(texts), len(cats))
    level = np.array([LEVELS[lx.domain_signal(t).level] for t in texts], dtype=np.int8)
    return Features(
        m,
        list(expected),
        has_clf=engine.has_classifier,
        group=[group] * len(texts),
        level=level,
        cat_ok=cat_ok,
    )


LEVELS = {"none": 0, "domain": 1, "core": 2}
# Offer an in-domain question its closest entries when at least this share of such offers (on
# the fitting data, weighted) route it to an accepted category; else ask which area it is about.
CLOSEST_PRECISION = 0.5


def fit_closest(features: Features, fusion: Fusion, th: Thresholds, mode: str = "fused") -> float | None:
    """The lowest best-entry score from which an in-domain question the decision rejects is
    offered its closest entries (``Thresholds.closest``); None when no floor is good enough."""
    level, cat_ok = features.level, features.cat_ok
    if level is None or cat_ok is None:
        return None
    s = features.scores(fusion, mode)
    best, top, margin = top_and_margin(s)
    gaps = features.gaps(fusion, mode, scores=s)
    second = top - margin
    w = features.weights_or_ones()
    cand, good = [], []
    for i in range(len(top)):
        if th.decide(float(top[i]), float(second[i]), gaps[i]) != "none":
            continue
        vetoed = th.vetoes(gaps[i])
        if not (level[i] == 2 or (level[i] == 1 and not vetoed)):
            continue
        cand.append(i)
        good.append(features.expected[i] is not None and bool(cat_ok[i, best[i]]))
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


def top_and_margin(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    best_idx, top, margin = top_and_margin(scores)
    is_in = np.array([e is not None for e in expected])
    correct = np.array([is_right(best_idx[i], e) for i, e in enumerate(expected)])
    w = np.ones(len(expected), dtype=np.float64) if weights is None else np.asarray(weights, dtype=np.float64)
    # rounded *down*: a threshold must never end up above the score it was taken from
    cands = np.unique(np.floor(top * 1e4) / 1e4)
    gap: np.ndarray | None = None
    if gaps is not None and any(g is not None for g in gaps):
        gap = np.array([g if g is not None else -np.inf for g in gaps], dtype=np.float64)
    use_neg = gap is not None
    n_in, n_out = max(1e-12, w[is_in].sum()), max(1e-12, w[~is_in].sum())
    best_j, t_s, nm = -2.0, float(cands[0]) if len(cands) else 0.5, None
    # most lenient veto first: of equally good margins, keep the one that rejects fewest
    for m_neg in sorted(NEG_MARGINS, reverse=True) if use_neg else (None,):
        vetoed = gap > m_neg if gap is not None and m_neg is not None else np.zeros(len(top), dtype=bool)
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
    vetoed = gap > nm if gap is not None and nm is not None else np.zeros(len(top), dtype=bool)
    best: tuple[float, float, float] = (t_s, 0.0, -1.0)
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
        idx, top, _ = top_and_margin(s)
        right = np.array([is_right(idx[i], e) for i, e in enumerate(features.expected)])
        acc = float(qw[is_in & right].sum() / qw[is_in].sum()) if is_in.any() else 0.0
        auc_ = auc(top[is_in], top[~is_in])
        key = (round(acc + auc_, 4), acc)
        if best_key is None or key > best_key:
            best_key, best_f = key, f
    s = features.scores(best_f)
    th = fit_thresholds(s, features.expected, features.gaps(best_f, scores=s), features.weight)
    return best_f, replace(th, closest=fit_closest(features, best_f, th))


def holdout_engine(engine: FaqEngine, evalset: EvalSet) -> tuple[FaqEngine, list[Leak]]:
    """The engine to score the eval set with: ``engine`` itself, or, when KB wordings or
    negatives copy eval questions (exactly or nearly, ``kb.eval_leaks``), an in-memory
    engine over the KB without them. A copied question would measure memory, not
    retrieval, and would teach calibration that the negatives' veto is infallible."""
    leaks = eval_leaks(engine.kb, evalset)
    if not leaks:
        return engine, []
    return engine.derived(without_leaks(engine.kb, leaks)), leaks


def calibrate_engine(engine: FaqEngine, evalset: EvalSet) -> dict[str, tuple[Fusion, Thresholds]]:
    """Fit fusion + thresholds on the whole eval set and store them in the index manifest
    (fit on the KB without leaked wordings, like ``evaluate_engine``)."""
    held, leaks = holdout_engine(engine, evalset)
    feats = features_for(held, evalset)
    fitted: dict[str, tuple[Fusion, Thresholds]] = {mode: fit(feats, mode) for mode in MODES}
    info = {
        "eval_questions": len(evalset.in_scope),
        "eval_out_of_scope": len(evalset.out_of_scope),
        "leaks_left_out": len(leaks),
        "calibrated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "encoder_id": engine.encoder.id,
    }
    engine.store_calibration({m: th for m, (_, th) in fitted.items()}, fitted["fused"][0], info)
    return fitted

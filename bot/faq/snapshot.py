"""The FAQ index store: one immutable ``Snapshot`` per KB version, built, loaded and persisted.

A snapshot is everything one KB version needs to answer (dense index of the wordings, entry
centroids, BM25, classifier, negatives, manifest with the calibration). ``IndexStore`` makes
snapshots for one encoder and index directory: it loads what was persisted when it still
fits the KB, reuses the previous version's vectors for unchanged wordings, encodes the rest,
and persists what it built. The engine (``bot.faq.engine``) only swaps snapshots.

Calibration lives in two places: the index manifest (a machine's own ``posbot faq
calibrate``, wins) and ``data/faq/calibration.json`` committed with the KB (written when the
real dev set was there), so every checkout serves the same bands.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from bot.faq.classifier import EntryClassifier
from bot.faq.encoders import Encoder
from bot.faq.files import atomic_write_bytes
from bot.faq.index import DEFAULT_EXACT_MAX_VECTORS, DenseIndex, Manifest, new_manifest, read_manifest, write_manifest
from bot.faq.kb import KnowledgeBase
from bot.faq.lexical import BM25Index, tokenize
from bot.faq.negatives import NegativeSet
from bot.faq.scoring import (
    CALIBRATION_VERSION,
    DEFAULT_FUSION,
    Fusion,
    Signals,
    Thresholds,
    default_thresholds,
    encoder_family,
)

log = logging.getLogger(__name__)

# From this many entries on, a hot reload warm-starts the classifier from the previous
# version's weights (cold training takes ~30-60 s at 1,000 entries, ~1 s at 100).
WARM_START_MIN_ENTRIES = 500
CALIBRATION_FILE = "calibration.json"


def calibrated(manifest: Manifest) -> bool:
    """The manifest's calibration was made under the current scheme."""
    return manifest.calibration.get("version") == CALIBRATION_VERSION


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
    if not f or not calibrated(manifest):
        return None
    return Fusion.from_dict(f)


class Snapshot:
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
            or (Fusion.from_dict(committed["fusion"]) if committed and committed.get("fusion") else None)
            or DEFAULT_FUSION
        )

    def candidates(
        self, text: str, qvec: np.ndarray | None, want: int, mode: str, only: np.ndarray | None = None
    ) -> tuple[np.ndarray, Signals]:
        """Candidate entries (indices) with their signals, and the negatives' signals, for one
        prepared query (``want`` from each retriever); with ``only``, exactly those entries are the
        candidates (a category filter)."""
        cands: list[np.ndarray] = []
        if mode in ("fused", "dense"):
            assert qvec is not None  # only lexical mode searches without a query vector
            cands.append(self.dense.search(qvec, want)[0])
            if mode == "fused":
                cands.append(self.centroids.search(qvec, want)[0])
        tokens = tokenize(text, normalized=True)
        lex_all = None
        if mode in ("fused", "lexical"):
            lex_all = self.lexical.entry_scores_tokens(tokens)
            if lex_all.size:
                top = min(want, lex_all.size)
                part = np.argpartition(-lex_all, top - 1)[:top]
                cands.append(part[lex_all[part] > 0])
        clf_all = None
        if mode == "fused" and self.classifier is not None and qvec is not None:
            clf_all = self.classifier.proba(qvec)
            top = min(want, clf_all.size)
            cands.append(np.argpartition(-clf_all, top - 1)[:top])
        idx = np.unique(np.concatenate(cands)) if cands else np.zeros(0, dtype=np.int64)
        if only is not None:
            idx = only
        n_c = len(idx)
        dmax = self.dense.entry_scores(qvec, idx) if qvec is not None else np.zeros(n_c, np.float32)
        dmean = (self.centroids.vectors[idx] @ qvec) if qvec is not None else np.zeros(n_c, np.float32)
        lex = lex_all[idx] if lex_all is not None else np.zeros(n_c, np.float32)
        clf = clf_all[idx] if clf_all is not None else np.zeros(n_c, np.float32)
        neg_cos, neg_lex = self.negatives.signals(qvec, tokens if mode != "dense" else ())
        return idx, Signals(dmax, dmean, lex, clf, neg_cos, neg_lex)

    def signal_matrix(self, texts: list[str], vecs: np.ndarray) -> Signals:
        """Every prepared query (``texts``, their vectors ``vecs``) against every entry and negative."""
        out = Signals.zeros(len(texts), len(self.entries), len(self.negatives))
        for i, (t, v) in enumerate(zip(texts, vecs)):
            if not t:
                continue  # nothing searchable: all-zero rows, i.e. below any threshold
            tokens = tokenize(t, normalized=True)
            out.dmax[i] = self.dense.all_entry_scores(v)
            out.dmean[i] = self.centroids.vectors @ v
            out.lex[i] = self.lexical.entry_scores_tokens(tokens)
            if self.classifier is not None:
                out.clf[i] = self.classifier.proba(v)
            out.neg_cos[i], out.neg_lex[i] = self.negatives.signals(v, tokens)
        return out

    def thresholds(self, mode: str) -> Thresholds:
        """The manifest's calibration, else the committed one, else the encoder family's defaults."""
        stored = self.manifest.thresholds.get(mode) if calibrated(self.manifest) else None
        if not stored and self.committed:
            stored = (self.committed.get("thresholds") or {}).get(mode)
        if stored:
            return Thresholds.from_dict(stored)
        return default_thresholds(self.manifest.encoder_id, mode)

    @property
    def calibration_source(self) -> str:
        """Where the thresholds come from: "manifest", "committed" or "defaults"."""
        if self.manifest.thresholds and calibrated(self.manifest):
            return "manifest"
        return "committed" if self.committed else "defaults"

    def with_calibration(self, thresholds: dict[str, Thresholds], fusion: Fusion, info: dict) -> Snapshot:
        """This snapshot with another calibration (same vectors and indexes)."""
        manifest = Manifest.from_json(self.manifest.to_json())
        manifest.thresholds = {m: asdict(t) for m, t in thresholds.items()}
        manifest.calibration = {**info, "fusion": asdict(fusion), "version": CALIBRATION_VERSION}
        new = copy.copy(self)
        new.manifest = manifest
        new.fusion = fusion
        return new


class IndexStore:
    """Builds, loads and persists snapshots for one encoder and (optional) index directory."""

    def __init__(self, encoder: Encoder, index_dir: Path | None, exact_max_vectors: int = DEFAULT_EXACT_MAX_VECTORS):
        self.encoder = encoder
        self.index_dir = index_dir
        self.exact_max_vectors = exact_max_vectors
        self.builds = 0  # how many times vectors were (re)computed: tests and logs use it

    def snapshot(
        self,
        kb: KnowledgeBase,
        previous: Snapshot | None,
        *,
        progress: bool = False,
        force: bool = False,
        carry: Manifest | None = None,
        warm: bool = True,
    ) -> Snapshot:
        """The snapshot of ``kb``: ``previous``'s vectors when only answers changed, the persisted
        index when it fits, else built (reusing ``previous``'s vectors) and persisted. ``carry``:
        the manifest whose calibration a forced rebuild keeps; ``warm=False``: train the
        classifier from scratch whatever the KB's size."""
        entries = list(kb.entries)
        if (
            not force
            and previous is not None
            and previous.manifest.index_hash == kb.index_hash
            and previous.manifest.encoder_id == self.encoder.id
        ):
            # Only answers/metadata (or negatives) changed: same vectors and classifier, new
            # entries (the lexical side rebuilds).
            return self._complete(kb, previous.dense, previous.manifest, previous, previous.classifier)
        stored = read_manifest(self.index_dir) if self.index_dir is not None else None
        if (
            not force
            and self.index_dir is not None
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
                return self._complete(kb, dense, stored, previous, clf)
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
        return self._complete(kb, dense, manifest, previous, None, warm=warm)

    def from_parts(
        self, kb: KnowledgeBase, dense: DenseIndex, lexical: BM25Index, classifier: EntryClassifier | None = None
    ) -> Snapshot:
        """A snapshot over precomputed vectors and BM25 documents (synthetic scale benchmarks);
        ``classifier`` defaults to one trained on ``dense``'s vectors."""
        manifest = new_manifest(self.encoder, kb.index_hash, list(kb.entries), dense, 0.0)
        if classifier is None:
            classifier = EntryClassifier.train(dense.vectors, dense.offsets, kb.index_hash)
        negatives = NegativeSet.build(kb.negatives, self.encoder) if kb.negatives else None
        return Snapshot(
            kb, dense, manifest, self.exact_max_vectors, lexical=lexical, negatives=negatives, classifier=classifier
        )

    def _complete(
        self,
        kb: KnowledgeBase,
        dense: DenseIndex,
        manifest: Manifest,
        previous: Snapshot | None,
        classifier: EntryClassifier | None,
        *,
        warm: bool = True,
    ) -> Snapshot:
        """A snapshot over ``dense``, with the classifier (trained unless given) and the negatives'
        vectors (loaded, reused from ``previous`` or encoded), both persisted when new."""
        if classifier is None:
            init = None
            prev_clf = previous.classifier if previous is not None else None
            if (
                warm
                and previous is not None
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
                trained = classifier
                self.persist(lambda d: trained.save(d, self.encoder.id))
        negatives = self._negatives(kb, dense.vectors.shape[1], previous)
        tokens = getattr(previous.lexical, "token_cache", None) if previous is not None else None
        return Snapshot(
            kb, dense, manifest, self.exact_max_vectors, negatives=negatives, classifier=classifier, tokens=tokens
        )

    def _negatives(self, kb: KnowledgeBase, dim: int, previous: Snapshot | None) -> NegativeSet:
        if not kb.negatives:
            return NegativeSet.empty(dim)
        same_encoder = previous is not None and previous.manifest.encoder_id == self.encoder.id
        if previous is not None and same_encoder and previous.negatives.hash == kb.negatives_hash:
            return previous.negatives
        if self.index_dir is not None and not same_encoder:
            loaded = NegativeSet.load(self.index_dir, kb.negatives, dim, self.encoder.id)
            if loaded is not None:
                return loaded
        reuse = previous.negatives.text_vectors() if previous is not None and same_encoder else None
        negs = NegativeSet.build(kb.negatives, self.encoder, reuse=reuse)
        self.persist(lambda d: negs.save(d, self.encoder.id))
        return negs

    def persist(self, save: Callable[[Path], Any]) -> None:
        """Run ``save(index_dir)``; a failure is logged (serving from memory still works)."""
        if self.index_dir is None:
            return
        try:
            save(self.index_dir)
        except OSError as exc:
            log.warning("could not persist FAQ index data to %s: %s", self.index_dir, exc)

    def write_manifest(self, manifest: Manifest) -> None:
        if self.index_dir is not None:
            write_manifest(self.index_dir, manifest)

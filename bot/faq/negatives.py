"""Known out-of-scope questions (``negatives:`` in the KB files) as competitors of the entries.

Near-domain traps (信用卡年费怎么免, 路由器怎么设置密码, 银行卡密码忘了怎么办) share words and
topic with real entries, so a threshold on the best entry's score alone cannot reject them
without rejecting real questions too. Negatives give the engine something to compare
with: each negative is scored like a one-wording entry — cosine to the query (it is its
own closest wording and its own centroid) and BM25 of the query against it — with the
same fusion weights. When the best negative beats the best entry by more than the
calibrated ``neg_margin`` (``Thresholds.neg_margin``), the decision is ``none``.

Vectors are persisted next to the FAISS index (``negatives.npz``, keyed by the hash of the
negatives' texts) and re-encoded only for negatives that changed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.faq.encoders import Encoder, normalize_text, reuse_vectors
from bot.faq.files import atomic_write
from bot.faq.kb import negatives_hash
from bot.faq.lexical import BM25Index

log = logging.getLogger(__name__)

NEGATIVES_FILE = "negatives.npz"


class NegativeSet:
    def __init__(self, texts: Sequence[str], vectors: np.ndarray):
        self.texts = tuple(texts)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.hash = negatives_hash(self.texts)
        n = len(self.texts)
        # One BM25 document per negative (normalised by the query's self score, like entries).
        self.lexical = BM25Index.from_texts(self.texts, np.arange(n), n, k1=1.2, b=0.75) if n else None

    def __len__(self) -> int:
        return len(self.texts)

    @classmethod
    def empty(cls, dim: int) -> NegativeSet:
        return cls((), np.zeros((0, dim), dtype=np.float32))

    def signals(self, qvec: np.ndarray | None, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(cosine, lexical) of the query to every negative."""
        n = len(self.texts)
        cos = self.vectors @ qvec if (qvec is not None and n) else np.zeros(n, dtype=np.float32)
        lex = self.lexical.entry_scores_tokens(tokens) if self.lexical is not None else np.zeros(n, np.float32)
        return cos.astype(np.float32, copy=False), lex

    @staticmethod
    def best(cos: np.ndarray, lex: np.ndarray, w_dense: float, w_lex: float) -> tuple[float, int]:
        """Best fused negative score (weights already normalised to sum 1) and its index; (-inf, -1) if none."""
        if cos.size == 0:
            return float("-inf"), -1
        s = w_dense * cos + w_lex * lex
        i = int(np.argmax(s))
        return float(s[i]), i

    # --- building and persistence ---------------------------------------------------------

    @classmethod
    def build(cls, texts: Sequence[str], encoder: Encoder, reuse: dict[str, np.ndarray] | None = None) -> NegativeSet:
        texts = list(texts)
        vectors, todo = reuse_vectors(texts, reuse, encoder.dim)
        if todo:
            vectors[todo] = encoder.encode([texts[i] for i in todo])
        log.info("FAQ negatives: %d, %d encoded, %d reused", len(texts), len(todo), len(texts) - len(todo))
        return cls(texts, vectors)

    def text_vectors(self) -> dict[str, np.ndarray]:
        return {normalize_text(t): v for t, v in zip(self.texts, self.vectors)}

    def save(self, index_dir: Path, encoder_id: str) -> None:
        atomic_write(
            Path(index_dir) / NEGATIVES_FILE,
            lambda tmp: np.savez(tmp, vectors=self.vectors, hash=np.array(self.hash), encoder_id=np.array(encoder_id)),
        )

    @classmethod
    def load(cls, index_dir: Path, texts: Sequence[str], dim: int, encoder_id: str) -> NegativeSet | None:
        """The stored vectors when they are exactly these texts by this encoder, else None."""
        try:
            with np.load(Path(index_dir) / NEGATIVES_FILE) as data:
                if str(data["hash"]) != negatives_hash(texts) or str(data["encoder_id"]) != encoder_id:
                    return None
                vectors = data["vectors"]
        except (OSError, KeyError, ValueError):
            return None
        if vectors.shape != (len(texts), dim):
            return None
        return cls(texts, vectors)

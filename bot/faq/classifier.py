"""Entry classifier: multinomial logistic regression over the KB's wording vectors.

The dense signals compare a query to wordings one at a time (``dense_max``) or to an
entry's centroid (``dense_mean``); neither knows which *directions* of the embedding
tell two neighbouring entries apart (主管密码 *forgotten* vs *shared*, 签到 *how* vs
签到 *fails*). A softmax classifier trained on every wording of every entry learns
exactly that, and its probability is the fourth fused signal (``clf``).

It is trained on the KB only (never on eval questions), so cross-validated numbers stay
honest. Training is a few hundred milliseconds to a few seconds for a KB of a few hundred
entries (L-BFGS, single-threaded BLAS); above ``MAX_ENTRIES`` it is skipped (a softmax
over 100,000 classes would cost more than it could add) and the engine fuses the other
signals only. Weights are persisted next to the FAISS index (``classifier.npz``) and
reused while the indexed wordings are unchanged.

Cross-validation on our eval set chose it over a character n-gram TF-IDF classifier
(which helped less and less reliably) and over ridge regression or LDA on the same
vectors (no gain, LDA's probabilities saturate at 0/1).
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path

import numpy as np

from bot.faq.files import atomic_write

log = logging.getLogger(__name__)

CLASSIFIER_FILE = "classifier.npz"
# Inverse regularisation strength: chosen by cross-validation (30 .. 1000 tried; 100 and 300 best).
C_REG = 100.0
MAX_ITER = 1000
# Above this many entries no classifier is trained (see module docstring).
MAX_ENTRIES = 2000


class EntryClassifier:
    """p(entry | query vector) = softmax(q @ coef + intercept), over every entry of one KB version."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, index_hash: str, seconds: float = 0.0):
        self.coef = np.ascontiguousarray(coef, dtype=np.float32)  # (dim, n_entries)
        self.intercept = np.asarray(intercept, dtype=np.float32)  # (n_entries,)
        self.index_hash = index_hash
        self.seconds = seconds

    @property
    def n_entries(self) -> int:
        return int(self.coef.shape[1])

    def init_for(self, old_ids: list[str], new_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Starting weights for a KB version with entries ``new_ids``: this classifier's
        column for every entry it knows (``old_ids``), zeros for new entries."""
        pos = {eid: i for i, eid in enumerate(old_ids)}
        coef = np.zeros((self.coef.shape[0], len(new_ids)), dtype=np.float32)
        intercept = np.zeros(len(new_ids), dtype=np.float32)
        for j, eid in enumerate(new_ids):
            i = pos.get(eid)
            if i is not None and i < self.n_entries:
                coef[:, j] = self.coef[:, i]
                intercept[j] = self.intercept[i]
        return coef, intercept

    def proba(self, qvecs: np.ndarray) -> np.ndarray:
        """(n, n_entries) probabilities for (n, dim) query vectors (or (n_entries,) for one vector)."""
        one = qvecs.ndim == 1
        z = np.atleast_2d(qvecs).astype(np.float32, copy=False) @ self.coef + self.intercept
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z[0] if one else z

    @classmethod
    def train(
        cls,
        vectors: np.ndarray,
        offsets: np.ndarray,
        index_hash: str,
        init: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> EntryClassifier | None:
        """Fit on the wording vectors (rows of entry i: ``offsets[i]:offsets[i+1]``).

        ``init`` (coef (dim, n_entries), intercept (n_entries,)): start from these weights,
        e.g. the previous KB version's, so a hot reload after a small edit converges in a
        fraction of the iterations (1,000 entries: ~1 minute cold).

        None when there is nothing to learn (fewer than two entries with wordings) or the KB
        is too large; the engine then fuses without this signal.
        """
        n_entries = len(offsets) - 1
        counts = np.diff(offsets)
        if n_entries < 2 or n_entries > MAX_ENTRIES or (counts > 0).sum() < 2:
            return None
        from sklearn.linear_model import LogisticRegression  # local import: scikit-learn is heavy

        labels = np.repeat(np.arange(n_entries), counts)
        start = time.perf_counter()
        warm = init is not None and bool((counts > 0).all()) and init[0].shape == (vectors.shape[1], n_entries)
        model = LogisticRegression(C=C_REG, max_iter=MAX_ITER, warm_start=warm)
        if warm and init is not None:
            model.coef_ = np.asarray(init[0], dtype=np.float64).T.copy()
            model.intercept_ = np.asarray(init[1], dtype=np.float64).copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: the last digits do not matter here
            model.fit(vectors, labels)
        coef = np.zeros((vectors.shape[1], n_entries), dtype=np.float32)
        intercept = np.full(n_entries, -1e4, dtype=np.float32)  # an entry without wordings never wins
        coef[:, model.classes_] = model.coef_.T
        intercept[model.classes_] = model.intercept_
        seconds = time.perf_counter() - start
        log.info(
            "FAQ entry classifier: %d entries, %d wordings, trained in %.2f s (%s start, %s iterations)",
            n_entries,
            len(labels),
            seconds,
            "warm" if warm else "cold",
            int(np.max(model.n_iter_)),
        )
        return cls(coef, intercept, index_hash, seconds)

    # --- persistence -------------------------------------------------------------------

    def save(self, index_dir: Path, encoder_id: str) -> None:
        atomic_write(
            Path(index_dir) / CLASSIFIER_FILE,
            lambda tmp: np.savez(
                tmp,
                coef=self.coef,
                intercept=self.intercept,
                index_hash=np.array(self.index_hash),
                encoder_id=np.array(encoder_id),
            ),
        )

    @classmethod
    def load(
        cls, index_dir: Path, index_hash: str, n_entries: int, dim: int, encoder_id: str
    ) -> EntryClassifier | None:
        """The stored classifier when it was trained on exactly these wordings' vectors by this
        encoder, else None."""
        path = Path(index_dir) / CLASSIFIER_FILE
        try:
            with np.load(path) as data:
                if str(data["index_hash"]) != index_hash or str(data["encoder_id"]) != encoder_id:
                    return None
                coef, intercept = data["coef"], data["intercept"]
        except (OSError, KeyError, ValueError):
            return None
        if coef.shape != (dim, n_entries) or intercept.shape != (n_entries,):
            return None
        return cls(coef, intercept, index_hash)

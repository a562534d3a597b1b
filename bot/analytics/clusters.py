"""Grouping similar merchant questions with the FAQ engine's own encoder.

Questions are normalised like the FAQ search does (``FaqEngine.prepare``), identical ones
count as one point, and the distinct texts are clustered agglomeratively (average linkage)
on cosine similarity: two groups merge while their questions are on average at least
``threshold`` alike. The result depends only on the texts, not on their order (they are
sorted first), so the same questions always give the same groups.

Encoding is the slow part (~4 ms a question with the offline encoder on 2 busy cores), so the
vectors and normalised texts are kept in a bounded in-process cache: the queue is listed again
and again over mostly the same questions, and each listing encodes only the new ones
(scripts/bench_unanswered.py measures both).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import lru_cache

import numpy as np

from bot.faq.engine import FaqEngine

CACHE_MAX = 10_000  # vectors kept (the offline encoder's 512 floats: ~20 MB)
_vectors_lock = threading.Lock()
_vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()


@lru_cache(maxsize=CACHE_MAX)
def prepared(text: str) -> str:
    """The FAQ search's normalisation of a question ('' when nothing searchable is left)."""
    return FaqEngine.prepare(text)


def encode(encoder, texts: list[str]) -> np.ndarray:
    """``encoder.encode(texts)``, from the cache where the same encoder saw a text before."""
    eid = str(getattr(encoder, "id", type(encoder).__name__))
    with _vectors_lock:
        missing = [t for t in dict.fromkeys(texts) if (eid, t) not in _vectors]
    if missing:
        fresh = np.asarray(encoder.encode(missing), dtype=np.float32)
        with _vectors_lock:
            for t, v in zip(missing, fresh):
                _vectors[(eid, t)] = v
            while len(_vectors) > CACHE_MAX:
                _vectors.popitem(last=False)
    with _vectors_lock:
        out = []
        for t in texts:
            v = _vectors.get((eid, t))
            if v is None:  # evicted meanwhile (more distinct texts than the cache holds)
                v = np.asarray(encoder.encode([t]), dtype=np.float32)[0]
            else:
                _vectors.move_to_end((eid, t))
            out.append(v)
    return np.stack(out)


def cluster_texts(texts: Sequence[str], encoder, threshold: float) -> list[list[int]]:
    """Indices into ``texts`` grouped by similarity; groups largest first, then by first index."""
    keys = [prepared(t) or f"\x00{t}" for t in texts]  # nothing searchable: only equal texts group
    distinct = sorted(set(keys))
    members: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        members.setdefault(k, []).append(i)
    labels = _labels([k for k in distinct if not k.startswith("\x00")], encoder, threshold)
    groups: dict[str, list[int]] = {}
    for k in distinct:
        label = labels.get(k, k)
        groups.setdefault(label, []).extend(members[k])
    out = [sorted(g) for g in groups.values()]
    return sorted(out, key=lambda g: (-len(g), g[0]))


def _labels(distinct: list[str], encoder, threshold: float) -> dict[str, str]:
    """Text -> the name of its cluster (the cluster's first text in sorted order)."""
    if len(distinct) < 2:
        return {k: k for k in distinct}
    from sklearn.cluster import AgglomerativeClustering  # local import: scikit-learn is heavy

    vectors = encode(encoder, distinct).astype(np.float64)
    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=1.0 - float(threshold)
    )
    assigned = model.fit_predict(vectors)
    first: dict[int, str] = {}
    for text, label in zip(distinct, assigned):
        first.setdefault(int(label), text)
    return {text: first[int(label)] for text, label in zip(distinct, assigned)}


SAMPLES = 5
TOP_CANDIDATES = 3


@dataclass
class Group:
    """Similar unanswered questions: ``key`` names the group while its oldest question is in it."""

    key: str
    question: str  # the most asked wording (latest spelling of it)
    count: int
    conversations: int
    first_seen: datetime
    last_seen: datetime
    samples: list[str]
    reasons: dict[str, int]  # none / suggest (offered, not taken) / down (👎 on the answer)
    candidates: list[dict]  # entries the engine found closest: id, question, category, score, hits
    category: str | None  # the best candidate's category: where a new entry would go
    ids: list[int] = field(repr=False, default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("ids")
        d["first_seen"] = self.first_seen.isoformat()
        d["last_seen"] = self.last_seen.isoformat()
        return d


def group_key(ids: Sequence[int]) -> str:
    return f"g{min(ids)}"


# Why a question is in the queue, as staff read it (served with /api/staff/labels).
REASON_LABELS = {"none": "没找到答案", "suggest": "给了候选没选", "down": "答案被点👎"}


def reason_of(q) -> str:
    if q.vote == "down":
        return "down"
    return "suggest" if q.decision == "suggest" else "none"


def group_questions(questions: Sequence, engine, threshold: float) -> list[Group]:
    """``questions`` (``bot.analytics.turns.Question``) as groups, most asked first."""
    if not questions:
        return []
    groups = []
    for idx in cluster_texts([q.query for q in questions], engine.encoder, threshold):
        members = [questions[i] for i in idx]
        by_text = Counter(prepared(m.query) or m.query for m in members)
        latest = sorted(members, key=lambda m: (m.created_at, m.id), reverse=True)
        spelled: dict[str, str] = {}
        for m in latest:
            spelled.setdefault(prepared(m.query) or m.query, m.query)
        ranked = sorted(by_text, key=lambda t: (-by_text[t], t))
        candidates = _candidates(members, engine)
        groups.append(
            Group(
                key=group_key([m.id for m in members]),
                question=spelled[ranked[0]],
                count=len(members),
                conversations=len({m.conversation_id for m in members}),
                first_seen=min(m.created_at for m in members),
                last_seen=max(m.created_at for m in members),
                samples=[spelled[t] for t in ranked[:SAMPLES]],
                reasons=dict(Counter(reason_of(m) for m in members)),
                candidates=candidates,
                category=candidates[0]["category"] if candidates else None,
                ids=sorted(m.id for m in members),
            )
        )
    return sorted(groups, key=lambda g: (-g.count, -g.last_seen.timestamp(), g.key))


def _candidates(members: Sequence, engine) -> list[dict]:
    hits: Counter = Counter()
    best: dict[str, float] = {}
    for m in members:
        for c in m.candidates:
            cid = c.get("id")
            if not cid:
                continue
            hits[cid] += 1
            best[cid] = max(best.get(cid, 0.0), float(c.get("score") or 0.0))
    out = []
    for cid in sorted(hits, key=lambda c: (-hits[c], -best[c], c)):
        entry = engine.get(cid)
        if entry is None:  # retired since
            continue
        out.append(
            {
                "id": cid,
                "question": entry.question,
                "category": entry.category,
                "score": round(best[cid], 4),
                "hits": hits[cid],
            }
        )
        if len(out) == TOP_CANDIDATES:
            break
    return out

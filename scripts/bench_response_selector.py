#!/usr/bin/env python
"""Baseline: Rasa's ResponseSelector trained on the FAQ knowledge base, scored on our eval set.

What it does, end to end:

1. writes Rasa NLU training data into a temp dir: one retrieval intent ``faq/<entry id>``
   per KB entry (question + paraphrases as examples, the answer as ``utter_faq/<id>``),
   plus two small chit-chat intents so DIET has more than one intent to tell apart;
2. trains it with the Rasa environment (``.venv-rasa/bin/rasa`` of the repo, else
   /tmp/probe/.venv-rasa; telemetry off): the project's jieba tokenizer and domain
   dictionary, word counts + CountVectorsFeaturizer char_wb 1-4, DIETClassifier and
   ResponseSelector, 100 epochs each;
3. parses every eval question with that model, inside the Rasa environment
   (``rasa.core.agent.Agent``), timing each parse;
4. scores the rankings exactly like our engine: ResponseSelector confidence is the
   score; thresholds come from the same cross-validation (``bot.faq.evaluate``, ``bot.faq.calibrate``).

Usage (from the repo root, app venv)::

    python scripts/bench_response_selector.py --out results/response_selector.json

``scripts/bench_faq.py --rasa results/response_selector.json`` merges the row into the
benchmark table. Training takes several minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.faq.evalset import eval_dir_of, load_eval  # noqa: E402
from bot.faq.loader import load_kb  # noqa: E402

CHITCHAT = {
    "greet": ["你好", "您好", "在吗", "有人吗", "hello", "早上好", "你好啊", "嗨"],
    "thanks": ["谢谢", "多谢", "好的谢谢", "感谢", "谢啦", "太感谢了", "thanks", "辛苦了"],
}

# Runs inside the Rasa environment (Python 3.10, rasa 3.6): parse each question, keep the ranking.
PARSE_SCRIPT = r"""
import asyncio, json, sys, time, logging
logging.disable(logging.WARNING)
from rasa.core.agent import Agent

async def main(model, questions_path, out_path):
    agent = Agent.load(model)
    questions = json.load(open(questions_path, encoding="utf-8"))
    for q in questions[:5]:
        await agent.parse_message(q)  # warm-up: first calls build TF graphs
    out = []
    for q in questions:
        t = time.perf_counter()
        r = await agent.parse_message(q)
        ms = (time.perf_counter() - t) * 1000.0
        sel = (r.get("response_selector") or {}).get("faq") or {}
        ranking = [
            [x.get("intent_response_key"), float(x.get("confidence") or 0.0)]
            for x in (sel.get("ranking") or [])
        ]
        out.append({"text": q, "intent": (r.get("intent") or {}).get("name"),
                    "intent_confidence": float((r.get("intent") or {}).get("confidence") or 0.0),
                    "ranking": ranking, "ms": ms})
    json.dump(out, open(out_path, "w", encoding="utf-8"), ensure_ascii=False)

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
"""


def rasa_env() -> Path:
    for cand in (ROOT / ".venv-rasa", Path("/tmp/probe/.venv-rasa")):
        if (cand / "bin" / "rasa").exists():
            return cand
    sys.exit("no Rasa environment: expected .venv-rasa/ in the repo or /tmp/probe/.venv-rasa")


def write_project(work: Path, kb, epochs: int) -> None:
    examples = "".join
    nlu = {"version": "3.1", "nlu": []}
    for e in kb.entries:
        nlu["nlu"].append({"intent": f"faq/{e.id}", "examples": examples(f"- {t}\n" for t in e.texts)})
    for intent, texts in CHITCHAT.items():
        nlu["nlu"].append({"intent": intent, "examples": examples(f"- {t}\n" for t in texts)})
    (work / "data").mkdir(parents=True, exist_ok=True)
    (work / "data" / "nlu.yml").write_text(yaml.safe_dump(nlu, allow_unicode=True, sort_keys=False), encoding="utf-8")
    domain = {
        "version": "3.1",
        "intents": ["faq", *CHITCHAT],
        "responses": {f"utter_faq/{e.id}": [{"text": e.answer}] for e in kb.entries},
    }
    (work / "domain.yml").write_text(yaml.safe_dump(domain, allow_unicode=True, sort_keys=False), encoding="utf-8")
    jieba_dir = ROOT / "data" / "jieba"
    tokenizer = {"name": "JiebaTokenizer"}
    if (ROOT / "bot" / "nlu" / "tokenizer.py").exists():
        tokenizer = {"name": "bot.nlu.tokenizer.CleanJiebaTokenizer"}
    if jieba_dir.is_dir():
        tokenizer["dictionary_path"] = str(jieba_dir)
    config = {
        "recipe": "default.v1",
        "language": "zh",
        "assistant_id": "faq-response-selector-baseline",
        "pipeline": [
            tokenizer,
            {"name": "CountVectorsFeaturizer"},
            {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
            {"name": "DIETClassifier", "epochs": epochs, "constrain_similarities": True, "random_seed": 42},
            {
                "name": "ResponseSelector",
                "epochs": epochs,
                "retrieval_intent": "faq",
                "constrain_similarities": True,
                "random_seed": 42,
            },
        ],
        "policies": [],
    }
    (work / "config.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--faq-dir", default=str(ROOT / "data" / "faq"))
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--out", default=str(ROOT / "results" / "response_selector.json"))
    ap.add_argument("--keep", action="store_true", help="Keep the temp Rasa project (prints its path).")
    args = ap.parse_args()

    kb = load_kb(args.faq_dir)
    evalset = load_eval(eval_dir_of(args.faq_dir), kb)
    venv = rasa_env()
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    work = Path(tempfile.mkdtemp(prefix="faq-rasa-"))
    write_project(work, kb, args.epochs)
    print(f"training ResponseSelector on {len(kb.entries)} entries in {work} ...", flush=True)
    t0 = time.perf_counter()
    subprocess.run(
        [
            str(venv / "bin" / "rasa"),
            "train",
            "nlu",
            "--config",
            "config.yml",
            "--nlu",
            "data/nlu.yml",
            "--domain",
            "domain.yml",
            "--out",
            "models",
            "--fixed-model-name",
            "faq",
        ],
        cwd=work,
        env=env,
        check=True,
    )
    train_s = time.perf_counter() - t0
    questions = [q.text for q in evalset.questions]
    (work / "questions.json").write_text(json.dumps(questions, ensure_ascii=False), encoding="utf-8")
    (work / "parse.py").write_text(PARSE_SCRIPT, encoding="utf-8")
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "parse.py",
            str(work / "models" / "faq.tar.gz"),
            "questions.json",
            "parsed.json",
        ],
        cwd=work,
        env=env,
        check=True,
    )
    parsed = json.loads((work / "parsed.json").read_text(encoding="utf-8"))
    result = {
        "system": "Rasa ResponseSelector",
        "epochs": args.epochs,
        "train_seconds": round(train_s, 1),
        "n_entries": len(kb.entries),
        "kb_hash": kb.content_hash,
        "questions": [
            {"text": q.text, "expected": q.expected, **p} for q, p in zip(evalset.questions, parsed, strict=True)
        ],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"trained in {train_s:.0f} s; wrote {out}")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"Rasa project kept in {work}")


if __name__ == "__main__":
    main()

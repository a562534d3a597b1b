#!/usr/bin/env python3
"""NLU quality benchmark: `rasa test nlu` cross-validation on data/nlu, intent macro-F1 per fold set.

Usage: .venv/bin/python scripts/bench_nlu.py [--folds 3] [--out docs/benchmarks-nlu.md]
Runs Rasa in .venv-rasa; takes several minutes (one training per fold).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.rasa_project import rasa_bin, rasa_env  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="write a markdown report here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        cmd = [str(rasa_bin()), "test", "nlu", "--nlu", "data/nlu", "--config", "config.yml",
               "--cross-validation", "--folds", str(args.folds), "--out", tmp]
        subprocess.run(cmd, cwd=ROOT, env=rasa_env(), check=True, stdout=subprocess.DEVNULL)
        elapsed = time.monotonic() - started
        report = json.loads((Path(tmp) / "intent_report.json").read_text())
        entity = Path(tmp) / "DIETClassifier_report.json"
        entity_report = json.loads(entity.read_text()) if entity.exists() else {}
    intents = {k: v for k, v in report.items() if isinstance(v, dict) and "f1-score" in v and k not in
               {"macro avg", "weighted avg", "micro avg"}}
    macro = report["macro avg"]["f1-score"]
    lines = [
        "# NLU benchmark",
        "",
        f"`rasa test nlu --cross-validation --folds {args.folds}` on `data/nlu` with `config.yml` "
        f"(command: `.venv/bin/python scripts/bench_nlu.py`; {elapsed:.0f} s on this 2-core machine).",
        "",
        f"**Intent macro-F1: {macro:.3f}** (accuracy {report.get('accuracy', float('nan')):.3f}); bar: 0.90.",
        "",
        "| intent | precision | recall | F1 | examples |",
        "|---|---|---|---|---|",
    ]
    for name, v in sorted(intents.items(), key=lambda kv: kv[1]["f1-score"]):
        lines.append(f"| {name} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1-score']:.3f} | {v['support']} |")
    if entity_report:
        lines += ["", "| entity (DIET) | precision | recall | F1 | examples |", "|---|---|---|---|---|"]
        for name, v in sorted(entity_report.items()):
            if isinstance(v, dict) and "f1-score" in v and name not in {"macro avg", "weighted avg", "micro avg"}:
                lines.append(f"| {name} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1-score']:.3f} | {v['support']} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

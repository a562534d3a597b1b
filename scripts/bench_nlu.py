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
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.rasa.project import rasa_bin, rasa_env  # noqa: E402

HISTORY = "<!-- bench_nlu: notes below are kept when this file is regenerated -->"


def read_results(out: Path) -> tuple[dict, dict, dict, list]:
    """Intent report, entity reports (DIET when configured, regex) and intent errors of a `rasa test nlu` output directory."""
    if not (out / "intent_report.json").exists():
        raise SystemExit(f"{out}: no intent_report.json; is it the --out directory of a finished `rasa test nlu` run?")

    def load(name: str, default):
        f = out / name
        return json.loads(f.read_text()) if f.exists() else default

    return (
        load("intent_report.json", None),
        load("DIETClassifier_report.json", {}),
        load("RegexEntityExtractor_report.json", {}),
        load("intent_errors.json", []),
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="write a markdown report here")
    ap.add_argument(
        "--results",
        type=Path,
        default=None,
        help="report on the --out directory of a cross-validation run made earlier instead of running one",
    )
    args = ap.parse_args()
    if args.results:
        report, entity_report, regex_report, errors = read_results(args.results)
        timing = "timing not recorded"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.monotonic()
            cmd = [
                str(rasa_bin()),
                "test",
                "nlu",
                "--nlu",
                "data/nlu",
                "--config",
                "config.yml",
                "--cross-validation",
                "--folds",
                str(args.folds),
                "--out",
                tmp,
            ]
            subprocess.run(cmd, cwd=ROOT, env=rasa_env(), check=True, stdout=subprocess.DEVNULL)
            timing = f"{time.monotonic() - started:.0f} s on this 2-core machine"
            report, entity_report, regex_report, errors = read_results(Path(tmp))
    intents = {
        k: v
        for k, v in report.items()
        if isinstance(v, dict) and "f1-score" in v and k not in {"macro avg", "weighted avg", "micro avg"}
    }
    macro = report["macro avg"]["f1-score"]
    lines = [
        "# NLU benchmark",
        "",
        f"`rasa test nlu --cross-validation --folds {args.folds}` on `data/nlu` with `config.yml` "
        f"(command: `.venv/bin/python scripts/bench_nlu.py`; {timing}).",
        "",
        f"**Intent macro-F1: {macro:.3f}** (accuracy {report.get('accuracy', float('nan')):.3f}); bar: 0.90.",
        "",
        "| intent | precision | recall | F1 | examples |",
        "|---|---|---|---|---|",
    ]
    for name, v in sorted(intents.items(), key=lambda kv: kv[1]["f1-score"]):
        lines.append(f"| {name} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1-score']:.3f} | {v['support']} |")
    for title, rep in (("DIET", entity_report), ("regex + lookup tables", regex_report)):
        rows = {
            k: v
            for k, v in rep.items()
            if isinstance(v, dict)
            and "f1-score" in v
            and v.get("precision")
            and k not in {"macro avg", "weighted avg", "micro avg"}
        }
        if rows:
            lines += ["", f"| entity ({title}) | precision | recall | F1 | examples |", "|---|---|---|---|---|"]
            for name, v in sorted(rows.items()):
                lines.append(
                    f"| {name} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1-score']:.3f} | {v['support']} |"
                )
    confusions = Counter((e["intent"], e["intent_prediction"]["name"]) for e in errors)
    if confusions:
        lines += [
            "",
            "Most frequent confusions (held-out predictions, one example each):",
            "",
            "| true intent | predicted | count | example |",
            "|---|---|---|---|",
        ]
        for (true, predicted), n in confusions.most_common(10):
            example = next(
                e["text"] for e in errors if (e["intent"], e["intent_prediction"]["name"]) == (true, predicted)
            )
            lines.append(f"| {true} | {predicted} | {n} | {example} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        # Notes written by hand below this marker (past comparisons) survive a re-run.
        kept = ""
        if args.out.exists() and HISTORY in (old := args.out.read_text()):
            kept = "\n" + HISTORY + old.split(HISTORY, 1)[1]
        args.out.write_text(text + kept)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

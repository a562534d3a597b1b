#!/usr/bin/env python
"""The chat as the merchant sees it: every real dev question through ``POST /api/chat``.

Starts a real stack (the cached Rasa model + the app service, on free loopback ports, SQLite
and the FAQ index in a temporary directory; the KB, lexicon, code table and committed
calibration of this checkout) or talks to a running one (``--url``). Each question goes in
as a new conversation (fresh sender id), and each reply is classified by
``actions.faq_replies.reply_kind``: the markers the FAQ actions build their replies from
(direct answer, response code, suggestions, topic question, "don't know", out of scope,
handoff, other).

Prints counts per kind and per topic and a sample of replies to read (questions included:
printed only). ``--markdown FILE`` writes the counts, never the questions' text (they stay
in ../shared). Target (reported, not asserted): "don't know" replies to in-scope questions
<= 3 %.

    .venv/bin/python scripts/bench_chat.py --markdown docs/benchmarks-chat.md
    .venv/bin/python scripts/bench_chat.py --url http://127.0.0.1:8000 --sample 5
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actions.faq_replies import KINDS, domain_out_of_scope_texts, reply_kind  # noqa: E402
from bot.faq.realset import load_real, real_dev_path  # noqa: E402

DONT_KNOW_TARGET = 0.03


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_stack(tmp: Path):
    """Rasa + app service as ``make run`` starts them, on free loopback ports."""
    from bot.core.db import upgrade
    from bot.core.settings import Settings
    from bot.rasa.project import train_if_needed
    from bot.rasa.stack import Stack

    model = train_if_needed()
    # Every question from one loopback IP: the per-IP rate limit is off unless the environment sets it.
    limits = {} if "POSBOT_RATE_LIMITS_ENABLED" in os.environ else {"rate_limits_enabled": False}
    settings = Settings(data_dir=tmp, host="127.0.0.1", port=free_port(), outbox_worker_enabled=False, **limits)
    upgrade(settings.effective_database_url)
    stack = Stack(model=model, settings=settings, rasa_port=free_port(), log_dir=tmp / "logs")
    stack.start()
    try:
        stack.wait_healthy(600)
    except Exception:
        stack.stop()
        for log in sorted((tmp / "logs").glob("*.log")):
            print(f"--- {log.name} ---\n" + log.read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    return stack


def run(url: str, questions, timeout_s: float) -> list[dict]:
    oos = domain_out_of_scope_texts(ROOT / "domain.yml")
    out = []
    with httpx.Client(base_url=url, timeout=timeout_s) as client:
        for i, q in enumerate(questions):
            sender = f"bench-{uuid.uuid4().hex[:12]}"
            # a new conversation as the widget starts one: a session token for this sender id
            s = client.post("/api/chat/session", json={"sender_id": sender})
            headers = {"Authorization": f"Bearer {s.json()['token']}"} if s.status_code == 200 else {}
            t = time.perf_counter()
            r = client.post("/api/chat", json={"sender_id": sender, "text": q.text}, headers=headers)
            ms = (time.perf_counter() - t) * 1000
            if r.status_code != 200:
                out.append({"q": q, "kind": "error", "messages": [], "status": str(r.status_code), "ms": ms})
                continue
            body = r.json()
            messages = body.get("messages") or []
            kind = reply_kind(messages, status=body.get("status", "ok"), out_of_scope_texts=oos)
            out.append({"q": q, "kind": kind, "messages": messages, "status": body.get("status"), "ms": ms})
            print(f"\r{i + 1}/{len(questions)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return out


def tables(results: list[dict]) -> str:
    kinds = [*KINDS, "error"]
    ins = [r for r in results if r["q"].in_scope]
    oos = [r for r in results if not r["q"].in_scope]

    def row(label: str, rows: list[dict]) -> str:
        c = Counter(r["kind"] for r in rows)
        return f"| {label} | {len(rows)} | " + " | ".join(str(c.get(k, 0)) for k in kinds) + " |"

    head = "| questions | n | " + " | ".join(kinds) + " |\n|---|---|" + "---|" * len(kinds)
    lines = [head, row("in scope", ins), row("out of scope", oos)]
    by_topic: dict[str, list[dict]] = defaultdict(list)
    for r in ins:
        by_topic[r["q"].topic].append(r)
    topic_lines = [head.replace("questions", "in-scope topic")] + [row(t, rs) for t, rs in sorted(by_topic.items())]
    n_in = max(1, len(ins))
    dk = sum(r["kind"] == "dont_know" for r in ins) / n_in
    oos_in = sum(r["kind"] == "out_of_scope" for r in ins) / n_in
    helped = sum(r["kind"] in ("answer", "code", "suggestions", "topic") for r in ins) / n_in
    rejected = sum(r["kind"] == "out_of_scope" for r in oos) / max(1, len(oos))
    ms = sorted(r["ms"] for r in results)
    p50 = ms[len(ms) // 2] if ms else 0.0
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))] if ms else 0.0
    summary = (
        f'- "don\'t know" replies to in-scope questions: **{dk:.1%}** (target <= {DONT_KNOW_TARGET:.0%})\n'
        f"- in-scope questions declined as out of scope: {oos_in:.1%}\n"
        f"- in-scope questions answered, explained (codes), offered choices or asked their area: {helped:.1%}\n"
        f"- out-of-scope questions declined: {rejected:.1%}\n"
        f"- reply time through /api/chat (Rasa + actions): p50 {p50:.0f} ms, p95 {p95:.0f} ms\n"
    )
    return summary + "\n" + "\n".join(lines) + "\n\nBy topic (in scope):\n\n" + "\n".join(topic_lines) + "\n"


def sample(results: list[dict], per_kind: int, seed: int) -> str:
    rng = random.Random(seed)
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        by_kind[r["kind"]].append(r)
    out = []
    for kind in [*KINDS, "error"]:
        rows = by_kind.get(kind) or []
        for r in rng.sample(rows, min(per_kind, len(rows))):
            scope = "in" if r["q"].in_scope else "OOS"
            out.append(f"[{kind}] ({scope}/{r['q'].topic}) {r['q'].text}")
            for m in r["messages"]:
                text = (m.get("text") or "").replace("\n", " / ")
                buttons = " | ".join(b.get("title", "") for b in m.get("buttons") or [])
                out.append(f"    bot: {text[:160]}" + (f"  [{buttons}]" if buttons else ""))
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="A running app service (default: start a stack of this checkout).")
    ap.add_argument("--markdown", type=Path, help="Write the counts (no question text) to this file.")
    ap.add_argument("--sample", type=int, default=3, help="Replies to print per kind (default 3).")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()

    questions = load_real()
    if questions is None:
        print(f"real dev set not found at {real_dev_path()}: nothing to benchmark", file=sys.stderr)
        return 0
    stack = None
    tmp = None
    try:
        url = args.url
        if url is None:
            tmp = tempfile.TemporaryDirectory(prefix="bench-chat-")
            print("starting Rasa + app service (trains the model only when its inputs changed) ...", file=sys.stderr)
            stack = start_stack(Path(tmp.name))
            url = stack.app_url
        results = run(url, questions, args.timeout)
    finally:
        if stack is not None:
            stack.stop()
        if tmp is not None:
            tmp.cleanup()
    report = tables(results)
    print(report)
    print("Sample of replies (printed only):\n" + sample(results, args.sample, args.seed))
    if args.markdown:
        when = time.strftime("%Y-%m-%d")
        n_in = sum(r["q"].in_scope for r in results)
        args.markdown.write_text(
            "# Chat benchmark: the real dev questions through /api/chat\n\n"
            f"Measured {when} with `.venv/bin/python scripts/bench_chat.py --markdown {args.markdown}`: "
            f"{n_in} in-scope and {len(results) - n_in} out-of-scope questions from "
            "`../shared/data/merchant_questions/dev.tsv`, each as a new conversation, through a real stack "
            "(Rasa model + app service) of this checkout. Reply kinds come from the markers the FAQ actions "
            "build their replies from (`actions/faq_replies.py`). The questions themselves are not reproduced "
            "here.\n\n" + report,
            encoding="utf-8",
        )
        print(f"wrote {args.markdown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

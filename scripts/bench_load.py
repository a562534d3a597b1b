#!/usr/bin/env python3
"""Load benchmark of the whole assistant: multi-turn Chinese conversations through the chat API.

What it measures, in one run, side by side:

* **ours**: the app service's ``POST /api/chat`` (the full path: app -> Rasa -> actions in
  the app -> database), started from the cached model exactly as ``posbot up`` starts it,
  on SQLite in a temporary data dir; with ``--rasa-direct`` also our Rasa REST channel alone.
* **stock**: a stock Rasa bot that the script builds itself (``rasa init --no-prompt`` in a
  temporary folder, same ``.venv-rasa``, REST channel, in-memory tracker store): the anchor.
  Our throughput is printed as a ratio of it, so a busy machine moves both alike.
* **scaled** (``--scaled``): one and then two Rasa + app instances on PostgreSQL
  (127.0.0.1:5432, a database created and dropped here) and Redis (lock store), every
  message sent to a random instance, as tests/e2e/test_production_topology.py runs them.

Workloads: a closed loop (``--concurrency`` conversations in flight for ``--duration``
seconds, each sends its next turn when the previous reply arrived), an open loop
(messages arrive as a Poisson process at ``--rate`` per second), sequential turns, and
the growth test (one conversation of ``--growth-turns`` messages: the cost of its last
turns against its first). Conversations: FAQ questions, a repair ticket form filled to the
end and its status looked up, a lookup of someone else's ticket, a handoff to a person.
Every reply is checked (HTTP status, and the text the merchant must see at that step):
a wrong reply is an error. Peak RSS of each process tree is sampled from /proc.

Usage::

    .venv/bin/python scripts/bench_load.py                      # everything but --scaled
    .venv/bin/python scripts/bench_load.py --scaled --out docs/benchmarks.md
    .venv/bin/python scripts/bench_load.py --only closed --duration 20 --concurrency 20

With ``--out`` the results replace the block between the ``bench_load`` markers of that
file (the rest of the file is kept). Runs only against 127.0.0.1 and stops everything it
started.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.settings import Settings  # noqa: E402
from bot.rasa.project import RASA_VENV, math_thread_env, rasa_bin, rasa_env, train_if_needed  # noqa: E402

BEGIN, END = "<!-- bench_load:begin -->", "<!-- bench_load:end -->"
PG_ADMIN_URL = os.environ.get("POSBOT_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("POSBOT_BENCH_REDIS", "redis://127.0.0.1:6379/0")
TICKET_RE = re.compile(r"GD\d{8}-[2-9A-HJKMNP-Z]{6}")
# Shared by every instance of a run, as in production: a session token from one app instance
# is valid at the other, and both decrypt the phone vault.
RUN_SECRET = uuid.uuid4().hex + uuid.uuid4().hex


# --- conversations ------------------------------------------------------------------------


@dataclass
class Turn:
    kind: str  # smalltalk | faq | form | status | handoff
    text: str | Callable[[dict], str]  # a callable gets the conversation's memory (ticket number)
    expect: str | None = None  # text the merchant must see; None: any non-empty reply
    status: str = "ok"  # the chat API's status: ok | handoff


def click(title: str) -> Callable[[dict], str]:
    """The payload of the button with this title that the bot offered last (what the widget sends)."""

    def payload(memory: dict) -> str:
        for b in memory.get("buttons", []):
            if b.get("title") == title:
                return b["payload"]
        raise ValueError(f"no button {title!r} offered")

    return payload


OURS: dict[str, list[Turn]] = {
    "faq": [
        Turn("smalltalk", "你好"),
        Turn("faq", "结算款什么时候到账"),
        Turn("faq", "手续费怎么算"),
        Turn("faq", "新机器怎么激活"),
        Turn("faq", "签到失败怎么办"),
        Turn("smalltalk", "谢谢"),
    ],
    "ticket": [
        Turn("faq", "打印机提示缺纸", "试完点下面告诉我结果"),
        Turn("form", click("试了还是不行"), "故障报修工单"),
        Turn("form", click("登记工单"), "15位商户号"),
        Turn("form", "898310048161234", "8位终端号"),
        Turn("form", "21450093", "手机号"),
        Turn("form", "13812345678", "请核对工单信息"),
        Turn("form", click("确认提交"), "工单已提交"),
        Turn("status", lambda memory: f"查一下工单 {memory['ticket']}", "状态：待处理"),
        Turn("smalltalk", "谢谢"),
    ],
    "status": [
        Turn("smalltalk", "你好"),
        Turn("status", "帮我查一下工单 GD20260101-K7M2QX"),
        Turn("faq", "打印机不出纸了"),
    ],
    "handoff": [
        Turn("faq", "机器一直签到失败"),
        Turn("handoff", "转人工", status="handoff"),
    ],
}
OURS_MIX = ["faq", "ticket", "status", "handoff"]

STOCK: dict[str, list[Turn]] = {
    "happy": [
        Turn("smalltalk", "hello", "How are you?"),
        Turn("smalltalk", "I am great", "Great, carry on!"),
        Turn("smalltalk", "are you a bot?", "I am a bot"),
        Turn("smalltalk", "bye", "Bye"),
    ],
    "sad": [
        Turn("smalltalk", "hi", "How are you?"),
        Turn("smalltalk", "I am very sad", "Here is something to cheer you up"),
        Turn("smalltalk", "yes", "Great, carry on!"),
        Turn("smalltalk", "goodbye", "Bye"),
    ],
}
STOCK_MIX = ["happy", "sad"]

GROWTH_CYCLE = ["你好", "结算款什么时候到账", "谢谢", "手续费怎么算"]


# --- targets ------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    urls: list[str]
    api: str  # "chat" (our /api/chat) | "rest" (a Rasa REST channel)
    conversations: dict[str, list[Turn]]
    mix: list[str]
    pids: dict[str, int] = field(default_factory=dict)  # server processes whose CPU time is counted, by role

    async def send(self, client: httpx.AsyncClient, sender: str, text: str, memory: dict) -> tuple[bool, str, str]:
        """(http ok, status, joined reply text); the offered buttons go to ``memory["buttons"]``.

        Our chat API wants the session token the widget gets for its sender id: the first turn of
        a conversation starts the session (that request counts in the turn's latency)."""
        url = random.choice(self.urls)
        if self.api == "chat":
            if "token" not in memory:
                r = await client.post(f"{url}/api/chat/session", json={"sender_id": sender})
                if r.status_code != 200:
                    return False, f"HTTP {r.status_code} (session)", ""
                memory["token"] = r.json()["token"]
            r = await client.post(
                f"{url}/api/chat",
                json={"sender_id": sender, "text": text},
                headers={"Authorization": f"Bearer {memory['token']}"},
            )
            if r.status_code != 200:
                return False, f"HTTP {r.status_code}", ""
            body = r.json()
            memory["buttons"] = [b for m in body.get("messages", []) for b in m.get("buttons", [])]
            return True, body.get("status", ""), "\n".join(m.get("text", "") for m in body.get("messages", []))
        r = await client.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text})
        if r.status_code != 200:
            return False, f"HTTP {r.status_code}", ""
        return True, "ok", "\n".join(m.get("text", "") or "" for m in r.json() or [])


@dataclass
class Sample:
    kind: str
    latency: float
    ok: bool
    at: float


@dataclass
class Result:
    samples: list[Sample] = field(default_factory=list)
    wall: float = 0.0
    errors: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per role in the measured window

    def cpu_cell(self) -> str:
        if not self.n or not self.cpu:
            return "-"
        per = {role: 1000 * sec / self.n for role, sec in self.cpu.items()}
        total = sum(per.values())
        return (
            f"{total:.0f}"
            if len(per) == 1
            else f"{total:.0f} (" + " + ".join(f"{r} {v:.0f}" for r, v in per.items()) + ")"
        )

    def add(self, s: Sample, error: str | None = None) -> None:
        self.samples.append(s)
        if error and len(self.errors) < 5:
            self.errors.append(error)

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def n_errors(self) -> int:
        return sum(1 for s in self.samples if not s.ok)

    @property
    def rate(self) -> float:
        return sum(1 for s in self.samples if s.ok) / self.wall if self.wall else 0.0


class Conversation:
    def __init__(self, target: Target, name: str):
        self.target = target
        self.turns = target.conversations[name]
        self.sender = f"bench-{name}-{uuid.uuid4().hex[:12]}"
        self.i = 0
        self.memory: dict = {}
        self.failed = False

    @property
    def done(self) -> bool:
        return self.failed or self.i >= len(self.turns)

    async def step(self, client: httpx.AsyncClient, result: Result | None) -> None:
        turn = self.turns[self.i]
        self.i += 1
        t0 = time.perf_counter()
        error = None
        text = turn.text if isinstance(turn.text, str) else "<click>"
        try:
            text = turn.text(self.memory) if callable(turn.text) else turn.text
            http_ok, status, reply = await self.target.send(client, self.sender, text, self.memory)
        except (httpx.HTTPError, ValueError) as e:
            http_ok, status, reply = False, type(e).__name__, ""
        latency = time.perf_counter() - t0
        if not http_ok:
            error = f"{text!r}: {status}"
        elif status != turn.status:
            error = f"{text!r}: status {status}, expected {turn.status}: {reply[:80]!r}"
        elif turn.expect and turn.expect not in reply:
            error = f"{text!r}: expected {turn.expect!r} in {reply[:120]!r}"
        elif not turn.expect and turn.status == "ok" and not reply.strip():
            error = f"{text!r}: empty reply"
        if (m := TICKET_RE.search(reply)) and "工单已提交" in reply:
            self.memory["ticket"] = m.group(0)
        if error:
            self.failed = True  # the rest of this conversation would only repeat the error
        if result is not None:
            result.add(Sample(turn.kind, latency, error is None, time.perf_counter()), error)


def _mix(target: Target):
    i = 0
    while True:
        yield target.mix[i % len(target.mix)]
        i += 1


async def closed_loop(target: Target, concurrency: int, duration: float, warmup: float) -> Result:
    result = Result()
    names = _mix(target)
    limits = httpx.Limits(max_connections=concurrency + 8, max_keepalive_connections=concurrency + 8)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        start = time.perf_counter()
        record_from = start + warmup
        stop_at = record_from + duration

        async def worker() -> None:
            while time.perf_counter() < stop_at:
                conv = Conversation(target, next(names))
                while not conv.done and time.perf_counter() < stop_at:
                    await conv.step(client, result if time.perf_counter() >= record_from else None)

        async def cpu_window() -> None:
            await asyncio.sleep(max(0.0, record_from - time.perf_counter()))
            before = cpu_by_role(target.pids)
            await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
            after = cpu_by_role(target.pids)
            result.cpu = {r: after[r] - before[r] for r in after}

        await asyncio.gather(cpu_window(), *(worker() for _ in range(concurrency)))
        end = time.perf_counter()
    # only replies that started in the measured window count; the window is [record_from, stop_at)
    result.samples = [s for s in result.samples if s.at - s.latency >= record_from]
    result.wall = min(end, stop_at + 60) - record_from
    return result


async def open_loop(target: Target, rate: float, duration: float, warmup: float) -> Result:
    """Messages arrive as a Poisson process; each goes to a conversation that is not waiting for a reply."""
    result = Result()
    names = _mix(target)
    idle: list[Conversation] = []
    tasks: set[asyncio.Task] = set()
    rng = random.Random(7)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as client:
        start = time.perf_counter()
        record_from = start + warmup
        stop_at = record_from + duration
        due = start
        cpu_start = None

        async def run(conv: Conversation, record: bool) -> None:
            await conv.step(client, result if record else None)
            if not conv.done:
                idle.append(conv)

        while True:
            due += rng.expovariate(rate)
            if due >= stop_at:
                break
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            conv = idle.pop(0) if idle else Conversation(target, next(names))
            task = asyncio.create_task(run(conv, due >= record_from))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if due >= record_from and cpu_start is None:
                cpu_start = cpu_by_role(target.pids)
        if tasks:
            await asyncio.gather(*list(tasks))
        after = cpu_by_role(target.pids)
        result.cpu = {r: after[r] - (cpu_start or {}).get(r, 0.0) for r in after}
    result.wall = duration
    return result


async def sequential(target: Target, conversations: int) -> Result:
    result = Result()
    names = _mix(target)
    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(2):  # warm-up conversations, not recorded
            conv = Conversation(target, next(names))
            while not conv.done:
                await conv.step(client, None)
        t0, cpu0 = time.perf_counter(), cpu_by_role(target.pids)
        for _ in range(conversations):
            conv = Conversation(target, next(names))
            while not conv.done:
                await conv.step(client, result)
        result.wall = time.perf_counter() - t0
        after = cpu_by_role(target.pids)
        result.cpu = {r: after[r] - cpu0[r] for r in after}
    return result


async def growth(target: Target, turns: int, window: int) -> dict:
    """One conversation of ``turns`` messages: its first vs its last ``window`` turns (latency and server CPU)."""
    sender = f"bench-growth-{uuid.uuid4().hex[:12]}"
    latencies: list[float] = []
    cpu: list[float] = []
    errors = 0
    memory: dict = {}
    async with httpx.AsyncClient(timeout=60) as client:
        for i in range(turns):
            c0, t0 = cpu_seconds(list(target.pids.values())), time.perf_counter()
            try:
                ok, status, reply = await target.send(client, sender, GROWTH_CYCLE[i % len(GROWTH_CYCLE)], memory)
            except httpx.HTTPError:
                ok, status, reply = False, "", ""
            latencies.append(time.perf_counter() - t0)
            await asyncio.sleep(0.02)  # let the servers finish the turn's bookkeeping before reading CPU
            cpu.append(cpu_seconds(list(target.pids.values())) - c0)
            errors += 0 if ok and status == "ok" and reply.strip() else 1
    first, last = statistics.median(latencies[:window]), statistics.median(latencies[-window:])
    cpu_first, cpu_last = statistics.mean(cpu[:window]), statistics.mean(cpu[-window:])
    return {
        "turns": turns,
        "window": window,
        "first_ms": first * 1000,
        "last_ms": last * 1000,
        "ratio": last / first,
        "cpu_first_ms": cpu_first * 1000,
        "cpu_last_ms": cpu_last * 1000,
        "cpu_ratio": cpu_last / cpu_first if cpu_first else float("nan"),
        "errors": errors,
    }


# --- processes ----------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes and their descendants (robust to a busy machine)."""
    total = 0
    for root in pids:
        for p in _tree(root):
            try:
                with open(f"/proc/{p}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            except (OSError, IndexError, ValueError):
                pass
    return total / CLOCK_TICKS


def cpu_by_role(pids: dict[str, int]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for role, pid in pids.items():
        out[role.split("#")[0]] += cpu_seconds([pid])
    return dict(out)


class RssSampler:
    """Peak RSS of each named process tree (pid and its descendants), sampled every 0.25 s."""

    def __init__(self):
        self.pids: dict[str, int] = {}
        self.peak_kb: dict[str, int] = defaultdict(int)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, name: str, pid: int) -> None:
        self.pids[name] = pid

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.sample()

    def sample(self) -> None:
        for name, pid in list(self.pids.items()):
            self.peak_kb[name] = max(self.peak_kb[name], sum(_rss_kb(p) for p in _tree(pid)))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.sample()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}; log: {log}\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=3).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{url} not up after {timeout_s:.0f}s; log: {log}")


def stop_proc(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def rasa_version() -> str:
    out = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), "-c", "import rasa; print(rasa.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def build_stock_bot(work: Path, cache: Path | None) -> Path:
    """``rasa init --no-prompt`` in ``work`` (it trains the default model); returns the project dir.

    With ``cache`` a project trained earlier by the same Rasa version is copied instead
    (``rasa init`` trains DIET and TED for about two minutes on a busy machine).
    """
    project = work / "stock-bot"
    if cache and (cache / "models").is_dir() and any((cache / "models").glob("*.tar.gz")):
        shutil.copytree(cache, project)
        return project
    project.mkdir(parents=True)
    print(f"building the stock Rasa bot (rasa init) in {project} ...", file=sys.stderr)
    subprocess.run(
        [str(rasa_bin()), "init", "--no-prompt", "--init-dir", str(project)],
        cwd=project,
        env=rasa_env(),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if cache:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.copytree(project, cache)
    return project


def start_stock_bot(project: Path, log_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = log_dir / "stock-rasa.log"
    env = rasa_env() | math_thread_env(Settings().math_threads)  # the same as ours (bot.rasa.stack)
    proc = subprocess.Popen(
        [
            str(rasa_bin()),
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-m",
            str(project / "models"),
            "--credentials",
            str(project / "credentials.yml"),
            "--endpoints",
            str(project / "endpoints.yml"),
        ],
        cwd=project,
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/", proc, 300, log)
    return proc, url


def start_ours(tmp: Path, model: Path, database_url: str = "", redis_url: str = ""):
    from bot.core.db import upgrade
    from bot.rasa.stack import Stack

    # Hundreds of conversations from one loopback IP are a flood to the per-IP rate limit: the bench
    # measures throughput, so limits are off unless POSBOT_RATE_LIMITS_ENABLED / POSBOT_RATE_LIMIT_* say otherwise.
    limits = {} if "POSBOT_RATE_LIMITS_ENABLED" in os.environ else {"rate_limits_enabled": False}
    settings = Settings(
        data_dir=tmp,
        database_url=database_url,
        redis_url=redis_url,
        host="127.0.0.1",
        port=free_port(),
        outbox_worker_enabled=False,
        chat_session_secret=RUN_SECRET,
        pii_vault_key=RUN_SECRET,
        **limits,
    )
    upgrade(settings.effective_database_url)
    stack = Stack(model=model, settings=settings, rasa_port=free_port(), log_dir=tmp / "logs")
    stack.start()
    return stack


def create_pg_database() -> str:
    import sqlalchemy as sa

    name = f"posbot_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(url: str) -> None:
    import sqlalchemy as sa

    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# --- reporting ----------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    k = min(len(v) - 1, max(0, round(q / 100 * (len(v) - 1))))
    return v[k]


def ms(x: float) -> str:
    return "-" if x != x else f"{x * 1000:.0f}"


def summary_rows(label: str, res: Result, kinds: bool = True) -> list[str]:
    lat = [s.latency for s in res.samples if s.ok]
    rows = [
        f"| {label} | all | {res.n} | {res.rate:.1f} | {ms(pct(lat, 50))} | {ms(pct(lat, 95))} | "
        f"{ms(pct(lat, 99))} | {res.n_errors} | {res.cpu_cell()} |"
    ]
    if kinds:
        by: dict[str, list[Sample]] = defaultdict(list)
        for s in res.samples:
            by[s.kind].append(s)
        for kind in sorted(by):
            k_lat = [s.latency for s in by[kind] if s.ok]
            errs = sum(1 for s in by[kind] if not s.ok)
            rows.append(
                f"| | {kind} | {len(by[kind])} | | {ms(pct(k_lat, 50))} | {ms(pct(k_lat, 95))} | "
                f"{ms(pct(k_lat, 99))} | {errs} | |"
            )
    return rows


TABLE_HEAD = [
    "| target | turn | messages | msg/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms/msg (Rasa + app) |",
    "|---|---|---|---|---|---|---|---|---|",
]


def machine() -> str:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        mem = f"{int(open('/proc/meminfo').readline().split()[1]) / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores ({cpu}), {mem} RAM, {platform.system()} {platform.release()}, load average at start {load}"


def write_out(path: Path, block: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    new = f"{BEGIN}\n{block.rstrip()}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + new + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + new + "\n"
    path.write_text(text)


# --- main ---------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=20, help="closed loop: conversations in flight")
    ap.add_argument("--duration", type=float, default=30, help="seconds measured per closed/open-loop run")
    ap.add_argument("--warmup", type=float, default=5, help="seconds of load before measuring")
    ap.add_argument("--rate", type=float, default=10, help="open loop: messages per second")
    ap.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="closed loop: alternate stock and ours this many times (medians are reported)",
    )
    ap.add_argument("--sequential", type=int, default=6, help="conversations sent one turn at a time")
    ap.add_argument("--growth-turns", type=int, default=200)
    ap.add_argument("--growth-window", type=int, default=20)
    ap.add_argument(
        "--only",
        action="append",
        choices=["closed", "open", "sequential", "growth"],
        help="run only these workloads (repeatable)",
    )
    ap.add_argument("--rasa-direct", action="store_true", help="also load our Rasa REST channel directly")
    ap.add_argument("--scaled", action="store_true", help="also 1 vs 2 instances on PostgreSQL + Redis")
    ap.add_argument("--no-stock", action="store_true", help="skip the stock Rasa anchor")
    ap.add_argument("--model", type=Path, help="Rasa model (default: the cached one, trained if needed)")
    ap.add_argument(
        "--anchor-cache",
        type=Path,
        default=None,
        help="reuse the stock bot trained earlier in this folder (default: var/bench/stock-rasa-<version>)",
    )
    ap.add_argument("--rebuild-anchor", action="store_true", help="build the stock bot afresh")
    ap.add_argument("--out", type=Path, help="markdown file whose bench_load block gets the results")
    args = ap.parse_args()
    workloads = set(args.only or ["closed", "open", "sequential", "growth"])
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

    model = args.model or train_if_needed()
    tmp = Path(tempfile.mkdtemp(prefix="posbot-bench-"))
    (tmp / "logs").mkdir()
    rss = RssSampler()
    procs: list[subprocess.Popen] = []
    stacks = []
    pg_url = ""
    lines: list[str] = []
    started_at = datetime.now(UTC)
    mach = machine()
    try:
        print("starting our stack ...", file=sys.stderr)
        ours = start_ours(tmp / "ours", model)
        stacks.append(ours)
        stock_url = None
        if not args.no_stock:
            cache = args.anchor_cache or ROOT / "var" / "bench" / f"stock-rasa-{rasa_version()}"
            if args.rebuild_anchor:
                shutil.rmtree(cache, ignore_errors=True)
            project = build_stock_bot(tmp, cache)
            stock_proc, stock_url = start_stock_bot(project, tmp / "logs")
            procs.append(stock_proc)
            rss.watch("stock rasa", stock_proc.pid)
        ours.wait_healthy(300)
        rss.watch("our rasa", ours.procs["rasa"].pid)
        rss.watch("our app", ours.procs["app"].pid)
        rss.start()

        our_pids = {"rasa": ours.procs["rasa"].pid, "app": ours.procs["app"].pid}
        t_ours = Target("ours (app /api/chat)", [ours.app_url], "chat", OURS, OURS_MIX, our_pids)
        t_direct = Target("ours (Rasa REST)", [ours.rasa_url], "rest", OURS, OURS_MIX, our_pids)
        t_stock = (
            Target("stock Rasa (REST)", [stock_url], "rest", STOCK, STOCK_MIX, {"rasa": procs[0].pid})
            if stock_url
            else None
        )

        closed: dict[str, list[Result]] = defaultdict(list)
        if "closed" in workloads:
            lines += [
                "### Closed loop",
                "",
                f"{args.concurrency} conversations in flight, {args.duration:.0f} s measured after {args.warmup:.0f} s "
                f"of warm-up, {args.rounds} alternating round(s) per target (the round with the median msg/s is shown).",
                "",
                *TABLE_HEAD,
            ]
            order = [t for t in (t_stock, t_ours, t_direct if args.rasa_direct else None) if t]
            for r in range(args.rounds):
                for t in order:
                    print(f"closed loop round {r + 1}: {t.name} ...", file=sys.stderr)
                    closed[t.name].append(asyncio.run(closed_loop(t, args.concurrency, args.duration, args.warmup)))
            for t in order:
                runs = sorted(closed[t.name], key=lambda x: x.rate)
                lines += summary_rows(t.name, runs[len(runs) // 2])
            if t_stock:
                ours_rates = sorted(x.rate for x in closed[t_ours.name])
                stock_rates = sorted(x.rate for x in closed[t_stock.name])
                ratios = [o.rate / s.rate for o, s in zip(closed[t_ours.name], closed[t_stock.name]) if s.rate]
                lines += [
                    "",
                    f"**ours / stock = {statistics.median(ratios):.2f}** (per round: "
                    + ", ".join(f"{x:.2f}" for x in ratios)
                    + "); msg/s per round: ours "
                    + ", ".join(f"{x:.1f}" for x in ours_rates)
                    + ", stock "
                    + ", ".join(f"{x:.1f}" for x in stock_rates)
                    + ".",
                ]
            errs = [e for t in order for run in closed[t.name] for e in run.errors]
            if errs:
                lines += ["", "First errors: " + "; ".join(f"`{e}`" for e in errs[:5])]
        if "open" in workloads:
            lines += [
                "",
                "### Open loop",
                "",
                f"Poisson arrivals at {args.rate:g} messages/s for {args.duration:.0f} s.",
                "",
                *TABLE_HEAD,
            ]
            for t in [x for x in (t_stock, t_ours) if x]:
                print(f"open loop: {t.name} ...", file=sys.stderr)
                lines += summary_rows(t.name, asyncio.run(open_loop(t, args.rate, args.duration, args.warmup)))
        if "sequential" in workloads:
            lines += [
                "",
                "### Sequential turns",
                "",
                f"One message at a time, {args.sequential} conversations.",
                "",
                *TABLE_HEAD,
            ]
            for t in [x for x in (t_stock, t_ours) if x]:
                print(f"sequential: {t.name} ...", file=sys.stderr)
                n = args.sequential * (2 if t is t_stock else 1)
                lines += summary_rows(t.name, asyncio.run(sequential(t, n)))
        if "growth" in workloads:
            print("growth ...", file=sys.stderr)
            g = asyncio.run(growth(t_ours, args.growth_turns, args.growth_window))
            lines += [
                "",
                "### Growth",
                "",
                f"One conversation of {g['turns']} messages ({' / '.join(GROWTH_CYCLE)}, repeated) through "
                f"`/api/chat`, first {g['window']} turns vs last {g['window']}:",
                "",
                "| | first turns | last turns | last / first |",
                "|---|---|---|---|",
                f"| median latency ms | {g['first_ms']:.0f} | {g['last_ms']:.0f} | **{g['ratio']:.2f}** |",
                f"| mean server CPU ms per turn (Rasa + app) | {g['cpu_first_ms']:.0f} | {g['cpu_last_ms']:.0f} | "
                f"**{g['cpu_ratio']:.2f}** |",
                "",
                f"{g['errors']} errors.",
            ]

        if args.scaled:
            print("scaled topology: PostgreSQL + Redis ...", file=sys.stderr)
            pg_url = create_pg_database()
            scaled = [start_ours(tmp / f"scaled{i}", model, database_url=pg_url, redis_url=REDIS_URL) for i in range(2)]
            stacks += scaled
            for i, s in enumerate(scaled):
                s.wait_healthy(300)
                rss.watch(f"scaled rasa {i + 1}", s.procs["rasa"].pid)
                rss.watch(f"scaled app {i + 1}", s.procs["app"].pid)
            one = Target(
                "1 Rasa + 1 app, PostgreSQL + Redis",
                [scaled[0].app_url],
                "chat",
                OURS,
                OURS_MIX,
                {"rasa": scaled[0].procs["rasa"].pid, "app": scaled[0].procs["app"].pid},
            )
            two = Target(
                "2 Rasa + 2 app, PostgreSQL + Redis",
                [s.app_url for s in scaled],
                "chat",
                OURS,
                OURS_MIX,
                {f"{name}#{i}": p.pid for i, s in enumerate(scaled) for name, p in s.procs.items()},
            )
            lines += [
                "",
                "### Scaled topology",
                "",
                f"Closed loop, {args.concurrency} in flight; with two instances every message goes to a random app "
                "instance (no stickiness), each app to its own Rasa.",
                "",
                *TABLE_HEAD,
            ]
            res = {}
            for t in (one, two):
                print(f"closed loop: {t.name} ...", file=sys.stderr)
                res[t.name] = asyncio.run(closed_loop(t, args.concurrency, args.duration, args.warmup))
                lines += summary_rows(t.name, res[t.name], kinds=False)
            if res[one.name].rate:
                lines += [
                    "",
                    f"**two / one = {res[two.name].rate / res[one.name].rate:.2f}** on {os.cpu_count()} cores.",
                ]

        rss.stop()
        total = sum(rss.peak_kb.values())
        lines += ["", "### Memory", "", "| process (with its children) | peak RSS MiB |", "|---|---|"]
        lines += [f"| {name} | {kb / 1024:.0f} |" for name, kb in rss.peak_kb.items()]
        ours_total = sum(kb for name, kb in rss.peak_kb.items() if name.startswith("our"))
        lines += [
            f"| ours together (one Rasa + one app) | {ours_total / 1024:.0f} |",
            f"| everything this run started | {total / 1024:.0f} |",
        ]
    finally:
        rss.stop()
        for s in stacks:
            s.stop()
        for p in procs:
            stop_proc(p)
        if pg_url:
            drop_pg_database(pg_url)
        shutil.rmtree(tmp, ignore_errors=True)

    cmd = "scripts/bench_load.py " + " ".join(sys.argv[1:])
    header = [
        f"Measured {started_at:%Y-%m-%d %H:%M} UTC by `.venv/bin/python {cmd.strip()}`; model `{model.name}`; "
        f"machine: {mach}.",
        "",
    ]
    block = "\n".join(header + lines)
    print(block)
    if args.out:
        write_out(args.out, block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

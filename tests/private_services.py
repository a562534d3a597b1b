"""A private PostgreSQL cluster and a private redis-server for fault tests.

The machine's shared PostgreSQL (5432) and Redis (6379) serve everyone's tests at once:
a test that restarts or stops a server starts its own here (initdb + pg_ctl from Debian's
``/usr/lib/postgresql/<version>/bin``, ``redis-server``) on a free loopback port, in a
temporary folder, and removes it afterwards.

initdb and the server refuse to run as root: as root they run as the ``postgres`` system
user (``runuser -u postgres``), which owns the cluster's folder.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bindir() -> Path | None:
    """Newest Debian PostgreSQL binaries with initdb and pg_ctl, if installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    for pg_ctl in reversed(found):
        bindir = Path(pg_ctl).parent
        if (bindir / "initdb").exists() and (bindir / "postgres").exists():
            return bindir
    return None


def missing(what: str) -> None:
    """No binaries for a private server: fail under POSBOT_REQUIRE_PG=1 (CI), skip otherwise."""
    message = f"{what} is needed for this fault test and is not installed (scripts/services.sh installs it)"
    if os.environ.get("POSBOT_REQUIRE_PG") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _wait_port(port: int, timeout_s: float, up: bool = True) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.1)
    raise TimeoutError(f"port {port} still {'closed' if up else 'open'} after {timeout_s:.0f}s")


class PrivateCluster:
    """One PostgreSQL cluster of this test alone: ``start()``, ``stop()``, ``restart()``, ``url(db)``."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="posbot-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run(
            str(bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )

    def _run(self, *cmd: str) -> subprocess.CompletedProcess:
        r = subprocess.run([*self._as_user, *cmd], capture_output=True, text=True, cwd=self.root)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def start(self) -> None:
        # Unix socket in the cluster's folder: nothing shared with the machine's server in /var/run.
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
        )
        _wait_port(self.port, 30)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``fast`` ends every session at once, as a restart by an operator does."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        _wait_port(self.port, 30, up=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def running(self) -> bool:
        r = subprocess.run(
            [*self._as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
            text=True,
            cwd=self.root,
        )
        return r.returncode == 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import sqlalchemy as sa

        admin = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url(name)

    def destroy(self) -> None:
        if self.data.exists() and self.running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A redis-server of this test alone (no persistence), stopped and started at will."""

    def __init__(self):
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port, 30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)
        self.proc = None
        _wait_port(self.port, 30, up=False)


@pytest.fixture(scope="module")
def private_pg():
    """A running private PostgreSQL cluster for the module; removed afterwards."""
    bindir = pg_bindir()
    if bindir is None:
        missing("PostgreSQL (initdb, pg_ctl)")
    cluster = PrivateCluster(bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="module")
def private_redis():
    """A running private redis-server for the module; stopped afterwards."""
    if shutil.which("redis-server") is None:
        missing("redis-server")
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()

"""Start and stop the two processes (Rasa server, app service) and wait until they are healthy.

Used by `posbot up` (what `make run` calls) and by the end-to-end tests, so the
suite exercises the same start-up path a person uses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import SecretStr

from bot.core.private_files import UMASK, ensure_token, open_private_log, private_dir, tighten, write_private
from bot.core.settings import Settings
from bot.rasa.project import PROJECT_ROOT, math_thread_env, rasa_env, rasa_python, render_endpoints


@dataclass
class Stack:
    model: Path
    settings: Settings
    rasa_port: int = 5005
    log_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def app_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def _env(self, token: str) -> dict[str, str]:
        """Environment of both children: every setting as POSBOT_*, so they see exactly our settings."""
        env = rasa_env()
        for name in Settings.model_fields:
            value = getattr(self.settings, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            elif isinstance(value, (list, dict)):
                value = json.dumps(value)
            env[f"POSBOT_{name.upper()}"] = str(value)
        env.update(
            POSBOT_DATABASE_URL=self.settings.effective_database_url,
            POSBOT_RASA_URL=self.rasa_url,
            POSBOT_RASA_TOKEN=token,
        )
        env.update(math_thread_env(self.settings.math_threads))
        env.update(self.extra_env)
        return env

    def start(self, start_rasa: bool = True, start_app: bool = True) -> None:
        data_dir = self.settings.data_dir
        private_dir(data_dir)  # databases, tokens, endpoints, logs: the owner's only (0700/0600)
        tighten(data_dir)  # files an older version created with the default umask
        log_dir = self.log_dir or data_dir / "logs"
        private_dir(log_dir)
        token = self.settings.rasa_token.get_secret_value() or ensure_token(data_dir / "rasa-token")
        self.settings = self.settings.model_copy(update={"rasa_token": SecretStr(token)})
        env = self._env(token)
        if start_rasa:
            endpoints = data_dir / f"endpoints-{self.rasa_port}.yml"
            write_private(endpoints, render_endpoints(self.settings))
            # bot.rasa.serve reads the token from POSBOT_RASA_TOKEN: never on a command line `ps` shows.
            self._spawn(
                "rasa",
                [
                    str(rasa_python()),
                    "-m",
                    "bot.rasa.serve",
                    "-i",
                    "127.0.0.1",
                    "-p",
                    str(self.rasa_port),
                    "-m",
                    str(self.model),
                    "--endpoints",
                    str(endpoints),
                    "--credentials",
                    str(PROJECT_ROOT / "credentials.yml"),
                    "--response-timeout",
                    "30",
                ],
                env,
                log_dir,
            )
        if start_app:
            self._spawn(
                "app",
                [
                    str(Path(sys.executable)),
                    "-m",
                    "uvicorn",
                    "--factory",
                    "bot.core.app:create_app",
                    "--host",
                    self.settings.host,
                    "--port",
                    str(self.settings.port),
                    "--no-access-log",
                ],
                env,
                log_dir,
            )

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str], log_dir: Path) -> None:
        log = open_private_log(log_dir / f"{name}-{self.settings.port if name == 'app' else self.rasa_port}.log")
        # own process group: Ctrl-C in the terminal is handled by us, and stop() can kill children too;
        # umask 077: what the children create (SQLite's -wal/-shm, Rasa's files) is private as well
        self.procs[name] = subprocess.Popen(
            cmd,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            umask=UMASK,
        )

    def wait_healthy(self, timeout_s: float = 240.0) -> dict:
        """Wait until the app reports Rasa reachable with a model loaded and the database up."""
        deadline = time.monotonic() + timeout_s
        last: dict | str = "no answer yet"
        while time.monotonic() < deadline:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with code {p.returncode}; see its log in {self.settings.data_dir / 'logs'}"
                    )
            try:
                r = httpx.get(f"{self.app_url}/healthz", timeout=3)
                body = r.json()
                if r.status_code == 200:
                    return body
                last = body
            except (httpx.HTTPError, ValueError) as e:
                last = type(e).__name__
            time.sleep(1.0)
        raise TimeoutError(f"stack not healthy after {timeout_s:.0f}s: {last}")

    def stop_process(self, name: str, timeout_s: float = 20.0) -> None:
        p = self.procs.pop(name, None)
        if p is None or p.poll() is not None:
            return
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()

    def stop(self) -> None:
        for name in list(self.procs):
            self.stop_process(name)

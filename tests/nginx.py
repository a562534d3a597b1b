"""Run the deployment's nginx config (deploy/nginx/posbot.conf.template) for real on loopback."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from string import Template

import httpx

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx" / "posbot.conf.template"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def render(listen: str, app_1: str, app_2: str) -> str:
    """The template with its ${POSBOT_*} variables filled, as the nginx image's envsubst does."""
    values = {"POSBOT_NGINX_LISTEN": listen, "POSBOT_APP_1": app_1, "POSBOT_APP_2": app_2}
    # safe_substitute: nginx's own $variables ($host, $remote_addr ...) stay as they are.
    return Template(TEMPLATE.read_text()).safe_substitute(values)


def main_config(tmp: Path, server_conf: Path) -> Path:
    """A minimal nginx.conf around the server config, with every path inside ``tmp``."""
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format upstream '$upstream_addr $status $request_uri';
    access_log {tmp}/access.log upstream;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {server_conf};
}}
"""
    )
    return conf


def write_config(tmp: Path, port: int, app_1: str, app_2: str) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    server = tmp / "posbot.conf"
    server.write_text(render(f"127.0.0.1:{port}", app_1, app_2))
    return main_config(tmp, server)


def check(conf: Path) -> subprocess.CompletedProcess:
    return subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(conf.parent)], capture_output=True, text=True)


class Nginx:
    """nginx in the foreground on loopback, stopped by ``stop``."""

    def __init__(self, tmp: Path, port: int, app_1: str, app_2: str):
        self.port = port
        self.conf = write_config(tmp, port, app_1, app_2)
        self.proc = subprocess.Popen(
            [NGINX, "-c", str(self.conf), "-p", str(tmp), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read().decode(errors='replace')}")
            try:
                httpx.get(self.url + "/nginx-probe", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise TimeoutError("nginx did not start")

    def upstreams_used(self) -> list[str]:
        """The app instance that served each proxied request, in order (from the access log)."""
        log = self.conf.parent / "access.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return [line.split()[0] for line in lines if line.split()[0] != "-"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

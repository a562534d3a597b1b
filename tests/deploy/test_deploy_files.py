"""The deployment files are checked by the linters people would run on them, and nginx's config by nginx.

Dockerfiles: hadolint. Compose: docker-compose's own schema check (`config -q`). Kubernetes:
the API schemas (kubernetes-validate). YAML style: yamllint. nginx: `nginx -t` on the
rendered template. Each check fails the suite when the file it guards is broken.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests import nginx

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent


def run(*cmd: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True)


def test_dockerfiles_pass_hadolint():
    files = sorted(DEPLOY.glob("*.Dockerfile"))
    assert {f.name for f in files} == {"app.Dockerfile", "rasa.Dockerfile"}
    r = run(str(BIN / "hadolint"), *map(str, files))
    assert r.returncode == 0, r.stdout + r.stderr


def test_yaml_passes_yamllint():
    r = run(str(BIN / "yamllint"), "-s", "-c", str(DEPLOY / ".yamllint"), str(DEPLOY))
    assert r.returncode == 0, r.stdout + r.stderr


def test_kubernetes_manifests_match_the_api_schemas():
    files = sorted((DEPLOY / "k8s").glob("*.yaml"))
    kinds = {d["kind"] for f in files for d in yaml.safe_load_all(f.read_text()) if d}
    assert {"Deployment", "Service", "Ingress", "Job", "ConfigMap"} <= kinds
    r = run(str(BIN / "kubernetes-validate"), "--strict", "-k", "1.29", *map(str, files))
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture
def compose_env(tmp_path) -> Path:
    """deploy/.env as a person makes it from deploy/env.example."""
    shutil.copy(DEPLOY / "env.example", tmp_path / ".env")
    return tmp_path


def test_compose_file_is_valid(compose_env):
    compose = shutil.which("docker-compose")
    assert compose, "docker-compose (Debian package) is installed by `make test`"
    r = run(compose, "--project-directory", str(compose_env), "-f", str(DEPLOY / "compose.yaml"), "config", "-q")
    assert r.returncode == 0, r.stdout + r.stderr


def test_compose_runs_the_production_topology():
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = doc["services"]
    assert {"app1", "app2", "rasa1", "rasa2", "postgres", "redis", "nginx", "migrate"} <= set(services)
    # Each Rasa calls back its own app; each app talks to its own Rasa; both share PostgreSQL and Redis.
    assert services["rasa1"]["environment"]["POSBOT_ACTION_URL"] == "http://app1:8000/webhook"
    assert services["app2"]["environment"]["POSBOT_RASA_URL"] == "http://rasa2:5005"
    for name in ("app1", "app2"):
        assert services[name]["environment"]["POSBOT_REDIS_URL"].startswith("redis://redis")


def test_every_variable_of_the_rasa_endpoints_is_provided():
    """deploy/rasa/endpoints.yml expands ${VARS}: compose and the Kubernetes config must set each one."""
    wanted = set(re.findall(r"\$\{(\w+)\}", (DEPLOY / "rasa" / "endpoints.yml").read_text()))
    assert "POSBOT_RASA_TOKEN" in wanted
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    env_file = {line.split("=", 1)[0] for line in (DEPLOY / "env.example").read_text().splitlines() if "=" in line}
    for name in ("rasa1", "rasa2"):
        assert wanted <= set(services[name]["environment"]) | env_file, name
    k8s = {}
    for f in ("config.yaml", "secret.example.yaml"):
        doc = yaml.safe_load((DEPLOY / "k8s" / f).read_text())
        k8s.update(doc.get("data") or doc.get("stringData") or {})
    assert wanted <= set(k8s)


def test_nginx_accepts_the_rendered_config(tmp_path):
    conf = nginx.write_config(tmp_path, 8089, "127.0.0.1:18001", "127.0.0.1:18002")
    r = nginx.check(conf)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "posbot.conf").read_text()
    assert "${POSBOT_" not in text and "$host" in text  # ours filled, nginx's own variables kept


def test_rasa_containers_use_the_stores_a_local_stack_uses():
    """deploy/rasa/endpoints.yml and `posbot rasa endpoints` name the same tracker and lock stores."""
    from bot.rasa.project import lock_store_config, tracker_store_config

    deployed = yaml.safe_load((DEPLOY / "rasa" / "endpoints.yml").read_text())
    local_pg = tracker_store_config("postgresql+psycopg://posbot:x@db/posbot")
    assert deployed["tracker_store"]["type"] == local_pg["type"]
    assert set(deployed["tracker_store"]) == set(local_pg) | {"password"}
    assert deployed["lock_store"]["type"] == lock_store_config("redis://redis:6379/0")["type"]

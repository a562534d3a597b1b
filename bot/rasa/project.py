"""The Rasa side of the project, seen from the app environment: model cache, training, endpoints.

Rasa runs in its own virtualenv (.venv-rasa); this module only shells out to it.
The trained model is cached by a hash of every training input, so `make run` and
`make test` retrain only when config, domain, training data or the custom NLU code change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from sqlalchemy.engine import make_url

from bot.core.settings import PROJECT_ROOT, Settings

RASA_VENV = PROJECT_ROOT / ".venv-rasa"
MODELS_DIR = PROJECT_ROOT / "models"
# Everything that changes what `rasa train` produces.
TRAINING_INPUTS = [
    "config.yml",
    "domain.yml",
    "data/nlu",
    "data/dialogue",
    "data/jieba",
    "bot/nlu",
    "bot/faq/encoders.py",  # custom NLU components and the encoder they run
    "bot/faq/lexicon.py",
    "data/lexicon",  # the encoder's normalisation (brands, fillers, typos)
    "bot/rasa_ext/policies.py",  # custom dialogue policy (the tracker store beside it is runtime only)
    "requirements-rasa.txt",
]
TRAINING_DATA = ["data/nlu", "data/dialogue"]


def rasa_bin() -> Path:
    return RASA_VENV / "bin" / "rasa"


def rasa_python() -> Path:
    return RASA_VENV / "bin" / "python"


# The numeric libraries' thread counts (Settings.math_threads).
MATH_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def math_thread_env(threads: int) -> dict[str, str]:
    return dict.fromkeys(MATH_THREAD_VARS, str(threads))


def rasa_env() -> dict[str, str]:
    env = dict(os.environ)
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env["PYTHONPATH"] = str(PROJECT_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    return env


def _files(root: Path, rel: str) -> list[Path]:
    p = root / rel
    if p.is_dir():
        return sorted(f for f in p.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
    return [p] if p.exists() else []


def model_hash(root: Path = PROJECT_ROOT) -> str:
    h = hashlib.sha256()
    for rel in TRAINING_INPUTS:
        for f in _files(root, rel):
            h.update(str(f.relative_to(root)).encode())
            h.update(b"\0")
            h.update(f.read_bytes())
            h.update(b"\0")
    return h.hexdigest()[:16]


def model_path(root: Path = PROJECT_ROOT) -> Path:
    return MODELS_DIR / f"posbot-{model_hash(root)}.tar.gz"


def train_if_needed(force: bool = False) -> Path:
    """Train the Rasa model unless one for the current inputs is cached; returns its path."""
    target = model_path()
    if target.exists() and not force:
        print(f"Rasa model up to date: {target.relative_to(PROJECT_ROOT)}", file=sys.stderr)
        return target
    MODELS_DIR.mkdir(exist_ok=True)
    print(f"Training Rasa model {target.name} (inputs changed) ...", file=sys.stderr)
    cmd = [
        str(rasa_bin()),
        "train",
        "--config",
        "config.yml",
        "--domain",
        "domain.yml",
        "--data",
        *TRAINING_DATA,
        "--out",
        str(MODELS_DIR),
        "--fixed-model-name",
        target.name.removesuffix(".tar.gz"),
    ]
    subprocess.run(cmd, cwd=PROJECT_ROOT, env=rasa_env(), check=True)
    # Keep the cache small: one model per input hash, drop older ones.
    for old in MODELS_DIR.glob("posbot-*.tar.gz"):
        if old != target:
            old.unlink()
    return target


# Rasa's SQLTrackerStore with a validated tracker cache and append-only saves (same table).
TRACKER_STORE_TYPE = "bot.rasa_ext.tracker_store.CachingSQLTrackerStore"
LOCK_STORE_TYPE = "bot.rasa_ext.lock_store.FallbackRedisLockStore"


def tracker_store_config(database_url: str, sqlite_synchronous: str = "NORMAL") -> dict:
    """Rasa's tracker store settings for the project database (SQLite file or PostgreSQL)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return {
            "type": TRACKER_STORE_TYPE,
            "dialect": "sqlite",
            "db": url.database,
            "sqlite_synchronous": sqlite_synchronous,
        }
    cfg = {
        "type": TRACKER_STORE_TYPE,
        "dialect": "postgresql",  # Rasa 3.6 uses SQLAlchemy 1.4 with psycopg2
        "url": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "db": url.database,
        "username": url.username or "postgres",
    }
    if url.password:
        cfg["password"] = url.password
    return cfg


def lock_store_config(redis_url: str) -> dict:
    if not redis_url:
        return {"type": "in_memory"}
    u = urlsplit(redis_url)
    cfg = {
        "type": LOCK_STORE_TYPE,  # Rasa's Redis locks, with a fallback while Redis is down
        "url": u.hostname or "127.0.0.1",
        "port": u.port or 6379,
        "db": int(u.path.lstrip("/") or 0),
        "key_prefix": "posbot",
    }
    if u.password:
        cfg["password"] = u.password
    return cfg


def render_endpoints(settings: Settings) -> str:
    """endpoints.yml for the Rasa server, generated from the one settings object."""
    action = {"url": f"{settings.effective_public_url}/webhook"}
    if settings.rasa_token.get_secret_value():
        # Rasa expands ${VARS} in endpoints.yml: the token stays in the environment, not in the file.
        action["token"] = "${POSBOT_RASA_TOKEN}"
    doc = {
        "action_endpoint": action,
        "tracker_store": tracker_store_config(settings.effective_database_url, settings.sqlite_synchronous),
        "lock_store": lock_store_config(settings.redis_url),
    }
    return "# Generated by `posbot rasa endpoints` from the app settings; do not edit.\n" + yaml.safe_dump(
        doc, allow_unicode=True, sort_keys=False
    )

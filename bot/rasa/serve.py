"""Start the Rasa server (``rasa run``) with its API token from the environment, never from the command line.

Anyone on the machine can read a process's command line (``ps``); its environment only
its owner can. So the token travels as ``POSBOT_RASA_TOKEN`` (or a 0600 file named by
``POSBOT_RASA_TOKEN_FILE``) and is handed to Rasa's own CLI inside this process.

Runs in Rasa's environment (.venv-rasa, Python 3.10): standard library and rasa only.
Usage: ``python -m bot.rasa.serve [rasa run options]``, e.g. ``-i 127.0.0.1 -p 5005 -m model.tar.gz``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TOKEN_ENV = "POSBOT_RASA_TOKEN"
TOKEN_FILE_ENV = "POSBOT_RASA_TOKEN_FILE"


def read_token(environ: os._Environ[str] | dict[str, str] = os.environ) -> str:
    token = environ.get(TOKEN_ENV, "").strip()
    if not token and environ.get(TOKEN_FILE_ENV):
        token = Path(environ[TOKEN_FILE_ENV]).read_text(encoding="utf-8").strip()
    return token


def rasa_argv(options: list[str], token: str) -> list[str]:
    """``rasa run`` with the HTTP API enabled and protected by ``token``."""
    if any(o == "--auth-token" or o.startswith("--auth-token=") for o in options):
        raise SystemExit(f"pass the token in ${TOKEN_ENV}, not as --auth-token")
    return ["rasa", "run", "--enable-api", "--auth-token", token, *options]


def main(options: list[str] | None = None) -> None:
    token = read_token()
    if not token:
        raise SystemExit(f"{TOKEN_ENV} (or {TOKEN_FILE_ENV}) must hold the Rasa API token")
    sys.argv = rasa_argv(list(sys.argv[1:] if options is None else options), token)
    from bot.core.private_files import harden_process

    harden_process()  # umask 077 (the tracker store's SQLite files) and masked log records
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()

"""Files under the data dir (var/) are the owner's only: 0600 files, 0700 directories.

The data dir holds the SQLite database (transcripts, tickets, Rasa's trackers), the
generated Rasa endpoints and tokens, and the logs; none of it is for other local users.
``harden_process`` sets the process umask to 077 so that whatever the process creates
later (SQLite's -wal/-shm files, Rasa's files, log rotations) is private too, and masks
personal data in its log records (bot.masking). ``ensure_token`` keeps a generated secret
in such a file.

Standard library only: ``bot.rasa.serve`` uses it in Rasa's Python 3.10 environment.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
UMASK = 0o077


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700; an existing directory is set to 0700."""
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    for p in missing + [path]:
        os.chmod(p, DIR_MODE)  # mkdir's mode is filtered by the umask; parents get the default
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty as 0600 if missing; an existing file is set to 0600."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it may hold secrets), whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, FILE_MODE)  # an older file keeps its mode on O_CREAT


def ensure_token(path: Path) -> str:
    """A random secret kept in a private file: generated once, read back afterwards.

    The Rasa API token, the chat session key and the phone vault key live in the data dir
    this way, so restarts keep working without a configured secret.
    """
    if path.exists():
        return path.read_text().strip()
    private_dir(path.parent)
    token = secrets.token_hex(24)
    write_private(path, token)
    return token


def open_private_log(path: Path):
    """A log file opened for appending, 0600."""
    return os.fdopen(os.open(private_file(path), os.O_WRONLY | os.O_APPEND), "ab")


def tighten(root: Path) -> None:
    """Make what an older version left under ``root`` private: directories 0700, files 0600."""
    root = Path(root)
    if not root.is_dir():
        return
    os.chmod(root, DIR_MODE)
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p):
                os.chmod(p, DIR_MODE)
        for f in filenames:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                os.chmod(p, FILE_MODE)


def harden_process() -> None:
    """umask 077 and masked log records for this process (idempotent)."""
    from bot.masking import install_log_masking

    os.umask(UMASK)
    install_log_masking()

"""What the stack keeps under var/ (databases, tokens, generated endpoints, logs) only its owner can read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text


@pytest.fixture(autouse=True)
def keep_umask():
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_sqlite_database_and_its_wal_are_private(tmp_path):
    from bot.core.db import make_engine

    os.umask(0o022)  # what a shell usually has: files 0644, folders 0755
    db = tmp_path / "var" / "posbot.db"
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x TEXT)"))
            conn.execute(text("INSERT INTO t VALUES ('13812345678')"))
        assert mode(db.parent) == 0o700
        assert mode(db) == 0o600
        wal = Path(f"{db}-wal")
        assert wal.exists() and mode(wal) == 0o600  # SQLite gives -wal/-shm the database's mode
    finally:
        engine.dispose()


def test_the_stack_makes_var_private_and_its_generated_files_too(tmp_path):
    from bot.core.private_files import ensure_token
    from bot.core.settings import Settings
    from bot.rasa.stack import Stack

    os.umask(0o022)
    data = tmp_path / "var"
    data.mkdir(mode=0o755)
    old = data / "posbot.db"
    old.write_text("")  # left by an older version with the default umask
    os.chmod(old, 0o644)
    settings = Settings(_env_file=None, data_dir=data)
    stack = Stack(model=tmp_path / "model.tar.gz", settings=settings, log_dir=data / "logs")
    stack.start(start_rasa=False, start_app=False)
    assert mode(data) == 0o700 and mode(data / "logs") == 0o700
    assert mode(old) == 0o600
    token = ensure_token(data / "keys" / "rasa-token")
    assert token and mode(data / "keys") == 0o700 and mode(data / "keys" / "rasa-token") == 0o600


def test_harden_process_sets_a_private_umask():
    from bot.core.private_files import harden_process

    previous = os.umask(0o022)
    try:
        harden_process()
        assert os.umask(0o022) == 0o077
    finally:
        os.umask(previous)

"""Database engine, sessions and migrations (SQLAlchemy 2 + Alembic).

One engine per process, created from settings. SQLite is the embedded default;
it is shared with Rasa's tracker store, so it runs in WAL mode with a busy
timeout to let both processes write. Every table stores times through
``UTCDateTime`` (timezone-aware UTC on both backends); ``utcnow`` is the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, DateTime, Engine, MetaData, Result, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from bot.core.private_files import private_dir, private_file

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"

# Stable constraint names so Alembic migrations work on SQLite and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no timezone type and hands back naive values; storing UTC and
    re-attaching the zone on load makes both backends behave alike.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


DEFAULT_POOL_SIZE = 10
DEFAULT_MAX_OVERFLOW = 20


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (``Session.execute`` is typed as ``Result``; DML gives a ``CursorResult``)."""
    return cast(CursorResult[Any], result).rowcount or 0


def make_engine(
    url: str,
    sqlite_synchronous: str = "NORMAL",
    *,
    pool_size: int = DEFAULT_POOL_SIZE,
    max_overflow: int = DEFAULT_MAX_OVERFLOW,
    **kwargs,
) -> Engine:
    """An engine for ``url``; the pool sizes apply to server databases (SQLite needs no pool)."""
    if sqlite_synchronous not in ("NORMAL", "FULL"):
        raise ValueError(f"sqlite_synchronous must be NORMAL or FULL, got {sqlite_synchronous!r}")
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:" and not path.startswith("file:"):
            # Transcripts, tickets and trackers: a new database and its folder are the owner's only.
            folder = Path(path).parent
            if not folder.exists():
                private_dir(folder)
            if not Path(path).exists():
                private_file(Path(path))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={sqlite_synchronous}")  # see Settings.sqlite_synchronous
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if "poolclass" not in kwargs:
        kwargs.update(pool_size=pool_size, max_overflow=max_overflow)
    return create_engine(url, pool_pre_ping=True, **kwargs)


class Database:
    """Holds the engine and the session factory of one process."""

    def __init__(
        self,
        url: str,
        sqlite_synchronous: str = "NORMAL",
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        max_overflow: int = DEFAULT_MAX_OVERFLOW,
    ):
        self.url = url
        self.engine = make_engine(url, sqlite_synchronous, pool_size=pool_size, max_overflow=max_overflow)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self.sessionmaker() as s:
            with s.begin():
                yield s

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str):
    from alembic.config import Config  # local import: alembic is only needed to migrate

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent)."""
    from alembic import command  # local import: alembic is only needed to migrate

    if url.startswith("sqlite"):
        make_engine(url).dispose()  # creates the parent folder
    command.upgrade(alembic_config(url), revision)

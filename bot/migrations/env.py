"""Alembic environment: migrations run against the URL set by bot.core.db.alembic_config."""

from alembic import context
from sqlalchemy import pool

import bot.core.models  # noqa: F401  (registers every table on Base.metadata)
from bot.core.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _include_object(obj, name, type_, reflected, compare_to):
    # Rasa's tracker store shares the database; its tables are not ours to manage.
    return not (type_ == "table" and reflected and compare_to is None)


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_object=_include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()

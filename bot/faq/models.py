"""ORM tables of the live knowledge base (the database is the FAQ's source; ``data/faq/`` the seed).

The matching DDL is migration ``0009_faq_live``; tests/faq/test_store.py checks the two agree.

* ``faq_entries``: one row per entry, retired ones kept (``retired_at``); ``source`` and
  ``position`` say in which YAML file and where an export writes it.
* ``faq_negatives``: the known out-of-scope questions (``negatives:`` lists), per file.
* ``faq_sources``: the YAML files of the last import (name, order, leading comment), so an
  export writes the same files.
* ``faq_versions``: every change of an entry: who, when, what it was before and after.
* ``faq_revision``: one row whose ``revision`` grows with every change; each app instance
  polls it and rebuilds its index when it moved (``bot.faq.store.DbSource``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime

ENTRY_ID_MAX = 100
SOURCE_MAX = 100


class FaqEntryRow(Base):
    __tablename__ = "faq_entries"

    id: Mapped[str] = mapped_column(String(ENTRY_ID_MAX), primary_key=True)
    source: Mapped[str] = mapped_column(String(SOURCE_MAX))
    position: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(20))
    subcategory: Mapped[str | None] = mapped_column(String(40))
    question: Mapped[str] = mapped_column(Text)
    paraphrases: Mapped[list[str]] = mapped_column(JSON)
    answer: Mapped[str] = mapped_column(Text)
    escalate: Mapped[str | None] = mapped_column(String(20))
    provider_specific: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(100))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    comment: Mapped[str | None] = mapped_column(Text)  # '#' lines above the entry in its YAML file


class FaqNegativeRow(Base):
    __tablename__ = "faq_negatives"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(SOURCE_MAX))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)


class FaqSourceRow(Base):
    __tablename__ = "faq_sources"

    name: Mapped[str] = mapped_column(String(SOURCE_MAX), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    header: Mapped[str] = mapped_column(Text, default="")  # the file's leading '#' comment lines


class FaqVersionRow(Base):
    __tablename__ = "faq_versions"
    __table_args__ = (UniqueConstraint("entry_id", "version", name="uq_faq_versions_entry_id_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(ENTRY_ID_MAX), index=True)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(String(200))


class FaqRevisionRow(Base):
    __tablename__ = "faq_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    seed_hash: Mapped[str | None] = mapped_column(String(64))  # content hash of the YAML last imported

"""The unanswered queue staff work through: questions the bot did not answer, grouped.

``groups()`` lists the unresolved unanswered questions of the last ``unanswered_days`` days
(at most ``unanswered_max_questions`` of the latest), grouped by ``bot.analytics.clusters``
with the FAQ engine's encoder, most asked first. Staff then resolve a group: its question was
added as a wording of an entry (``resolve``: the knowledge-base editor added it first), became
a new entry (``resolution="new_entry"``), or is out of scope (``ignore``). Every question of
the group is marked with who did it and leaves the queue; similar questions asked later form a
new group.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.analytics.clusters import Group, group_questions
from bot.analytics.turns import FaqTurnLog, unanswered_questions
from bot.core.db import Database, utcnow
from bot.faq.store import KbStore, StoreError

log = logging.getLogger(__name__)


class GroupGone(LookupError):
    """No group with this key any more (resolved meanwhile, or its questions regrouped)."""

    message = (
        "这组问题已经处理过或已有变化，请刷新列表后再试 / group not found: it was resolved or changed, reload the list"
    )


class UnknownEntry(ValueError):
    def __init__(self, entry_id: str):
        super().__init__(entry_id)
        self.message = f"知识库里没有条目 {entry_id}，请重新选择 / no FAQ entry {entry_id}"


@dataclass(frozen=True)
class Resolved:
    key: str
    resolution: str
    entry_id: str | None
    questions: int


class UnansweredQueue:
    def __init__(self, db: Database, engine, settings=None, *, clock: Callable[[], datetime] = utcnow):
        self.db = db
        self.engine = engine
        self.clock = clock
        self.settings = settings
        self.similarity = getattr(settings, "unanswered_similarity", 0.6)
        self.days = getattr(settings, "unanswered_days", 90)
        self.max_questions = getattr(settings, "unanswered_max_questions", 2000)
        self.turns = FaqTurnLog(db, clock=clock)

    def groups(self) -> list[Group]:
        since = self.clock() - timedelta(days=self.days)
        with self.db.session() as s:
            questions = unanswered_questions(s, since=since, limit=self.max_questions)
        return group_questions(questions, self.engine, self.similarity)

    def find(self, key: str) -> Group | None:
        return next((g for g in self.groups() if g.key == key), None)

    def resolve(self, key: str, *, by: str, entry_id: str, question: str, resolution: str = "wording") -> Resolved:
        """The group's question is now answered by ``entry_id`` (as a wording, or as a new entry)."""
        if not self._entry_exists(entry_id):
            raise UnknownEntry(entry_id)
        group = self.find(key)
        if group is None:
            raise GroupGone(key)
        n = self.turns.resolve(group.ids, by=by, resolution=resolution, entry_id=entry_id)
        log.info(
            "unanswered group %s (%d questions) -> %s %s by %s: %r", key, n, resolution, entry_id, by, question[:80]
        )
        return Resolved(key, resolution, entry_id, n)

    def _entry_exists(self, entry_id: str) -> bool:
        """Served by the engine, or (knowledge base in the database) just saved and not served yet:
        an entry created from the queue is resolved at once, the engine reloads seconds later."""
        if self.engine.get(entry_id) is not None:
            return True
        if getattr(self.settings, "faq_source", None) != "db":
            return False
        try:
            return not KbStore(self.db, self.settings.faq_dir).get(entry_id).retired
        except StoreError:
            return False

    def ignore(self, key: str, *, by: str) -> Resolved:
        """Out of scope: the questions leave the queue, the knowledge base stays as it is."""
        group = self.find(key)
        if group is None:
            raise GroupGone(key)
        n = self.turns.resolve(group.ids, by=by, resolution="ignored")
        return Resolved(key, "ignored", None, n)
